"""Shared fixtures: a throwaway local PostGIS (never sqlite, never mocked), migrated databases,
and a running samsyn server on a free port.

``SAMSYN_TEST_PGDATA=<dir>`` reuses (or creates) a persistent cluster there instead of a new
one per session; ``SAMSYN_TEST_DATABASE_URL`` is not needed: the cluster is brought up here.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from samsyn.db.local import LocalCluster, ensure_local_cluster, temporary_cluster

REPO = Path(__file__).resolve().parents[1]


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


@pytest.fixture(scope="session")
def migrated_url(new_database: Callable[..., str]) -> str:
    """A database migrated to head by samsyn's own Alembic revisions."""
    from samsyn.db.migrate import upgrade_head
    url = new_database("samsyn")
    upgrade_head(url)
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A `samsyn serve` subprocess."""

    def __init__(self, database_url: str, *, workers: int = 1,
                 extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "SAMSYN_BASE_URL": self.base_url,
                    **(extra_env or {})}
        self.log = tempfile.NamedTemporaryFile(prefix="samsyn-serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "samsyn.cli", "serve", "--port", str(self.port),
             "--workers", str(workers)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.base_url + "/health", timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("samsyn serve did not start:\n"
                                       + Path(self.log.name).read_text())
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def server(migrated_url: str) -> Iterator[Server]:
    srv = Server(migrated_url)
    try:
        yield srv
    finally:
        srv.stop()
