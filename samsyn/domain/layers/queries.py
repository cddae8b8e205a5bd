"""The only module that builds SQL for layers."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, cast, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from samsyn.api.compat.pagination import like_pattern
from samsyn.db.models import Layer, ProjectLayer, Source
from samsyn.domain.sources.queries import SOURCE_COLUMNS

LAYER_COLUMNS = (Layer.id, Layer.lid, Layer.name, cast(Layer.attributes, Text).label("layer_attributes"),
                 cast(Layer.style, Text).label("layer_style"), *SOURCE_COLUMNS)
SEARCH_COLUMNS = (Layer.name, Source.name)
ORDER_COLUMNS = {"name": Layer.name, "source__name": Source.name}


def _joined() -> Any:
    return select(*LAYER_COLUMNS).join(Source, Source.id == Layer.source_id)


def layer_page(db: Session, terms: list[str], ordering: tuple[str, ...], limit: int,
               offset: int) -> tuple[int, list[Any]]:
    where = and_(*(or_(*(func.upper(cast(c, Text)).like(func.upper(like_pattern(t)), escape="\\")
                         for c in SEARCH_COLUMNS)) for t in terms)) if terms else None
    order = [ORDER_COLUMNS[t.lstrip("-")].desc() if t.startswith("-") else ORDER_COLUMNS[t].asc()
             for t in ordering]
    stmt = select(func.count().over(), *LAYER_COLUMNS).join(Source, Source.id == Layer.source_id)
    if where is not None:
        stmt = stmt.where(where)
    rows = db.execute(stmt.order_by(*order, Layer.id).limit(limit).offset(offset)).all()
    if rows:
        return rows[0][0], [r[1:] for r in rows]
    count_stmt = select(func.count()).select_from(Layer).join(Source, Source.id == Layer.source_id)
    if where is not None:
        count_stmt = count_stmt.where(where)
    return db.execute(count_stmt).scalar_one(), []


def layer_row(db: Session, layer_id: int) -> Any:
    return db.execute(_joined().where(Layer.id == layer_id)).first()


def layers_of_projects(db: Session, project_ids: list[int]) -> list[Any]:
    """(project id, *LAYER_COLUMNS) for every link of these projects: one query for a page."""
    if not project_ids:
        return []
    stmt = (select(ProjectLayer.project_id, *LAYER_COLUMNS)
            .join(Layer, Layer.id == ProjectLayer.layer_id)
            .join(Source, Source.id == Layer.source_id)
            .where(ProjectLayer.project_id.in_(project_ids))
            .order_by(ProjectLayer.project_id, ProjectLayer.id.desc()))
    return list(db.execute(stmt).all())


def layer_for_update(db: Session, layer_id: int) -> Layer | None:
    return db.execute(select(Layer).where(Layer.id == layer_id).with_for_update()).scalar_one_or_none()


def layer_exists(db: Session, layer_id: int) -> bool:
    return db.execute(select(Layer.id).where(Layer.id == layer_id)).first() is not None


def lid_taken(db: Session, lid: str, exclude_id: int | None = None) -> bool:
    stmt = select(Layer.id).where(Layer.lid == lid)
    if exclude_id is not None:
        stmt = stmt.where(Layer.id != exclude_id)
    return db.execute(stmt.limit(1)).first() is not None


def insert_layer(db: Session, values: dict[str, Any]) -> int:
    return db.execute(insert(Layer).values(**values).returning(Layer.id)).scalar_one()


def update_layer(db: Session, layer_id: int, values: dict[str, Any]) -> None:
    if values:
        db.execute(update(Layer).where(Layer.id == layer_id).values(**values))


def delete_layer(db: Session, layer_id: int) -> bool:
    """Delete a layer and its project links (the Django ORM cascade)."""
    db.execute(delete(ProjectLayer).where(ProjectLayer.layer_id == layer_id))
    return db.execute(delete(Layer).where(Layer.id == layer_id)).rowcount > 0
