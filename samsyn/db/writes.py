"""Row writes shared by the models the legacy edited through DRF's generic views (sources,
layers, projects): lock for update, the uniqueness check of DRF's UniqueValidator, insert,
partial update. Plain SQLAlchemy Core on the ORM Session's transaction."""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

M = TypeVar("M")


def locked(db: Session, model: type[M], row_id: int) -> M | None:
    """The row as an ORM object, locked until the transaction ends (None: no such row)."""
    pk = model.id  # type: ignore[attr-defined]
    return db.execute(select(model).where(pk == row_id).with_for_update()).scalar_one_or_none()


def value_taken(db: Session, column: InstrumentedAttribute[Any], value: Any,
                exclude_id: int | None = None) -> bool:
    """Whether another row already holds `value` in a unique column (DRF's UniqueValidator,
    case-sensitive, excluding the instance being updated)."""
    pk = column.class_.id
    stmt = select(pk).where(column == value)
    if exclude_id is not None:
        stmt = stmt.where(pk != exclude_id)
    return db.execute(stmt.limit(1)).first() is not None


def insert_row(db: Session, model: type[Any], values: dict[str, Any]) -> int:
    """INSERT ... RETURNING id."""
    return db.execute(insert(model).values(**values).returning(model.id)).scalar_one()


def update_row(db: Session, model: type[Any], row_id: int, values: dict[str, Any]) -> None:
    """UPDATE the given columns (nothing for an empty PATCH)."""
    if values:
        db.execute(update(model).where(model.id == row_id).values(**values))
