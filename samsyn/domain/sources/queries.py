"""The only module that builds SQL for sources."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, select
from sqlalchemy.orm import Session

from samsyn.db import writes
from samsyn.db.models import Geometry, Layer, ProjectLayer, Source
from samsyn.db.reads import ListQueries, Query, Reader

SOURCE_COLUMNS = (Source.id, Source.sid, Source.name, Source.description, Source.source_type,
                  cast(Source.attributes, Text).label("source_attributes"))

SOURCE_LIST = ListQueries(
    columns=SOURCE_COLUMNS,
    joins=((Source, None),),
    search=(Source.name, Source.description, Source.source_type),
    order={"name": Source.name, "source_type": Source.source_type},
    tiebreak=Source.id,
)
_SOURCE_BY_ID = Query(select(*SOURCE_COLUMNS).where(Source.id == bindparam("id")))
_SOURCE_EXISTS = Query(select(Source.id).where(Source.id == bindparam("id")))


def source_page(conn: Reader, terms: list[str], ordering: tuple[str, ...], limit: int,
                offset: int) -> tuple[int, list[Any]]:
    return SOURCE_LIST.page(conn, terms, ordering, limit, offset)


def source_row(conn: Reader, source_id: int) -> Any:
    return _SOURCE_BY_ID.first(conn, id=source_id)


def source_exists(conn: Reader, source_id: int) -> bool:
    return _SOURCE_EXISTS.first(conn, id=source_id) is not None


# ----------------------------------------------------------------- writes (ORM session)

def source_for_update(db: Session, source_id: int) -> Source | None:
    return writes.locked(db, Source, source_id)


def sid_taken(db: Session, sid: str, exclude_id: int | None = None) -> bool:
    return writes.value_taken(db, Source.sid, sid, exclude_id)


def insert_source(db: Session, values: dict[str, Any]) -> int:
    return writes.insert_row(db, Source, values)


def update_source(db: Session, source_id: int, values: dict[str, Any]) -> None:
    writes.update_row(db, Source, source_id, values)


def delete_source(db: Session, source_id: int) -> bool:
    """Delete a source with what the Django ORM cascaded: geometries, layers, project links."""
    layer_ids = select(Layer.id).where(Layer.source_id == source_id).scalar_subquery()
    db.execute(delete(ProjectLayer).where(ProjectLayer.layer_id.in_(layer_ids)))
    db.execute(delete(Layer).where(Layer.source_id == source_id))
    db.execute(delete(Geometry).where(Geometry.source_id == source_id))
    return db.execute(delete(Source).where(Source.id == source_id)).rowcount > 0
