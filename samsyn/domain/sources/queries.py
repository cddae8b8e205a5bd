"""The only module that builds SQL for sources."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, cast, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from samsyn.api.compat.pagination import like_pattern
from samsyn.db.models import Geometry, Layer, ProjectLayer, Source

SOURCE_COLUMNS = (Source.id, Source.sid, Source.name, Source.description, Source.source_type,
                  cast(Source.attributes, Text).label("source_attributes"))
SEARCH_COLUMNS = (Source.name, Source.description, Source.source_type)
ORDER_COLUMNS = {"name": Source.name, "source_type": Source.source_type}


def _search(terms: list[str]) -> Any:
    return and_(*(or_(*(func.upper(cast(c, Text)).like(func.upper(like_pattern(t)), escape="\\")
                        for c in SEARCH_COLUMNS)) for t in terms))


def _order(ordering: tuple[str, ...]) -> list[Any]:
    clauses = [ORDER_COLUMNS[t.lstrip("-")].desc() if t.startswith("-") else ORDER_COLUMNS[t].asc()
               for t in ordering]
    return [*clauses, Source.id.asc()]


def source_page(db: Session, terms: list[str], ordering: tuple[str, ...], limit: int,
                offset: int) -> tuple[int, list[Any]]:
    """(total count, rows of the page) in one round trip while the page is not empty."""
    where = _search(terms) if terms else None
    stmt = select(func.count().over(), *SOURCE_COLUMNS)
    if where is not None:
        stmt = stmt.where(where)
    rows = db.execute(stmt.order_by(*_order(ordering)).limit(limit).offset(offset)).all()
    if rows:
        return rows[0][0], [r[1:] for r in rows]
    count_stmt = select(func.count()).select_from(Source)
    if where is not None:
        count_stmt = count_stmt.where(where)
    return db.execute(count_stmt).scalar_one(), []


def source_row(db: Session, source_id: int) -> Any:
    return db.execute(select(*SOURCE_COLUMNS).where(Source.id == source_id)).first()


def source_for_update(db: Session, source_id: int) -> Source | None:
    return db.execute(select(Source).where(Source.id == source_id).with_for_update()).scalar_one_or_none()


def source_exists(db: Session, source_id: int) -> bool:
    return db.execute(select(Source.id).where(Source.id == source_id)).first() is not None


def sid_taken(db: Session, sid: str, exclude_id: int | None = None) -> bool:
    stmt = select(Source.id).where(Source.sid == sid)
    if exclude_id is not None:
        stmt = stmt.where(Source.id != exclude_id)
    return db.execute(stmt.limit(1)).first() is not None


def insert_source(db: Session, values: dict[str, Any]) -> int:
    return db.execute(insert(Source).values(**values).returning(Source.id)).scalar_one()


def update_source(db: Session, source_id: int, values: dict[str, Any]) -> None:
    if values:
        db.execute(update(Source).where(Source.id == source_id).values(**values))


def delete_source(db: Session, source_id: int) -> bool:
    """Delete a source with what the Django ORM cascaded: geometries, layers, project links."""
    layer_ids = select(Layer.id).where(Layer.source_id == source_id).scalar_subquery()
    db.execute(delete(ProjectLayer).where(ProjectLayer.layer_id.in_(layer_ids)))
    db.execute(delete(Layer).where(Layer.source_id == source_id))
    db.execute(delete(Geometry).where(Geometry.source_id == source_id))
    return db.execute(delete(Source).where(Source.id == source_id)).rowcount > 0
