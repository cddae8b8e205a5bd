"""Integration fixtures: a throwaway local PostGIS cluster (samsyn.db.local) and databases in it.

``SAMSYN_TEST_PGDATA=<dir>`` reuses (or creates) a persistent cluster there instead of a new
one per session, which saves the ~1 s initdb.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from samsyn.db.local import LocalCluster, ensure_local_cluster, temporary_cluster

REPO = Path(__file__).resolve().parents[2]
LEGACY_DUMP = REPO / "contract" / "legacy-schema.sql"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    """A running local PostGIS cluster for the whole session."""
    persistent = os.environ.get("SAMSYN_TEST_PGDATA")
    if persistent:
        yield ensure_local_cluster(Path(persistent), for_tests=True)
        return
    # Not tmp_path_factory: pytest's base dir is 0700 and the server may run as `postgres`.
    with temporary_cluster(prefix="samsyn-test-pg-") as cluster:
        yield cluster


@pytest.fixture(scope="session")
def new_database(pg_cluster: LocalCluster) -> Iterator[Callable[..., str]]:
    """Factory: ``new_database(prefix, template=None) -> url`` of a new, uniquely named database
    (with PostGIS unless a template is given); all are dropped at the end of the session."""
    created: list[str] = []

    def make(prefix: str = "t", *, template: str | None = None) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        url = pg_cluster.create_database(name, template=template)
        created.append(name)
        return url

    yield make
    for name in created:
        pg_cluster.drop_database(name)


def dbname(url: str) -> str:
    """The database name of a SQLAlchemy URL."""
    return url.rsplit("/", 1)[1]


def load_legacy_dump(cluster: LocalCluster, url: str) -> None:
    """Load contract/legacy-schema.sql, as is, with psql (it holds psql meta-commands)."""
    psql = cluster.bindir / "psql"
    subprocess.run(
        [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", cluster.dsn(dbname(url)),
         "-f", str(LEGACY_DUMP)],
        check=True, capture_output=True, text=True,
    )


@pytest.fixture
def legacy_database(pg_cluster: LocalCluster,
                    new_database: Callable[..., str]) -> Callable[[], str]:
    """Factory: a new database built from the legacy pg_dump (what a Django database is)."""

    def make() -> str:
        url = new_database("legacy")
        load_legacy_dump(pg_cluster, url)
        return url

    return make
