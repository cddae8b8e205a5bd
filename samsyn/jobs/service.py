"""Job use-cases: create, claim, progress, finish. Plain functions over psycopg connections."""
from __future__ import annotations

import functools
import os
import socket
import time
from typing import Any

import psycopg

from samsyn.jobs import queries

# A progress bar redraws a few times a second; more writes only load the job row.
PROGRESS_INTERVAL_S = 0.25


def dsn(database_url: str | None = None) -> str:
    """The libpq URL of DATABASE_URL (SQLAlchemy's dialect prefix removed)."""
    if database_url is None:
        from samsyn.settings import get_settings
        database_url = get_settings().database_url
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def connect(database_url: str | None = None, *, autocommit: bool = True) -> psycopg.Connection:
    return psycopg.connect(dsn(database_url), autocommit=autocommit)


@functools.cache
def worker_name() -> str:
    """hostname:pid of this process (a forked worker process has its own)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def create_job(kind: str, args: dict[str, Any], *, idempotency_key: str | None = None,
               database_url: str | None = None) -> tuple[int, bool]:
    """Record a new job (status accepted); (job id, created). The same idempotency key gives
    back the job it created first."""
    with connect(database_url) as conn:
        return queries.insert_job(conn, kind, args, idempotency_key)


def get_job(job_id: int, *, database_url: str | None = None) -> dict[str, Any] | None:
    with connect(database_url) as conn:
        return queries.job_by_id(conn, job_id)


def list_jobs(limit: int = 20, offset: int = 0, status: str | None = None, *,
              database_url: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    with connect(database_url) as conn:
        return queries.job_page(conn, limit, offset, status)


def start_attempt(job_id: int, *, database_url: str | None = None) -> bool:
    """running + worker + attempts; False if the job is already finished."""
    with connect(database_url) as conn:
        return queries.mark_running(conn, job_id, worker_name())


def fail_attempt(job_id: int, error: str, *, final: bool, database_url: str | None = None) -> None:
    with connect(database_url) as conn:
        queries.mark_attempt_failed(conn, job_id, error, final=final)


def claim(conn: psycopg.Connection, job_id: int) -> dict[str, Any] | None:
    """Inside the run's transaction: hold the job's run lock; None when there is nothing to do
    (already successful or failed: at-least-once delivery may bring a message twice)."""
    queries.lock_run(conn, job_id)
    job = queries.job_by_id(conn, job_id)
    if job is None or job["status"] in ("successful", "failed"):
        return None
    return job


def finish(conn: psycopg.Connection, job_id: int, result: dict[str, Any], *,
           progress: int | None = None, total: int | None = None) -> None:
    """Mark successful in the caller's transaction (commits with the job's own writes)."""
    queries.mark_successful(conn, job_id, result, progress, total)


class ProgressWriter:
    """Writes (done, total) to the job row on its own autocommit connection, at most every
    PROGRESS_INTERVAL_S: the import's transaction is not committed until the end, so progress
    written inside it would stay invisible."""

    def __init__(self, job_id: int, *, database_url: str | None = None,
                 interval: float = PROGRESS_INTERVAL_S) -> None:
        self.job_id = job_id
        self.interval = interval
        self._url = database_url
        self._conn: psycopg.Connection | None = None
        self._last = 0.0
        self._pending: tuple[int, int | None] | None = None

    def __call__(self, done: int, total: int | None) -> None:
        self._pending = (done, total)
        now = time.monotonic()
        if now - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        if self._pending is None:
            return
        if self._conn is None:
            self._conn = connect(self._url)
        queries.set_progress(self._conn, self.job_id, *self._pending)
        self._pending = None
        self._last = time.monotonic()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> ProgressWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        # No last flush: by now the run's transaction holds the job row (finish() wrote the
        # final progress there), and an UPDATE from this second connection would wait for
        # that transaction, which waits for us: a deadlock no server can see.
        self._pending = None
        self.close()


class JobRejected(Exception):
    """The job's arguments cannot work (unknown source, unknown kind): no retry."""
