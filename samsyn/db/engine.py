"""Engine and session factory: created lazily, one per process (workers fork).

Also the process's view of whether the database can be reached at all. Handlers run on the
worker's event loop thread, so every second a request spends waiting for a connection is a
second during which no other request of that process (not even /health) is answered. Hence:
short connect and pool waits, a cheap check that a pooled connection was not closed by the
server (a PostgreSQL restart), and a circuit breaker: once a connection failed, requests are
refused at once (503) until a background probe reaches the server again.
"""
from __future__ import annotations

import functools
import logging
import select
import threading
import time
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from samsyn.errors import DatabaseUnavailable
from samsyn.settings import get_settings

log = logging.getLogger("samsyn.db")

# libpq rounds connect_timeout up to 2 s; a local or LAN server answers in milliseconds.
CONNECT_TIMEOUT = 2
# A connection is checked out per request, and a worker serves one request at a time: waiting
# longer than this means the server is unreachable, not that the pool is busy.
POOL_TIMEOUT = 1.0
PROBE_INTERVAL = 0.5
# SQLSTATEs that mean "no usable connection": class 08 (connection exception), the server
# shutting down or starting (57P01-57P03), too many connections (53300).
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def connection_alive(conn: Any) -> bool:
    """Whether an idle pooled connection is still open, without a round trip (~2 us).

    An idle connection has nothing to read: a readable socket means the server closed it (EOF,
    or the FATAL "terminating connection" it sends when it shuts down)."""
    if conn.closed or conn.broken:
        return False
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return not poller.poll(0)


def is_unavailable(error: BaseException) -> bool:
    """Whether an exception means the database cannot be reached (not a bad query)."""
    from psycopg_pool import PoolTimeout
    if isinstance(error, (DatabaseUnavailable, PoolTimeout, exc.TimeoutError)):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig  # type: ignore[assignment]
    if isinstance(error, psycopg.InterfaceError):  # "the connection is closed"
        return True
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        return state is None or state.startswith("08") or state in _UNAVAILABLE_STATES
    return False


class Breaker:
    """Open after a connection failure; closed again by a background probe that connects.

    While open, guard() raises DatabaseUnavailable without touching the network, so a dead
    database costs each request microseconds instead of a connect or pool timeout."""

    def __init__(self, probe: Any, interval: float = PROBE_INTERVAL) -> None:
        self._probe = probe
        self._interval = interval
        self._lock = threading.Lock()
        self.open = False

    def guard(self) -> None:
        if self.open:
            raise DatabaseUnavailable

    def trip(self) -> None:
        with self._lock:
            if self.open:
                return
            self.open = True
        log.warning("database unreachable: answering 503 until it is back")
        threading.Thread(target=self._probe_until_back, name="samsyn-db-probe",
                         daemon=True).start()

    def _probe_until_back(self) -> None:
        while True:
            time.sleep(self._interval)
            try:
                self._probe()
            except Exception:  # noqa: BLE001 - still down: probe again later
                continue
            self.open = False
            log.warning("database reachable again")
            return


def dsn(url: str) -> str:
    """The libpq connection string of a SQLAlchemy URL (for psycopg.connect)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _probe() -> None:
    with psycopg.connect(dsn(get_settings().database_url), connect_timeout=CONNECT_TIMEOUT,
                         application_name="samsyn-probe", autocommit=True) as conn:
        conn.execute("SELECT 1")


breaker = Breaker(_probe)


def confirm_reachable() -> None:
    """Connect once, directly: called when a pooled connection turned out closed by the server
    (a restart, or a shutdown in progress). A server that is gone then trips the breaker in
    milliseconds; otherwise the request waited the pool's timeout for a refill that cannot
    happen, on the event loop, and every other request of the process waited with it."""
    try:
        _probe()
    except Exception as error:
        if is_unavailable(error):
            breaker.trip()
            raise DatabaseUnavailable from None
        raise


def make_engine(url: str, *, pool_size: int = 8, max_overflow: int = 8) -> Engine:
    """A pooled psycopg 3 engine; statements are prepared server-side after 5 uses (psycopg
    default)."""
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,  # connection_alive on checkout instead: no round trip
        pool_recycle=1800,
        pool_timeout=POOL_TIMEOUT,
        connect_args={"application_name": "samsyn", "connect_timeout": CONNECT_TIMEOUT},
    )
    event.listen(engine, "do_connect", _guard_connect)
    event.listen(engine, "checkout", _checkout)
    return engine


def _guard_connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> None:
    breaker.guard()


def _checkout(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    breaker.guard()
    if not connection_alive(dbapi_connection):
        raise exc.DisconnectionError  # the pool discards it and checks out another


@functools.cache
def get_engine() -> Engine:
    """The process-wide engine for DATABASE_URL."""
    settings = get_settings()
    return make_engine(settings.database_url, pool_size=settings.pool_size,
                       max_overflow=settings.max_overflow)


@functools.cache
def get_sessions() -> sessionmaker[Session]:
    """The process-wide session factory.

    A transaction: `with get_sessions().begin() as db:`."""
    return sessionmaker(get_engine(), expire_on_commit=False)


@functools.cache
def get_read_sessions() -> sessionmaker[Session]:
    """Sessions for read-only requests: autocommit, so a read is one round trip (no
    BEGIN/ROLLBACK around it); each statement sees a consistent snapshot of its own."""
    return sessionmaker(get_engine().execution_options(isolation_level="AUTOCOMMIT"),
                        expire_on_commit=False)
