"""The project list costs a fixed number of queries whatever its size (the legacy ran one per
project and one per layer), and the other read views one or two."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from samsyn.db import reads
from samsyn.domain.layers import service as layers
from samsyn.domain.projects import service as projects
from samsyn.domain.sources import service as sources


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement run through samsyn.db.reads.Query, in order."""
    seen: list[str] = []
    for name in ("all", "first"):  # scalar() runs through first()
        original = getattr(reads.Query, name)

        def wrapper(self: reads.Query, conn: psycopg.Connection, _orig: Callable = original,
                    **params: object) -> object:
            seen.append(self.sql.split()[0])
            return _orig(self, conn, **params)
        monkeypatch.setattr(reads.Query, name, wrapper)
    return seen


@pytest.fixture(scope="module")
def conn(migrated_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(migrated_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as connection:
        yield connection


def seed(conn: psycopg.Connection, n_projects: int, layers_per_project: int) -> None:
    conn.execute("TRUNCATE core_project_layers, core_project, core_layer, core_source "
                 "RESTART IDENTITY CASCADE")
    n_layers = n_projects * layers_per_project
    conn.execute("INSERT INTO core_source (sid, name, description, source_type, attributes) "
                 "SELECT 's' || i, 'S' || i, 'd', 't', '{}' FROM generate_series(1, %s) i",
                 (max(n_layers, 1),))
    conn.execute("INSERT INTO core_layer (lid, name, style, source_id, attributes) "
                 "SELECT 'l' || i, 'L' || i, '{}', i, '{}' FROM generate_series(1, %s) i",
                 (n_layers,))
    conn.execute("INSERT INTO core_project (pid, name, description, project_type) "
                 "SELECT 'p' || i, 'P' || i, 'd', 'map' FROM generate_series(1, %s) i",
                 (n_projects,))
    conn.execute("INSERT INTO core_project_layers (project_id, layer_id) "
                 "SELECT (i - 1) / %s + 1, i FROM generate_series(1, %s) i",
                 (max(layers_per_project, 1), n_layers))


@pytest.mark.parametrize("n_projects,layers_per_project", [(1, 1), (5, 2), (25, 4), (100, 8)])
def test_project_list_is_two_queries(conn: psycopg.Connection, counted: list[str],
                                     n_projects: int, layers_per_project: int) -> None:
    seed(conn, n_projects, layers_per_project)
    count, number, size, results = projects.list_projects(conn, {"page_size": "100"})
    assert count == n_projects
    assert sum(len(p.layers) for p in results) == n_projects * layers_per_project
    assert len(counted) == 2, counted


def test_other_reads_are_one_query(conn: psycopg.Connection, counted: list[str]) -> None:
    seed(conn, 3, 2)
    sources.list_sources(conn, {})
    assert len(counted) == 1
    layers.list_layers(conn, {"search": "L1"})
    assert len(counted) == 2
    projects.get_project(conn, 1)
    assert len(counted) == 4, counted  # the project, then its layers with their sources
    sources.list_sources(conn, {"page": "1", "search": "nothing-matches"})
    assert len(counted) == 6, counted  # an empty page needs the count on its own
