"""The only module that builds SQL for layers."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Text, any_, bindparam, cast, delete, select
from sqlalchemy.orm import Session

from samsyn.db import writes
from samsyn.db.models import Layer, ProjectLayer, Source
from samsyn.db.reads import ListQueries, Query, Reader
from samsyn.domain.sources.queries import SOURCE_COLUMNS

LAYER_COLUMNS = (Layer.id, Layer.lid, Layer.name,
                 cast(Layer.attributes, Text).label("layer_attributes"),
                 cast(Layer.style, Text).label("layer_style"), *SOURCE_COLUMNS)

LAYER_LIST = ListQueries(
    columns=LAYER_COLUMNS,
    joins=((Layer, None), (Source, Source.id == Layer.source_id)),
    search=(Layer.name, Source.name),
    order={"name": Layer.name, "source__name": Source.name},
    tiebreak=Layer.id,
)
_LAYER_BY_ID = Query(select(*LAYER_COLUMNS).join(Source, Source.id == Layer.source_id)
                     .where(Layer.id == bindparam("id")))
_LAYER_EXISTS = Query(select(Layer.id).where(Layer.id == bindparam("id")))
# Every link of a page of projects in one statement (the legacy ran one query per project
# and one per layer). Newest link first: the order the legacy's unordered M2M query showed.
_LAYERS_OF_PROJECTS = Query(
    select(ProjectLayer.project_id, *LAYER_COLUMNS)
    .join(Layer, Layer.id == ProjectLayer.layer_id)
    .join(Source, Source.id == Layer.source_id)
    .where(ProjectLayer.project_id == any_(bindparam("ids")))
    .order_by(ProjectLayer.project_id, ProjectLayer.id.desc()))


def layer_page(conn: Reader, terms: list[str], ordering: tuple[str, ...], limit: int,
               offset: int) -> tuple[int, list[Any]]:
    return LAYER_LIST.page(conn, terms, ordering, limit, offset)


def layer_row(conn: Reader, layer_id: int) -> Any:
    return _LAYER_BY_ID.first(conn, id=layer_id)


def layer_exists(conn: Reader, layer_id: int) -> bool:
    return _LAYER_EXISTS.first(conn, id=layer_id) is not None


def layers_of_projects(conn: Reader, project_ids: list[int]) -> list[Any]:
    """(project id, *LAYER_COLUMNS) for every link of these projects."""
    if not project_ids:
        return []
    return _LAYERS_OF_PROJECTS.all(conn, ids=project_ids)


# ----------------------------------------------------------------- writes (ORM session)

def layer_for_update(db: Session, layer_id: int) -> Layer | None:
    return writes.locked(db, Layer, layer_id)


def lid_taken(db: Session, lid: str, exclude_id: int | None = None) -> bool:
    return writes.value_taken(db, Layer.lid, lid, exclude_id)


def insert_layer(db: Session, values: dict[str, Any]) -> int:
    return writes.insert_row(db, Layer, values)


def update_layer(db: Session, layer_id: int, values: dict[str, Any]) -> None:
    writes.update_row(db, Layer, layer_id, values)


def delete_layer(db: Session, layer_id: int) -> bool:
    """Delete a layer and its project links (the Django ORM cascade)."""
    db.execute(delete(ProjectLayer).where(ProjectLayer.layer_id == layer_id))
    return db.execute(delete(Layer).where(Layer.id == layer_id)).rowcount > 0
