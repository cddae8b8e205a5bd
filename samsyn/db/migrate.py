"""Database layer: Alembic driven programmatically (upgrade, stamp, current/head revisions).

Works from any cwd: the script location is the repository's ``migrations/`` directory, found
relative to this package (override with ``$SAMSYN_MIGRATIONS_DIR``), and no ``alembic.ini`` is
read. Every function takes a URL (``postgresql://`` is read as ``postgresql+psycopg://``) or an
open SQLAlchemy ``Connection`` (then it runs inside the caller's transaction).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection

__all__ = [
    "alembic_config",
    "check",
    "collation_note",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_at_head",
    "migrations_dir",
    "normalize_url",
    "sql_script",
    "stamp",
    "upgrade",
    "upgrade_head",
]

Target = str | Connection


def normalize_url(url: str) -> str:
    """Read ``postgres://``/``postgresql://``/``postgis://`` URLs as psycopg 3 URLs."""
    for prefix in ("postgres://", "postgresql://", "postgis://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def migrations_dir() -> Path:
    """The Alembic script directory (``<repo>/migrations``)."""
    env = os.environ.get("SAMSYN_MIGRATIONS_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "migrations"
    if not (path / "env.py").is_file():
        raise FileNotFoundError(f"Alembic migrations not found in {path} (set "
                                f"SAMSYN_MIGRATIONS_DIR to the repository's migrations/)")
    return path


def sql_script(name: str) -> str:
    """The text of ``samsyn/db/sql/<name>`` (the legacy DDL and functions)."""
    return resources.files("samsyn.db").joinpath("sql", name).read_text(encoding="utf-8")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for samsyn's migrations, optionally bound to ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@contextlib.contextmanager
def _connection(target: Target) -> Iterator[Connection]:
    if isinstance(target, Connection):
        yield target
        return
    engine = create_engine(normalize_url(target), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def upgrade(target: Target, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (one transaction)."""
    with _connection(target) as conn:
        command.upgrade(alembic_config(conn), revision)


def upgrade_head(target: Target) -> None:
    """Upgrade the database to the newest revision (one transaction)."""
    upgrade(target, "head")


def downgrade(target: Target, revision: str) -> None:
    """Downgrade the database to ``revision`` (``"base"`` removes everything samsyn created)."""
    with _connection(target) as conn:
        command.downgrade(alembic_config(conn), revision)


def stamp(target: Target, revision: str = "head") -> None:
    """Record ``revision`` in ``alembic_version`` without running migrations."""
    with _connection(target) as conn:
        command.stamp(alembic_config(conn), revision)


def current_revision(target: Target) -> str | None:
    """The revision recorded in the database (``None``: not under Alembic)."""
    with _connection(target) as conn:
        return MigrationContext.configure(conn).get_current_revision()


@functools.cache
def head_revision() -> str:
    """The newest revision of samsyn's migrations (read once per process)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the repository always ships revisions
        raise RuntimeError("no Alembic revisions found")
    return head


def unmigrated_reason(target: Target) -> str | None:
    """Why the database cannot serve this code ("not migrated", "at revision 0002, samsyn
    needs 0004"), or None: at head, at a revision newer than this code knows (a later samsyn
    migrated it during a rolling deploy; its migrations are additive), or unreachable (the
    server starts and answers 503 until the database is back)."""
    try:
        current = current_revision(target)
    except Exception:  # noqa: BLE001 - unreachable or refusing: not a migration problem
        return None
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return "not migrated"
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(current)
    except Exception:  # noqa: BLE001 - alembic's own error for a revision it does not know
        return None
    return f"at revision {current}, samsyn needs {head}"


def is_at_head(target: Target) -> bool:
    """Whether the database is at the newest revision."""
    return current_revision(target) == head_revision()


# The legacy database's default collation (contract/NOTES.md §0): list ordering (`ORDER BY
# name`) and search follow it, so another collation changes what clients see, not correctness.
LEGACY_COLLATION = ("icu", "en-US")


def database_collation(target: Target) -> tuple[str, str]:
    """(provider, locale) of the database's default collation: ("icu", "en-US"), ("libc", "C")."""
    with _connection(target) as conn:
        provider, icu_locale, collate = conn.exec_driver_sql(
            "SELECT datlocprovider, daticulocale, datcollate FROM pg_database "
            "WHERE datname = current_database()").one()
    if provider == "i":
        return "icu", icu_locale or ""
    return "libc", collate


def collation_note(target: Target) -> str | None:
    """One line when the database's collation is not the legacy's ICU en-US, else None.

    Only a note: samsyn works on any collation (and /ready stays ready), but text ordering and
    case-insensitive search then differ from the legacy's.
    """
    provider, locale = database_collation(target)
    # ICU's "en" and "en-US" collate alike; spellings differ ("en_US", "en-us")
    if provider == LEGACY_COLLATION[0] and locale.replace("_", "-").lower() in ("en-us", "en"):
        return None
    return (f"note: the database collation is {provider} {locale!r}, the legacy's was ICU "
            f"'en-US': list ordering and search of text follow the database's collation")


def check(target: Target) -> None:
    """``alembic check``: raise if samsyn's models and its tables differ.

    Raises:
        alembic.util.exc.AutogenerateDiffsDetected: the models need a new revision.
    """
    with _connection(target) as conn:
        command.check(alembic_config(conn))
