"""Project use-cases. `layers` is read-only: links are kept whatever a write sends."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
from sqlalchemy.orm import Session

from samsyn.compat.validation import Unique, validate
from samsyn.db.reads import Reader
from samsyn.domain.common import list_page, write_or_conflict
from samsyn.domain.layers import queries as layer_queries
from samsyn.domain.layers.schemas import LayerOut, layer_out
from samsyn.domain.projects import queries
from samsyn.domain.projects.schemas import PROJECT_FIELDS, ProjectOut, project_echo, project_out
from samsyn.errors import NotFound

DEFAULT_ORDER = ("name",)
ORDERING_FIELDS = ("name", "project_type")
PID_TAKEN = {"pid": ["project with this pid already exists."]}


def _layers_by_project(conn: Reader, project_ids: list[int]) -> dict[int, list[LayerOut]]:
    """Every project's layers in one query (the legacy ran one per project and per layer)."""
    grouped: dict[int, list[LayerOut]] = {pid: [] for pid in project_ids}
    for row in layer_queries.layers_of_projects(conn, project_ids):
        grouped[row[0]].append(layer_out(row[1:]))
    return grouped


def list_projects(conn: Reader, query: dict[str, str]) -> tuple[int, int, int, list[ProjectOut]]:
    count, number, size, rows = list_page(
        query, lambda *page: queries.project_page(conn, *page),
        ordering_fields=ORDERING_FIELDS, default_order=DEFAULT_ORDER)
    layers = _layers_by_project(conn, [r[0] for r in rows])
    return count, number, size, [project_out(r, layers[r[0]]) for r in rows]


def get_project(conn: Reader, project_id: int) -> ProjectOut:
    row = queries.project_row(conn, project_id)
    if row is None:
        raise NotFound
    return project_out(row, _layers_by_project(conn, [project_id])[project_id])


def create_project(db: Session, data: Any) -> dict[str, Any]:
    values = validate(PROJECT_FIELDS, data,
                      unique=Unique(lambda path, name, value: queries.pid_taken(db, value)))
    project_id = write_or_conflict(db, lambda: queries.insert_project(db, values),
                                   lambda exc: PID_TAKEN)
    return project_echo(project_id, values, [])


def update_project(db: Session, project_id: int, read_data: Callable[[], Any], *,
                   partial: bool) -> dict[str, Any]:
    row = queries.project_for_update(db, project_id)
    if row is None:
        raise NotFound
    values = validate(PROJECT_FIELDS, read_data(), partial=partial,
                      unique=Unique(lambda path, name, value:
                                    queries.pid_taken(db, value, project_id)))
    write_or_conflict(db, lambda: queries.update_project(db, project_id, values),
                      lambda exc: PID_TAKEN)
    current = {"pid": row.pid, "name": row.name, "description": row.description,
               "project_type": row.project_type, **values}
    # The echo renders the layers through Python's json like every write response.
    layers = json.loads(msgspec.json.encode(_layers_by_project(
        db.connection().connection.driver_connection, [project_id])[project_id]))
    return project_echo(project_id, current, layers)


def delete_project(db: Session, project_id: int) -> None:
    if not queries.delete_project(db, project_id):
        raise NotFound


def project_exists(conn: Reader, project_id: int) -> bool:
    return queries.project_exists(conn, project_id)
