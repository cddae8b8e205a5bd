"""Source use-cases: plain functions over a Session; they raise samsyn.errors, never HTTP."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from samsyn.compat.validation import Unique, validate
from samsyn.db.reads import Reader
from samsyn.domain.common import list_page, write_or_conflict
from samsyn.domain.sources import queries
from samsyn.domain.sources.schemas import SOURCE_FIELDS, SourceOut, source_echo, source_out
from samsyn.errors import NotFound

SID_TAKEN = {"sid": ["source with this sid already exists."]}
DEFAULT_ORDER = ("name",)
ORDERING_FIELDS = ("name", "source_type")


def list_sources(conn: Reader, query: dict[str, str]) -> tuple[int, int, int, list[SourceOut]]:
    """(count, page number, page size, sources) for the list view's query parameters."""
    count, number, size, rows = list_page(
        query, lambda *page: queries.source_page(conn, *page),
        ordering_fields=ORDERING_FIELDS, default_order=DEFAULT_ORDER)
    return count, number, size, [source_out(r) for r in rows]


def get_source(conn: Reader, source_id: int) -> SourceOut:
    row = queries.source_row(conn, source_id)
    if row is None:
        raise NotFound
    return source_out(row)


def create_source(db: Session, data: Any) -> dict[str, Any]:
    values = validate(SOURCE_FIELDS, data,
                      unique=Unique(lambda path, name, value: queries.sid_taken(db, value)))
    values.setdefault("attributes", {})
    source_id = write_or_conflict(db, lambda: queries.insert_source(db, values),
                                  lambda exc: SID_TAKEN)
    return source_echo(source_id, values)


def update_source(db: Session, source_id: int, read_data: Callable[[], Any], *,
                  partial: bool) -> dict[str, Any]:
    """PUT/PATCH; the body is read only after the object was found (DRF: 404 before 400)."""
    source = queries.source_for_update(db, source_id)
    if source is None:
        raise NotFound
    values = validate(SOURCE_FIELDS, read_data(), partial=partial,
                      unique=Unique(lambda path, name, value:
                                    queries.sid_taken(db, value, source_id)))
    write_or_conflict(db, lambda: queries.update_source(db, source_id, values),
                      lambda exc: SID_TAKEN)
    current = {"sid": source.sid, "name": source.name, "description": source.description,
               "source_type": source.source_type, "attributes": source.attributes}
    current.update(values)
    return source_echo(source_id, current)


def delete_source(db: Session, source_id: int) -> None:
    if not queries.delete_source(db, source_id):
        raise NotFound


def source_exists(conn: Reader, source_id: int) -> bool:
    return queries.source_exists(conn, source_id)
