"""Integration fixtures on top of tests/conftest.py's local PostGIS: legacy-built databases."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from samsyn.db.local import LocalCluster

REPO = Path(__file__).resolve().parents[2]
LEGACY_DUMP = REPO / "contract" / "legacy-schema.sql"


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
