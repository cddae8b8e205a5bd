"""The only module that builds SQL for projects."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, cast, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from samsyn.api.compat.pagination import like_pattern
from samsyn.db.models import Project, ProjectLayer

PROJECT_COLUMNS = (Project.id, Project.pid, Project.name, Project.description, Project.project_type)
SEARCH_COLUMNS = (Project.name, Project.description, Project.project_type)
ORDER_COLUMNS = {"name": Project.name, "project_type": Project.project_type}


def project_page(db: Session, terms: list[str], ordering: tuple[str, ...], limit: int,
                 offset: int) -> tuple[int, list[Any]]:
    where = and_(*(or_(*(func.upper(cast(c, Text)).like(func.upper(like_pattern(t)), escape="\\")
                         for c in SEARCH_COLUMNS)) for t in terms)) if terms else None
    order = [ORDER_COLUMNS[t.lstrip("-")].desc() if t.startswith("-") else ORDER_COLUMNS[t].asc()
             for t in ordering]
    stmt = select(func.count().over(), *PROJECT_COLUMNS)
    if where is not None:
        stmt = stmt.where(where)
    rows = db.execute(stmt.order_by(*order, Project.id).limit(limit).offset(offset)).all()
    if rows:
        return rows[0][0], [r[1:] for r in rows]
    count_stmt = select(func.count()).select_from(Project)
    if where is not None:
        count_stmt = count_stmt.where(where)
    return db.execute(count_stmt).scalar_one(), []


def project_row(db: Session, project_id: int) -> Any:
    return db.execute(select(*PROJECT_COLUMNS).where(Project.id == project_id)).first()


def project_for_update(db: Session, project_id: int) -> Any:
    return db.execute(select(*PROJECT_COLUMNS).where(Project.id == project_id)
                      .with_for_update()).first()


def project_exists(db: Session, project_id: int) -> bool:
    return db.execute(select(Project.id).where(Project.id == project_id)).first() is not None


def pid_taken(db: Session, pid: str, exclude_id: int | None = None) -> bool:
    stmt = select(Project.id).where(Project.pid == pid)
    if exclude_id is not None:
        stmt = stmt.where(Project.id != exclude_id)
    return db.execute(stmt.limit(1)).first() is not None


def insert_project(db: Session, values: dict[str, Any]) -> int:
    return db.execute(insert(Project).values(**values).returning(Project.id)).scalar_one()


def update_project(db: Session, project_id: int, values: dict[str, Any]) -> None:
    if values:
        db.execute(update(Project).where(Project.id == project_id).values(**values))


def delete_project(db: Session, project_id: int) -> bool:
    """Delete a project and its layer links; the layers stay."""
    db.execute(delete(ProjectLayer).where(ProjectLayer.project_id == project_id))
    return db.execute(delete(Project).where(Project.id == project_id)).rowcount > 0
