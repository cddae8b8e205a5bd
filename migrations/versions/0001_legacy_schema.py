"""The legacy Django schema, its SQL functions and django_migrations rows.

Creates exactly the tables of contract/legacy-schema.sql (samsyn/db/sql/legacy_schema.sql, the
dump's DDL) and the legacy PL/pgSQL functions (samsyn/db/sql/functions.sql), then records the
Django migrations the legacy database had applied (contract/NOTES.md §11) so that a Django
checkout sees the database as migrated. An existing Django database is not upgraded through
this revision but adopted (samsyn.db.adopt: verified, then stamped).

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from samsyn.db.migrate import sql_script

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (app, name) in the legacy database's application order (NOTES.md §11). The legacy core app's
# migrations 0001-0013 are not part of the contract corpus (only their count), so only the two
# named core migrations are recorded here.
DJANGO_MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("contenttypes", "0001_initial"),
    ("auth", "0001_initial"),
    ("account", "0001_initial"),
    ("account", "0002_email_max_length"),
    ("admin", "0001_initial"),
    ("admin", "0002_logentry_remove_auto_add"),
    ("admin", "0003_logentry_add_action_flag_choices"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0002_alter_permission_name_max_length"),
    ("auth", "0003_alter_user_email_max_length"),
    ("auth", "0004_alter_user_username_opts"),
    ("auth", "0005_alter_user_last_login_null"),
    ("auth", "0006_require_contenttypes_0002"),
    ("auth", "0007_alter_validators_add_error_messages"),
    ("auth", "0008_alter_user_username_max_length"),
    ("auth", "0009_alter_user_last_name_max_length"),
    ("auth", "0010_alter_group_name_max_length"),
    ("auth", "0011_update_proxy_permissions"),
    ("auth", "0012_alter_user_first_name_max_length"),
    ("authtoken", "0001_initial"),
    ("authtoken", "0002_auto_20160226_1747"),
    ("authtoken", "0003_tokenproxy"),
    ("core", "0013_oracle_sync_models_to_code"),
    ("core", "0014_add_indexes"),
    ("sessions", "0001_initial"),
    ("socialaccount", "0001_initial"),
    ("socialaccount", "0002_token_max_lengths"),
    ("socialaccount", "0003_extra_data_default_dict"),
)

# Dependency order (referencing tables first) for the downgrade.
LEGACY_TABLES: tuple[str, ...] = (
    "socialaccount_socialtoken", "socialaccount_socialapp", "socialaccount_socialaccount",
    "django_session", "django_migrations", "django_admin_log",
    "core_project_layers", "core_project", "core_layer", "core_geometry", "core_source",
    "authtoken_token", "auth_user_user_permissions", "auth_user_groups",
    "account_emailconfirmation", "account_emailaddress", "auth_user",
    "auth_group_permissions", "auth_permission", "auth_group", "django_content_type",
)

LEGACY_FUNCTIONS: tuple[str, ...] = (
    "generate_geojson_feature_collection_v3(integer, text, integer)",
    "update_source_attributes(integer)",
    "mvt_tile(integer, integer, integer, json)",
    "tilebbox(integer, integer, integer, integer)",
    "get_tile_coords(double precision, double precision, integer)",
)


def _execute_script(sql: str) -> None:
    # The driver connection runs a multi-statement script in one call (no parameters, so
    # psycopg uses the simple query protocol), inside Alembic's transaction.
    op.get_bind().connection.driver_connection.execute(sql)


def upgrade() -> None:
    existing = op.get_bind().exec_driver_sql(
        "SELECT to_regclass('public.core_source'), to_regclass('public.auth_user')").one()
    if any(existing):
        raise RuntimeError(
            "this database already has the legacy Django tables: adopt it (samsyn.db.adopt, "
            "which verifies the schema and stamps it) instead of running the migrations")
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public")
    # PostGIS may already be installed in another schema: keep it on the path.
    postgis_schema = op.get_bind().exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'postgis'"
    ).scalar()
    op.execute(f"SET LOCAL search_path = public, {postgis_schema}")
    _execute_script(sql_script("legacy_schema.sql"))
    _execute_script(sql_script("functions.sql"))
    values = ", ".join(f"('{app}', '{name}', now())" for app, name in DJANGO_MIGRATIONS)
    op.execute(f"INSERT INTO public.django_migrations (app, name, applied) VALUES {values}")
    op.execute("RESET search_path")


def downgrade() -> None:
    for signature in LEGACY_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS public.{signature}")
    for table in LEGACY_TABLES:
        op.execute(f"DROP TABLE IF EXISTS public.{table}")
    # PostGIS stays: other databases objects (and samsyn's own tables) may depend on it.
