"""Run one job by id: the function the actor calls and `--sync` calls inline.

Every kind runs in ONE transaction on its own psycopg connection: the job's run lock, the
work, and the job marked successful, so the rows and the status commit together and a
redelivered message finds `successful` and does nothing (Dramatiq delivers at least once).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import psycopg

from samsyn.jobs import service
from samsyn.jobs.service import JobRejected

Progress = Callable[[int, "int | None"], None]
IMPORT_KINDS = {"import_shapefile": "shapefile", "import_csv": "csv", "import_geojson": "geojson"}


def permanent_errors() -> tuple[type[BaseException], ...]:
    """Errors a retry cannot fix: the job fails at once with the message."""
    from samsyn.imports import ImportFailed
    return (ImportFailed, JobRejected)


def error_text(exc: BaseException) -> str:
    """One line for the job row: no traceback, no SQL text."""
    if isinstance(exc, permanent_errors()):
        return str(exc)
    if isinstance(exc, psycopg.Error):
        primary = exc.diag.message_primary if exc.diag else None
        return f"database error: {primary or type(exc).__name__}"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_job(job_id: int, *, database_url: str | None = None,
            progress: Progress | None = None) -> dict[str, Any] | None:
    """Run job `job_id`; its result, or None when it had already finished."""
    with service.connect(database_url, autocommit=False) as conn:
        job = service.claim(conn, job_id)
        if job is None:
            conn.rollback()
            return None
        handler = HANDLERS.get(job["kind"])
        if handler is None:
            raise JobRejected(f"unknown job kind {job['kind']!r}")
        with service.ProgressWriter(job_id, database_url=database_url) as writer:
            def report(done: int, total: int | None) -> None:
                writer(done, total)
                if progress is not None:
                    progress(done, total)
            result = handler(conn, job, report)
        conn.commit()
        return result


def run_inline(job_id: int, *, database_url: str | None = None,
               progress: Progress | None = None) -> dict[str, Any] | None:
    """One attempt without a broker (`--sync`): what the middleware records, done here."""
    if not service.start_attempt(job_id, database_url=database_url):
        return None
    try:
        return run_job(job_id, database_url=database_url, progress=progress)
    except BaseException as exc:
        service.fail_attempt(job_id, error_text(exc), final=True, database_url=database_url)
        raise


def import_options(kind: str, args: dict[str, Any]) -> Any:
    """The pipeline's ImportOptions from a job's stored args."""
    from samsyn.imports import ImportOptions
    known = {f.name for f in dataclasses.fields(ImportOptions)}
    values = {k: v for k, v in args.items() if k in known}
    values["format"] = IMPORT_KINDS[kind]
    return ImportOptions(**values)


def _import(conn: psycopg.Connection, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from samsyn.imports import run_import
    options = import_options(job["kind"], job["args"])
    out: dict[str, Any] = {}

    def before_commit(conn: psycopg.Connection, result: Any) -> None:
        out.update(result.to_json())
        service.finish(conn, job["id"], out, progress=result.loaded + result.skipped,
                       total=result.total)

    run_import(conn, options, progress=progress, before_commit=before_commit)
    return out


def _source_stats(conn: psycopg.Connection, job: dict[str, Any],
                  progress: Progress) -> dict[str, Any]:
    from samsyn.imports import create_martin_functions, update_source_stats
    started = time.perf_counter()
    target = job["args"].get("source")
    if job["args"].get("create_function"):
        create_martin_functions(conn)
    if target == "all":
        rows = conn.execute("SELECT id, name FROM core_source ORDER BY id").fetchall()
    else:
        rows = conn.execute("SELECT id, name FROM core_source WHERE id = %s",
                            (int(target),)).fetchall()
        if not rows:
            raise JobRejected(f"Source with ID {target} does not exist")
    for done, (pk, _) in enumerate(rows, 1):
        update_source_stats(conn, pk)
        progress(done, len(rows))
    result = {"source": target, "sources": [{"id": pk, "name": name} for pk, name in rows],
              "seconds": round(time.perf_counter() - started, 3)}
    service.finish(conn, job["id"], result, progress=len(rows), total=len(rows))
    return result


def _martin_functions(conn: psycopg.Connection, job: dict[str, Any],
                      progress: Progress) -> dict[str, Any]:
    from samsyn.imports import create_martin_functions
    create_martin_functions(conn)
    service.finish(conn, job["id"], {})
    return {}


HANDLERS: dict[str, Callable[[psycopg.Connection, dict[str, Any], Progress], dict[str, Any]]] = {
    "import_shapefile": _import,
    "import_csv": _import,
    "import_geojson": _import,
    "update_source_stats": _source_stats,
    "create_martin_functions": _martin_functions,
}
