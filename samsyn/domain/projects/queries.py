"""The only module that builds SQL for projects."""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from samsyn.db import writes
from samsyn.db.models import Project, ProjectLayer
from samsyn.db.reads import ListQueries, Query, Reader

PROJECT_COLUMNS = (Project.id, Project.pid, Project.name, Project.description, Project.project_type)

PROJECT_LIST = ListQueries(
    columns=PROJECT_COLUMNS,
    joins=((Project, None),),
    search=(Project.name, Project.description, Project.project_type),
    order={"name": Project.name, "project_type": Project.project_type},
    tiebreak=Project.id,
)
_PROJECT_BY_ID = Query(select(*PROJECT_COLUMNS).where(Project.id == bindparam("id")))
_PROJECT_EXISTS = Query(select(Project.id).where(Project.id == bindparam("id")))


def project_page(conn: Reader, terms: list[str], ordering: tuple[str, ...], limit: int,
                 offset: int) -> tuple[int, list[Any]]:
    return PROJECT_LIST.page(conn, terms, ordering, limit, offset)


def project_row(conn: Reader, project_id: int) -> Any:
    return _PROJECT_BY_ID.first(conn, id=project_id)


def project_exists(conn: Reader, project_id: int) -> bool:
    return _PROJECT_EXISTS.first(conn, id=project_id) is not None


# ----------------------------------------------------------------- writes (ORM session)

def project_for_update(db: Session, project_id: int) -> Any:
    return db.execute(select(*PROJECT_COLUMNS).where(Project.id == project_id)
                      .with_for_update()).first()


def pid_taken(db: Session, pid: str, exclude_id: int | None = None) -> bool:
    return writes.value_taken(db, Project.pid, pid, exclude_id)


def insert_project(db: Session, values: dict[str, Any]) -> int:
    return writes.insert_row(db, Project, values)


def update_project(db: Session, project_id: int, values: dict[str, Any]) -> None:
    writes.update_row(db, Project, project_id, values)


def delete_project(db: Session, project_id: int) -> bool:
    """Delete a project and its layer links; the layers stay."""
    db.execute(delete(ProjectLayer).where(ProjectLayer.project_id == project_id))
    return db.execute(delete(Project).where(Project.id == project_id)).rowcount > 0
