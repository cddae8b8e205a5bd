"""The only module that builds SQL for samsyn_job (plain psycopg: the import transaction and
the progress writer are psycopg connections, not ORM sessions)."""
from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

JOB_COLUMNS = ("id, kind, status, args, progress, total, result, error, created, started, "
               "finished, updated, worker, attempts, idempotency_key")
# Statuses a worker may still (re)start: a retry puts a failed attempt back to accepted.
OPEN = ("accepted", "running")
# Advisory-lock namespace of job runs (pg_advisory_xact_lock(key1, key2) takes two int4).
RUN_LOCK = 0x5A4D


def insert_job(conn: psycopg.Connection, kind: str, args: dict[str, Any],
               idempotency_key: str | None) -> tuple[int, bool]:
    """(job id, created); with a key already used, the existing job and False."""
    row = conn.execute(
        "INSERT INTO samsyn_job (kind, args, idempotency_key) VALUES (%s, %s, %s) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        (kind, Jsonb(args), idempotency_key)).fetchone()
    if row is not None:
        return row[0], True
    found = conn.execute("SELECT id FROM samsyn_job WHERE idempotency_key = %s",
                         (idempotency_key,)).fetchone()
    assert found is not None
    return found[0], False


def job_by_id(conn: psycopg.Connection, job_id: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(f"SELECT {JOB_COLUMNS} FROM samsyn_job WHERE id = %s",
                           (job_id,)).fetchone()


def job_page(conn: psycopg.Connection, limit: int, offset: int,
             status: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    """(count, jobs newest first)."""
    where, params = ("WHERE status = %s", [status]) if status else ("", [])
    count = conn.execute(f"SELECT count(*) FROM samsyn_job {where}", params).fetchone()
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {JOB_COLUMNS} FROM samsyn_job {where} "
                           "ORDER BY id DESC LIMIT %s OFFSET %s",
                           [*params, limit, offset]).fetchall()
    return (count[0] if count else 0), rows


def lock_run(conn: psycopg.Connection, job_id: int) -> None:
    """Serialise runs of one job until the transaction ends (a redelivered message waits here
    for the attempt that still holds it, then sees its outcome)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (RUN_LOCK, job_id % 2**31))


def status_of(conn: psycopg.Connection, job_id: int) -> str | None:
    row = conn.execute("SELECT status FROM samsyn_job WHERE id = %s", (job_id,)).fetchone()
    return row[0] if row else None


def mark_running(conn: psycopg.Connection, job_id: int, worker: str) -> bool:
    """A new attempt starts; False when the job is already finished (nothing to run)."""
    row = conn.execute(
        "UPDATE samsyn_job SET status = 'running', worker = %s, attempts = attempts + 1, "
        "started = coalesce(started, now()), updated = now() "
        "WHERE id = %s AND status = ANY(%s) RETURNING id", (worker, job_id, list(OPEN))).fetchone()
    return row is not None


def set_progress(conn: psycopg.Connection, job_id: int, done: int, total: int | None) -> None:
    conn.execute("UPDATE samsyn_job SET progress = %s, total = coalesce(%s, total), "
                 "updated = now() WHERE id = %s AND status = 'running'", (done, total, job_id))


def mark_successful(conn: psycopg.Connection, job_id: int, result: dict[str, Any],
                    progress: int | None = None, total: int | None = None) -> None:
    conn.execute(
        "UPDATE samsyn_job SET status = 'successful', result = %s, error = NULL, "
        "progress = coalesce(%s, progress), total = coalesce(%s, total), finished = now(), "
        "updated = now() WHERE id = %s", (Jsonb(result), progress, total, job_id))


def mark_attempt_failed(conn: psycopg.Connection, job_id: int, error: str, *, final: bool) -> None:
    """Record a failed attempt: `failed` for good, or back to `accepted` for the retry."""
    conn.execute(
        "UPDATE samsyn_job SET status = %s, error = %s, updated = now(), "
        "finished = CASE WHEN %s THEN now() END WHERE id = %s AND status <> 'successful'",
        ("failed" if final else "accepted", error, final, job_id))
