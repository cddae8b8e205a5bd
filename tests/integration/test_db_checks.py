"""Database checks at the edges: samsyn works on any collation and names one that is not the
legacy's ICU en-US in one line; serve refuses a database behind its migrations."""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from samsyn.db.local import LocalCluster
from samsyn.db.migrate import collation_note, database_collation
from tests.conftest import REPO, Server


@pytest.fixture
def c_collation_url(pg_cluster: LocalCluster) -> Iterator[str]:
    name = f"libc_c_{uuid.uuid4().hex[:8]}"
    with pg_cluster.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                     "LOCALE_PROVIDER libc LOCALE 'C'")
    with pg_cluster.connect(name) as conn:
        conn.execute("CREATE EXTENSION postgis")
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


def samsyn(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "samsyn.cli", *args], cwd=REPO,
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True,
                          text=True, timeout=120)


def test_embedded_default_is_the_legacy_collation(new_database) -> None:  # type: ignore[no-untyped-def]
    url = new_database("icu")
    assert database_collation(url) == ("icu", "en-US")
    assert collation_note(url) is None
    done = samsyn(url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert "collation" not in done.stderr


def test_other_collation_is_named_in_one_line_and_ready_stays_ready(c_collation_url: str) -> None:
    assert database_collation(c_collation_url) == ("libc", "C")
    done = samsyn(c_collation_url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    notes = [ln for ln in done.stderr.splitlines() if "collation" in ln]
    assert notes == ["note: the database collation is libc 'C', the legacy's was ICU 'en-US': "
                     "list ordering and search of text follow the database's collation"]
    adopt = samsyn(c_collation_url, "db", "adopt", "--dry-run")
    assert [ln for ln in adopt.stderr.splitlines() if "collation" in ln] == notes
    server = Server(c_collation_url)
    try:
        with urllib.request.urlopen(server.base_url + "/ready", timeout=5) as response:
            assert response.status == 200
    finally:
        server.stop()


def test_serve_refuses_an_unmigrated_database_in_one_line(new_database) -> None:  # type: ignore[no-untyped-def]
    url = new_database("bare")
    done = samsyn(url, "serve", "--port", "1")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: the database is not migrated: run `samsyn db upgrade` first"]
    assert samsyn(url, "db", "upgrade", "0001").returncode == 0
    done = samsyn(url, "serve", "--port", "1")
    assert done.returncode == 1
    assert "is at revision 0001, samsyn needs" in done.stderr
