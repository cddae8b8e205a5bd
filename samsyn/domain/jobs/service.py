"""Job use-cases of the HTTP API: list and retrieve (jobs are written by samsyn.jobs)."""
from __future__ import annotations

from samsyn.db.reads import Reader
from samsyn.domain.common import list_page
from samsyn.domain.jobs import queries
from samsyn.domain.jobs.schemas import JobOut, job_out
from samsyn.errors import NotFound

DEFAULT_ORDER = ("-id",)        # newest first
ORDERING_FIELDS = ("id", "created", "updated", "status", "kind")


def list_jobs(conn: Reader, query: dict[str, str]) -> tuple[int, int, int, list[JobOut]]:
    count, number, size, rows = list_page(
        query, lambda *page: queries.job_page(conn, *page),
        ordering_fields=ORDERING_FIELDS, default_order=DEFAULT_ORDER)
    return count, number, size, [job_out(r) for r in rows]


def get_job(conn: Reader, job_id: int) -> JobOut:
    row = queries.job_row(conn, job_id)
    if row is None:
        raise NotFound
    return job_out(row)


def job_exists(conn: Reader, job_id: int) -> bool:
    return queries.job_exists(conn, job_id)
