"""samsyn.db.local: the throwaway PostGIS cluster comes up, is reused, has PostGIS and en-US ICU."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text

from samsyn.db import local
from samsyn.db.local import LocalCluster, PostgresBinariesMissing, ensure_local_cluster


def dbname(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _postmaster_pid(cluster: LocalCluster) -> int:
    return int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])


def test_cluster_is_up_and_reachable_over_tcp_and_socket(pg_cluster: LocalCluster) -> None:
    assert pg_cluster.is_running()
    assert pg_cluster.url("x") == f"postgresql+psycopg://postgres@127.0.0.1:{pg_cluster.port}/x"
    with pg_cluster.connect() as conn:
        assert conn.execute("SHOW server_version_num").fetchone()[0] >= "150000"
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SHOW fsync").fetchone()[0] == "off"  # for_tests=True
    with psycopg.connect(host=str(pg_cluster.socket_dir), port=pg_cluster.port,
                         user="postgres", dbname="postgres") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_ensure_again_reuses_the_running_server(pg_cluster: LocalCluster) -> None:
    pid = _postmaster_pid(pg_cluster)
    again = ensure_local_cluster(pg_cluster.data_dir)
    assert again.port == pg_cluster.port
    assert _postmaster_pid(again) == pid


def test_created_database_has_postgis_and_en_us_icu_collation(
        pg_cluster: LocalCluster, new_database) -> None:
    url = new_database("loc")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT postgis_lib_version()")).scalar().startswith("3.")
        provider, icu = conn.execute(text(
            "SELECT datlocprovider, daticulocale FROM pg_database "
            "WHERE datname = current_database()")).one()
        assert (provider, icu) == ("i", "en-US")
        names = ["Charlie", "bravo", "Alpha"]
        ordered = conn.execute(text(
            "SELECT n FROM unnest(CAST(:names AS text[])) AS n ORDER BY n"),
            {"names": names}).scalars().all()
        assert ordered == ["Alpha", "bravo", "Charlie"]
        # lst-043 (NOTES.md §0)
        names = ["romeo", "Road Atlas", "rivers south", "Rivers north", "River delta"]
        ordered = conn.execute(text(
            "SELECT n FROM unnest(CAST(:names AS text[])) AS n ORDER BY n"),
            {"names": names}).scalars().all()
        assert ordered == ["River delta", "Rivers north", "rivers south", "Road Atlas", "romeo"]
    engine.dispose()


def test_create_database_from_template_and_drop_existing(
        pg_cluster: LocalCluster, new_database) -> None:
    src = dbname(new_database("tpl"))
    with pg_cluster.connect(src) as conn:
        conn.execute("CREATE TABLE marker (v text)")
        conn.execute("INSERT INTO marker VALUES ('copied')")
    copy = dbname(new_database("copy", template=src))
    with pg_cluster.connect(copy) as conn:
        assert conn.execute("SELECT v FROM marker").fetchone() == ("copied",)
    # existing database kept unless drop_existing
    pg_cluster.create_database(copy)
    with pg_cluster.connect(copy) as conn:
        assert conn.execute("SELECT v FROM marker").fetchone() == ("copied",)
    pg_cluster.create_database(copy, drop_existing=True)
    with pg_cluster.connect(copy) as conn:
        assert conn.execute("SELECT to_regclass('marker')").fetchone() == (None,)
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'postgis'"
                            ).fetchone() == ("postgis",)


def test_stop_and_restart_keeps_data_and_port() -> None:
    base = Path(tempfile.mkdtemp(prefix="samsyn-test-pg2-"))
    os.chmod(base, 0o755)
    try:
        cluster = ensure_local_cluster(base / "data")
        cluster.create_database("keep")
        with cluster.connect("keep") as conn:
            conn.execute("CREATE TABLE t (v int)")
            conn.execute("INSERT INTO t VALUES (42)")
        cluster.stop()
        assert not cluster.is_running()
        again = ensure_local_cluster(base / "data")
        assert again.is_running()
        assert again.port == cluster.port  # persisted
        with again.connect("keep") as conn:
            assert conn.execute("SELECT v FROM t").fetchone() == (42,)
            assert conn.execute("SHOW fsync").fetchone()[0] == "on"  # not for_tests
        again.stop()
        again.stop()  # idempotent
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_non_empty_foreign_directory_is_refused() -> None:
    base = Path(tempfile.mkdtemp(prefix="samsyn-test-pg3-"))
    try:
        (base / "data").mkdir()
        (base / "data" / "something").write_text("not a cluster")
        with pytest.raises(local.LocalPostgresError, match="not a PostgreSQL data directory"):
            ensure_local_cluster(base / "data")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_missing_binaries_name_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAMSYN_PG_BINDIR", raising=False)
    monkeypatch.setattr(local.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(local.shutil, "which", lambda name: None)
    with pytest.raises(PostgresBinariesMissing) as info:
        ensure_local_cluster(Path(tempfile.gettempdir()) / "samsyn-never-created")
    message = str(info.value)
    for package in ("postgresql", "postgresql-contrib", "postgis", "postgresql-15-postgis-3"):
        assert package in message


def test_missing_postgis_names_the_packages(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setattr(local, "_sharedir", lambda bindir: tmp_path)  # no extension/ here
    with pytest.raises(PostgresBinariesMissing, match="postgresql-15-postgis-3"):
        ensure_local_cluster(tmp_path / "data")


def test_concurrent_first_starts_share_one_cluster() -> None:
    """Two processes racing to create and start the same cluster end up on one server."""
    import subprocess
    import sys

    base = Path(tempfile.mkdtemp(prefix="samsyn-test-pg4-"))
    os.chmod(base, 0o755)
    code = ("import sys; from pathlib import Path; from samsyn.db.local import "
            "ensure_local_cluster as e; print(e(Path(sys.argv[1]), for_tests=True).port)")
    try:
        procs = [subprocess.Popen([sys.executable, "-c", code, str(base / "data")],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        results = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), results
        ports = {int(out.strip()) for out, _ in results}
        assert len(ports) == 1
        cluster = ensure_local_cluster(base / "data")
        assert cluster.port in ports
        cluster.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
