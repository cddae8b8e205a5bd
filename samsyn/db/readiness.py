"""Whether this process can serve: the database answers and is migrated to head.

A thread of each API process asks the database once a second on a connection of its own, and
/ready only reads its last answer. Asked on the request path instead, the probe waited for a
pooled connection behind the requests it was meant to judge, on the event loop: under a full
load /ready took longer than an orchestrator's probe timeout (Kubernetes' default is 1 s) and a
busy but healthy process would be taken out of service. A probe connection of its own also keeps
readiness about the database, not about how busy the pool is.
"""
from __future__ import annotations

import enum
import functools
import logging
import threading
import time
from typing import Any

import psycopg

from samsyn.db import engine
from samsyn.settings import get_settings

log = logging.getLogger("samsyn.db")

INTERVAL = 1.0
# An answer older than this means the probe itself is stuck (a server that accepts the
# connection and never answers): not ready. Connect and statement timeouts are 2 s each.
STALE_AFTER = 6.0
STATEMENT_TIMEOUT_MS = 2000


class State(enum.Enum):
    READY = "ready"
    UNAVAILABLE = "database unavailable"
    PENDING = "migrations pending"


class Readiness:
    """The last answer of a background probe, whose thread `start()` starts in the process
    that serves (create_app, in each API worker) or else the first question does."""

    def __init__(self, probe: Any, interval: float = INTERVAL) -> None:
        self._probe = probe
        self._interval = interval
        self._lock = threading.Lock()
        self._first = threading.Event()
        self._started = False
        self._state = State.UNAVAILABLE
        self._at = 0.0

    def state(self) -> State:
        if engine.breaker.open:      # a request already found the database gone
            return State.UNAVAILABLE
        self.start()
        # Only a question before the first probe ended waits, at most one probe's timeouts.
        self._first.wait(engine.CONNECT_TIMEOUT + STATEMENT_TIMEOUT_MS / 1000 + 0.5)
        if time.monotonic() - self._at > STALE_AFTER:
            return State.UNAVAILABLE
        return self._state

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="samsyn-ready-probe", daemon=True).start()

    def _run(self) -> None:
        connection: psycopg.Connection[Any] | None = None
        while True:
            # A connection the server closed since the last probe (a restart) is replaced
            # first: only a new connection that fails means the database is away.
            if connection is not None and not engine.connection_alive(connection):
                connection.close()
                connection = None
            try:
                if connection is None:
                    connection = _connect()
                self._state = self._probe(connection)
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
                if connection is not None:
                    connection.close()
                connection = None
                if engine.is_unavailable(exc):
                    engine.breaker.trip()
                self._state = State.UNAVAILABLE
            self._at = time.monotonic()
            self._first.set()
            time.sleep(self._interval)


def _connect() -> psycopg.Connection[Any]:
    return psycopg.connect(engine.dsn(get_settings().database_url),
                           connect_timeout=engine.CONNECT_TIMEOUT, autocommit=True,
                           application_name="samsyn-ready",
                           options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")


def _at_head(connection: psycopg.Connection[Any]) -> State:
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return State.READY if row is not None and row[0] == _head() else State.PENDING


@functools.cache
def _head() -> str:
    from samsyn.db.migrate import head_revision  # alembic: only when first asked
    return head_revision()


readiness = Readiness(_at_head)
