"""Alembic's schema == the legacy pg_dump (contract/legacy-schema.sql), for every shared table."""

from __future__ import annotations

import copy
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from samsyn.db import migrate
from samsyn.db.adopt import LEGACY_FUNCTIONS, LEGACY_TABLES, diff_schema, inspect_schema
from samsyn.db.local import LocalCluster

REPO = Path(__file__).resolve().parents[2]
SAMSYN_TABLES = {"samsyn_job", "samsyn_token_denylist", "samsyn_mail_outbox",
                 "samsyn_user_token_epoch", "samsyn_throttle"}


def _inspect(url: str, **kw):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return inspect_schema(conn, **kw)
    finally:
        engine.dispose()


def _dbname(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _pg_dump_tables(cluster: LocalCluster, url: str) -> str:
    r"""pg_dump -s of the legacy tables only, without the random \restrict key lines."""
    argv = [str(cluster.bindir / "pg_dump"), "-s", "-O", "-x", "-d", cluster.dsn(_dbname(url))]
    for table in sorted(LEGACY_TABLES):
        argv += ["-t", f"public.{table}"]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return re.sub(r"^\\(un)?restrict .*$", "", out, flags=re.M)


@pytest.fixture(scope="module")
def legacy_url(pg_cluster: LocalCluster, new_database) -> str:
    url = new_database("legacy")
    subprocess.run([str(pg_cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-d", pg_cluster.dsn(_dbname(url)), "-f",
                    str(REPO / "contract" / "legacy-schema.sql")],
                   check=True, capture_output=True, text=True)
    return url


@pytest.fixture(scope="module")
def migrated_url(new_database) -> str:
    url = new_database("migrated")
    migrate.upgrade_head(url)
    return url


def test_the_dump_defines_exactly_the_legacy_tables(legacy_url: str) -> None:
    schema = _inspect(legacy_url)
    assert set(schema["tables"]) == set(LEGACY_TABLES)
    assert len(LEGACY_TABLES) == 21
    identity = {f"{k.split('(')[0]}({v['identity_args']})" for k, v in schema["functions"].items()}
    assert identity == set(LEGACY_FUNCTIONS)


def _duplicate_index_migration() -> Any:
    spec = importlib.util.spec_from_file_location(
        "m0006", REPO / "migrations" / "versions" / "0006_duplicate_indexes.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _without_index_copies(schema: dict[str, Any]) -> dict[str, Any]:
    """The legacy schema as revision 0006 leaves it: the exact duplicate indexes dropped."""
    dropped = set(_duplicate_index_migration().DROPPED)
    out = copy.deepcopy(schema)
    for table in out["tables"].values():
        table["indexes"] = {k: v for k, v in table["indexes"].items() if k not in dropped}
    return out


def test_upgrade_head_creates_the_legacy_schema_exactly(legacy_url: str,
                                                        migrated_url: str) -> None:
    # exactly, but for the duplicate indexes revision 0006 drops (each has a twin that stays)
    expected = _inspect(legacy_url)
    actual = _inspect(migrated_url)
    assert diff_schema(_without_index_copies(expected), actual, tables=LEGACY_TABLES,
                       functions=True) == {}
    assert set(actual["tables"]) == set(LEGACY_TABLES) | SAMSYN_TABLES | {"alembic_version"}


def test_0006_drops_only_exact_copies_and_the_downgrade_restores_them(
        new_database, legacy_url: str) -> None:
    m0006 = _duplicate_index_migration()
    legacy = _inspect(legacy_url)["tables"]
    assert len(m0006.DROPPED) == 15
    for table, kept, copies in m0006.GROUPS:
        indexes = {n: i["def"] for n, i in legacy[table]["indexes"].items()}
        for name, definition in copies.items():   # an identical twin stays
            assert _strip(indexes[name]) == _strip(indexes[kept]), name
            assert indexes[name].endswith(f"ON public.{table} USING {definition}") or \
                indexes[name].endswith(f"ON {table} USING {definition}"), indexes[name]
    # no other index of the shared tables has a twin left
    after = _without_index_copies(_inspect(legacy_url))["tables"]
    for name in LEGACY_TABLES:
        defs = [_strip(i["def"]) for i in after[name]["indexes"].values()]
        assert len(defs) == len(set(defs)), name
    url = new_database("m0006")
    migrate.upgrade(url, "0005")
    assert diff_schema(_inspect(legacy_url), _inspect(url), tables=LEGACY_TABLES) == {}
    # a database changed by hand: the kept index of a group is gone, its copies stay
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX core_source_name_ad2acb83"))
    engine.dispose()
    migrate.upgrade(url, "0006")
    names = set(_inspect(url)["tables"]["core_source"]["indexes"])
    assert "core_source_name_2cf590_idx" in names and "source_name_idx" not in names
    assert "source_type_idx" not in names and "core_source_source_type_ce8589f8" in names
    migrate.downgrade(url, "0005")
    names = set(_inspect(url)["tables"]["core_source"]["indexes"])
    assert {"source_name_idx", "source_type_idx", "core_source_name_2cf590_idx"} <= names


def _strip(definition: str) -> str:
    return re.sub(r"INDEX \S+ ON", "INDEX ON", definition)


def test_the_comparison_sees_what_matters(legacy_url: str) -> None:
    schema = _inspect(legacy_url)
    tables = schema["tables"]
    fks = [c for t in tables.values() for c in t["constraints"].values() if c["type"] == "f"]
    assert len(fks) == 19
    assert all(c["deferrable"] and c["deferred"] for c in fks)
    assert all("ON DELETE" not in c["def"] for c in fks)
    assert sum(len(t["indexes"]) for t in tables.values()) == 98
    geometry = tables["core_geometry"]
    assert [c["name"] for c in geometry["columns"]] == [
        "geom", "metadata", "geometry_type", "source_id", "gid"]
    assert geometry["columns"][0]["type"] == "geometry(Geometry,4326)"
    assert geometry["columns"][4]["identity"] == "d"
    assert geometry["sequences"]["core_geometry_gid_seq"] == {
        "type": "bigint", "start": 1, "increment": 1, "min": 1, "max": 2**63 - 1, "cache": 1,
        "cycle": False, "owned_by": "gid", "identity": True}
    assert tables["django_admin_log"]["constraints"]["django_admin_log_action_flag_check"][
        "def"] == "CHECK ((action_flag >= 0))"


def test_pg_dump_of_the_shared_tables_is_identical(pg_cluster: LocalCluster, legacy_url: str,
                                                   migrated_url: str) -> None:
    legacy = _pg_dump_tables(pg_cluster, legacy_url)
    migrated = _pg_dump_tables(pg_cluster, migrated_url)
    assert "CREATE TABLE public.core_geometry" in legacy
    for name in _duplicate_index_migration().DROPPED:    # revision 0006
        legacy, n = re.subn(rf"--\n-- Name: {name}; Type: INDEX;[^\n]*\n--\n\n"
                            rf"CREATE INDEX {name} ON [^\n]*\n\n\n", "", legacy)
        assert n == 1, name
    assert legacy == migrated


def test_django_sees_its_migrations_applied(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT app, name FROM django_migrations ORDER BY id")).all()
    engine.dispose()
    apps = [app for app, _ in rows]
    assert rows[0] == ("contenttypes", "0001_initial")
    assert ("core", "0014_add_indexes") in rows
    assert apps.count("auth") == 12 and apps.count("socialaccount") == 3
    assert len(set(rows)) == len(rows)


def test_samsyn_tables(migrated_url: str) -> None:
    schema = _inspect(migrated_url, tables=SAMSYN_TABLES)["tables"]
    job = {c["name"]: c for c in schema["samsyn_job"]["columns"]}
    assert list(job) == ["id", "kind", "status", "args", "progress", "total", "result", "error",
                         "created", "started", "finished", "idempotency_key", "worker", "attempts",
                         "updated"]
    assert job["id"]["type"] == "bigint" and job["id"]["identity"] == "d"
    assert job["args"]["type"] == "jsonb" and job["created"]["type"] == "timestamp with time zone"
    assert "samsyn_job_idempotency_key_key" in schema["samsyn_job"]["constraints"]
    assert [c["name"] for c in schema["samsyn_token_denylist"]["columns"]] == ["jti", "expires"]
    assert [c["name"] for c in schema["samsyn_mail_outbox"]["columns"]] == [
        "id", "created", "sender", "recipients", "subject", "body", "content_type", "sent_at",
        "attempts", "last_error", "next_attempt_at", "dead_at"]
    assert [c["name"] for c in schema["samsyn_user_token_epoch"]["columns"]] == [
        "user_id", "valid_after"]
    assert [c["name"] for c in schema["samsyn_throttle"]["columns"]] == [
        "scope", "key", "window_end", "hits"]
    engine = create_engine(migrated_url)
    with engine.begin() as conn:
        with pytest.raises(Exception, match="samsyn_job_status_check"):
            with conn.begin_nested():
                conn.execute(text("INSERT INTO samsyn_job (kind, status) VALUES ('x', 'bogus')"))
        row = conn.execute(text("INSERT INTO samsyn_job (kind) VALUES ('update_source_stats') "
                                "RETURNING status, progress, args::text")).one()
        assert tuple(row) == ("accepted", 0, "{}")
        conn.rollback()
    engine.dispose()


def test_downgrade_and_upgrade_round_trip(new_database, legacy_url: str) -> None:
    url = new_database("roundtrip")
    migrate.upgrade_head(url)
    assert migrate.is_at_head(url)
    assert migrate.current_revision(url) == migrate.head_revision()
    migrate.check(url)  # alembic check: the models need no new revision

    migrate.downgrade(url, "0001")
    assert migrate.current_revision(url) == "0001"
    assert not set(_inspect(url)["tables"]) & SAMSYN_TABLES

    migrate.downgrade(url, "base")
    assert migrate.current_revision(url) is None
    after = _inspect(url)
    assert set(after["tables"]) == {"alembic_version"}
    assert after["functions"] == {}

    migrate.upgrade_head(url)
    assert migrate.is_at_head(url)
    assert diff_schema(_without_index_copies(_inspect(legacy_url)), _inspect(url),
                       tables=LEGACY_TABLES) == {}


def test_0003_renames_job_statuses_both_ways(new_database) -> None:
    url = new_database("jobstatus")
    migrate.upgrade(url, "0002")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO samsyn_job (kind, status) VALUES ('a', 'queued'), "
                          "('b', 'running'), ('c', 'succeeded'), ('d', 'failed')"))
    migrate.upgrade(url, "0003")
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT kind, status, attempts FROM samsyn_job ORDER BY kind"))
        assert [tuple(r) for r in rows] == [("a", "accepted", 0), ("b", "running", 0),
                                            ("c", "successful", 0), ("d", "failed", 0)]
    migrate.downgrade(url, "0002")
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT status FROM samsyn_job ORDER BY kind"))
        assert [r[0] for r in rows] == ["queued", "running", "succeeded", "failed"]
    engine.dispose()


def test_alembic_command_line(new_database) -> None:
    url = new_database("cli")
    run = [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), "-x", f"url={url}"]
    subprocess.run(run + ["upgrade", "head"], check=True, capture_output=True, cwd="/")
    out = subprocess.run(run + ["current"], check=True, capture_output=True, text=True, cwd="/")
    assert f"{migrate.head_revision()} (head)" in out.stdout
    subprocess.run(run + ["check"], check=True, capture_output=True, cwd="/")


def test_upgrade_refuses_a_legacy_database(legacy_url: str) -> None:
    with pytest.raises(RuntimeError, match="adopt it"):
        migrate.upgrade_head(legacy_url)
    assert migrate.current_revision(legacy_url) is None
