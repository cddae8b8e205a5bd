"""samsyn.db.adopt: a legacy Django database is verified, then stamped; a tampered one is left
alone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text

from samsyn.db import migrate
from samsyn.db.adopt import LEGACY_FUNCTIONS, adopt, inspect_schema
from samsyn.db.migrate import sql_script

SAMSYN_TABLES = {"samsyn_job", "samsyn_token_denylist", "samsyn_mail_outbox",
                 "samsyn_user_token_epoch", "samsyn_throttle"}

SEED = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                       is_active, date_joined)
VALUES ('pbkdf2_sha256$600000$salt$hash', false, 'alice', '', '', 'alice@example.org', false,
        true, '2024-01-02T03:04:05Z');
INSERT INTO authtoken_token (key, created, user_id)
VALUES ('0123456789abcdef0123456789abcdef01234567', now(), 1);
INSERT INTO core_source (sid, name, description, source_type, attributes)
VALUES ('s1', 'Source one', '', 'vector', '{"keep": true}');
INSERT INTO core_geometry (geom, metadata, geometry_type, source_id)
VALUES (ST_GeomFromText('POINT(1 2)', 4326), '{"name": "pt"}', 'Point', 1);
INSERT INTO core_layer (lid, name, style, source_id, attributes)
VALUES ('l1', 'Layer one', '{}', 1, '{}');
INSERT INTO django_migrations (app, name, applied) VALUES ('core', '0014_add_indexes', now());
"""


def _with(url: str, fn):
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return fn(conn)
    finally:
        engine.dispose()


def _snapshot(url: str) -> dict[str, Any]:
    """Schema plus every row of the shared tables (what adoption must not change)."""

    def read(conn):
        schema = inspect_schema(conn)
        rows = {}
        for table in sorted(schema["tables"]):
            if table.startswith("samsyn_") or table == "alembic_version":
                continue
            rows[table] = conn.execute(text(
                f"SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]')::text "
                f"FROM (SELECT * FROM {table}) AS t")).scalar()
        seqs = {r[0]: r[1] for r in conn.execute(text(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' "
            "AND sequencename NOT LIKE 'samsyn%'"))}
        schemas = set(conn.execute(text("SELECT nspname FROM pg_namespace")).scalars())
        return {"schema": schema, "rows": rows, "sequences": seqs, "namespaces": schemas}

    return _with(url, read)


def _function_sources(url: str) -> dict[str, str]:
    return _with(url, lambda conn: dict(conn.execute(text(
        "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
        "AND proname IN ('mvt_tile', 'tilebbox', 'get_tile_coords', 'update_source_attributes', "
        "'generate_geojson_feature_collection_v3')")).all()))


def _seed(url: str) -> None:
    _with(url, lambda conn: conn.connection.driver_connection.execute(SEED))


def test_adopts_a_legacy_database_and_keeps_its_data(legacy_database) -> None:
    url = legacy_database()
    _seed(url)
    before = _snapshot(url)
    functions_before = _function_sources(url)

    dry = adopt(url, dry_run=True)
    assert not dry.adopted and not dry.changed and dry.differences == {}
    assert migrate.current_revision(url) is None

    report = adopt(url)
    assert report.adopted and report.changed, str(report)
    assert report.differences == {}
    assert report.revision_before is None and report.revision_after == migrate.head_revision()
    assert report.functions_created == []
    assert migrate.is_at_head(url)

    after = _snapshot(url)
    assert after["rows"] == before["rows"]
    assert after["sequences"] == before["sequences"]
    assert after["namespaces"] == before["namespaces"]  # the probe schema is gone
    shared = {k: v for k, v in after["schema"]["tables"].items()
              if k not in SAMSYN_TABLES | {"alembic_version"}}
    # unchanged but for the exact duplicate indexes revision 0006 drops
    from tests.integration.test_schema import _without_index_copies
    assert shared == _without_index_copies(before["schema"])["tables"]
    assert shared != before["schema"]["tables"]
    assert SAMSYN_TABLES <= set(after["schema"]["tables"])
    assert _function_sources(url) == functions_before  # existing functions are not replaced

    again = adopt(url)
    assert again.adopted and not again.changed
    assert "already adopted" in again.message


def test_reports_a_tampered_database_and_changes_nothing(legacy_database) -> None:
    url = legacy_database()
    _seed(url)
    _with(url, lambda conn: conn.connection.driver_connection.execute("""
        ALTER TABLE core_layer ALTER COLUMN name TYPE varchar(100);
        ALTER TABLE core_project_layers
            ALTER CONSTRAINT core_project_layers_layer_id_253af187_fk_core_layer_id
            NOT DEFERRABLE;
        ALTER TABLE auth_user ALTER COLUMN email DROP NOT NULL;
        ALTER TABLE core_source DROP CONSTRAINT core_source_sid_key;
        DROP INDEX source_type_idx;
    """))
    before = _snapshot(url)

    report = adopt(url)
    assert not report.adopted and not report.changed
    assert set(report.differences) == {"core_layer", "core_project_layers", "auth_user",
                                       "core_source"}, str(report)
    assert any("name" in d and "character varying(100)" in d
               for d in report.differences["core_layer"])
    assert any("deferrable" in d for d in report.differences["core_project_layers"])
    assert any("email" in d and "not_null" in d for d in report.differences["auth_user"])
    assert any("core_source_sid_key" in d for d in report.differences["core_source"])
    # the dropped plain index is only a warning (a duplicate of core_source_source__6c8e54_idx)
    assert not any("source_type" in d for d in report.differences["core_source"]
                   if "index" in d)
    assert "nothing was changed" in report.message
    assert "core_layer" in str(report)

    assert _snapshot(url) == before
    assert migrate.current_revision(url) is None


def test_missing_legacy_functions_are_created(legacy_database) -> None:
    url = legacy_database()
    _with(url, lambda conn: conn.execute(text(
        "DROP FUNCTION mvt_tile(integer, integer, integer, json); "
        "DROP FUNCTION update_source_attributes(integer)")))
    report = adopt(url)
    assert report.adopted, str(report)
    assert sorted(report.functions_created) == ["mvt_tile", "update_source_attributes"]
    sources = _function_sources(url)
    assert "body omitted" in sources["tilebbox"]  # the existing ones stay as they were
    assert "ST_AsMVT" in sources["mvt_tile"]


def test_extra_index_is_a_warning_not_a_blocker(legacy_database) -> None:
    url = legacy_database()
    _with(url, lambda conn: conn.execute(text(
        "CREATE INDEX my_extra_idx ON core_layer (lid, name)")))
    report = adopt(url)
    assert report.adopted, str(report)
    assert any("my_extra_idx" not in w and "core_layer" in w and "(lid, name)" in w
               for w in report.warnings)


def test_half_adopted_database_is_reported(legacy_database) -> None:
    url = legacy_database()
    _with(url, lambda conn: conn.execute(text("CREATE TABLE samsyn_job (id bigint)")))
    report = adopt(url)
    assert not report.adopted
    assert "(samsyn)" in report.differences


def test_an_empty_database_is_not_adopted(new_database) -> None:
    url = new_database("empty")
    report = adopt(url)
    assert not report.adopted and not report.changed
    assert "not a legacy database" in report.message
    assert migrate.current_revision(url) is None


def test_a_samsyn_database_is_already_adopted(new_database) -> None:
    url = new_database("fresh")
    migrate.upgrade_head(url)
    report = adopt(url)
    assert report.adopted and not report.changed


@pytest.mark.parametrize("start", ["0001"])
def test_a_database_behind_head_is_upgraded(new_database, start: str) -> None:
    url = new_database("behind")
    migrate.upgrade(url, start)
    report = adopt(url)
    assert report.adopted and report.changed
    assert migrate.is_at_head(url)


def test_postgis_in_another_schema(pg_cluster, new_database) -> None:
    url = new_database("extschema")
    name = url.rsplit("/", 1)[1]
    with pg_cluster.connect(name) as conn:
        conn.execute("DROP EXTENSION postgis")
        conn.execute("CREATE SCHEMA extensions")
        conn.execute("CREATE EXTENSION postgis SCHEMA extensions")
        conn.execute("SET search_path = public, extensions")
        conn.execute(sql_script("legacy_schema.sql"))
    report = adopt(url)
    assert report.adopted, str(report)
    assert sorted(report.functions_created) == sorted(
        s.split("(")[0] for s in LEGACY_FUNCTIONS)
