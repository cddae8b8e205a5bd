"""Alembic environment for samsyn (online migrations only: the legacy DDL is raw SQL).

The database comes from, first wins: a SQLAlchemy Connection in
``config.attributes["connection"]`` (``samsyn.db.migrate``), ``-x url=...``, ``$DATABASE_URL``,
``sqlalchemy.url`` in the ini file.

Autogenerate/``alembic check`` compare only samsyn's own tables (``samsyn_*``) with the models:
the legacy tables are created by 0001 from the dump's DDL and verified against it by
tests/integration/test_schema.py, and samsyn's models describe only the part of them it uses.
"""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection

from samsyn.db.migrate import normalize_url

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("DATABASE_URL")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass -x url=..., set DATABASE_URL, or call "
                           "samsyn.db.migrate with a URL")
    return normalize_url(url)


def _target_metadata() -> Any:
    try:
        from samsyn.db.models import Base
    except ImportError:  # models not importable (e.g. partial checkout): nothing to compare
        return None
    return Base.metadata


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                    compare_to: Any) -> bool:
    if not alembic_helpers.include_object(obj, name, type_, reflected, compare_to):
        return False
    if type_ == "table":
        # Only samsyn's own tables; a reflected table the models do not declare is not
        # samsyn's to drop (legacy tables, PostGIS's spatial_ref_sys, alembic_version).
        return bool(name and name.startswith("samsyn_")) and not (reflected and compare_to is None)
    table = getattr(obj, "table", None)
    if table is not None and not str(table.name).startswith("samsyn_"):
        return False
    return True


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=_target_metadata(),
        include_object=_include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        transaction_per_migration=False,
    )


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a fresh one to the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) mode is not supported: 0001 executes the legacy DDL "
                       "file; use `psql -f samsyn/db/sql/legacy_schema.sql` for a SQL script")
run_migrations_online()
