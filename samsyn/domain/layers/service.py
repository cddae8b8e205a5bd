"""Layer use-cases. A nested source is written with its layer in one transaction (decision 2
of docs/architecture.md: the legacy validated it and then crashed)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from samsyn.compat.validation import Unique, validate
from samsyn.db.reads import Reader
from samsyn.domain.common import list_page, write_or_conflict
from samsyn.domain.layers import queries
from samsyn.domain.layers.schemas import LAYER_FIELDS, LayerOut, layer_echo, layer_out
from samsyn.domain.sources import queries as source_queries
from samsyn.domain.sources.schemas import source_echo
from samsyn.errors import NotFound

DEFAULT_ORDER = ("name",)
ORDERING_FIELDS = ("name", "source__name")
LID_TAKEN = {"lid": ["layer with this lid already exists."]}
SID_TAKEN = {"source": {"sid": ["source with this sid already exists."]}}


def list_layers(conn: Reader, query: dict[str, str]) -> tuple[int, int, int, list[LayerOut]]:
    count, number, size, rows = list_page(
        query, lambda *page: queries.layer_page(conn, *page),
        ordering_fields=ORDERING_FIELDS, default_order=DEFAULT_ORDER)
    return count, number, size, [layer_out(r) for r in rows]


def get_layer(conn: Reader, layer_id: int) -> LayerOut:
    row = queries.layer_row(conn, layer_id)
    if row is None:
        raise NotFound
    return layer_out(row)


def _taken(db: Session, exclude_layer: int | None) -> Unique:
    def taken(path: str, name: str, value: str) -> bool:
        if name == "sid":  # the nested serializer has no instance: every sid counts
            return source_queries.sid_taken(db, value)
        return queries.lid_taken(db, value, exclude_layer)
    return Unique(taken)


def _taken_errors(exc: IntegrityError) -> dict[str, Any]:
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
    return SID_TAKEN if "sid" in constraint else LID_TAKEN


def create_layer(db: Session, data: Any) -> dict[str, Any]:
    values = validate(LAYER_FIELDS, data, unique=_taken(db, None))
    source_values = dict(values.pop("source"))
    source_values.setdefault("attributes", {})
    values.setdefault("attributes", {})
    values.setdefault("style", {})

    def write() -> tuple[int, int]:
        source_id = source_queries.insert_source(db, source_values)
        return source_id, queries.insert_layer(db, {**values, "source_id": source_id})

    source_id, layer_id = write_or_conflict(db, write, _taken_errors)
    return layer_echo(layer_id, values, source_echo(source_id, source_values))


def update_layer(db: Session, layer_id: int, read_data: Callable[[], Any], *,
                 partial: bool) -> dict[str, Any]:
    layer = queries.layer_for_update(db, layer_id)
    if layer is None:
        raise NotFound
    values = validate(LAYER_FIELDS, read_data(), partial=partial, unique=_taken(db, layer_id))
    source_values = values.pop("source", None)
    source = layer.source
    current_source = {"sid": source.sid, "name": source.name, "description": source.description,
                      "source_type": source.source_type, "attributes": source.attributes}

    def write() -> None:
        if source_values:
            source_queries.update_source(db, source.id, source_values)
        queries.update_layer(db, layer_id, values)

    write_or_conflict(db, write, _taken_errors)
    current_source.update(source_values or {})
    current = {"lid": layer.lid, "name": layer.name, "attributes": layer.attributes,
               "style": layer.style}
    current.update(values)
    return layer_echo(layer_id, current, source_echo(source.id, current_source))


def delete_layer(db: Session, layer_id: int) -> None:
    if not queries.delete_layer(db, layer_id):
        raise NotFound


def layer_exists(conn: Reader, layer_id: int) -> bool:
    return queries.layer_exists(conn, layer_id)
