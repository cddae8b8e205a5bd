"""Engine and session factory: created lazily, one per process (workers fork)."""
from __future__ import annotations

import functools

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from samsyn.settings import get_settings


def make_engine(url: str, *, pool_size: int = 8, max_overflow: int = 8) -> Engine:
    """A pooled psycopg 3 engine; statements are prepared server-side after 5 uses (psycopg default)."""
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_timeout=5,
        connect_args={"application_name": "samsyn", "connect_timeout": 5},
    )


@functools.cache
def get_engine() -> Engine:
    """The process-wide engine for DATABASE_URL."""
    settings = get_settings()
    return make_engine(settings.database_url, pool_size=settings.pool_size,
                       max_overflow=settings.max_overflow)


@functools.cache
def get_sessions() -> sessionmaker[Session]:
    """The process-wide session factory (use `with get_sessions().begin() as db:`)."""
    return sessionmaker(get_engine(), expire_on_commit=False)


@functools.cache
def get_read_sessions() -> sessionmaker[Session]:
    """Sessions for read-only requests: autocommit, so a read is one round trip (no
    BEGIN/ROLLBACK around it); each statement sees a consistent snapshot of its own."""
    return sessionmaker(get_engine().execution_options(isolation_level="AUTOCOMMIT"),
                        expire_on_commit=False)
