"""The only module that builds SQL for the jobs API (read only; samsyn.jobs.queries writes)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Text, bindparam, cast, select

from samsyn.db.models import Job
from samsyn.db.reads import ListQueries, Query, Reader

JOB_COLUMNS = (Job.id, Job.kind, Job.status, cast(Job.args, Text), Job.progress, Job.total,
               cast(Job.result, Text), Job.error, Job.created, Job.started, Job.finished,
               Job.updated, Job.worker, Job.attempts)

JOB_LIST = ListQueries(
    columns=JOB_COLUMNS,
    joins=((Job, None),),
    search=(Job.kind, Job.status, Job.error),
    order={"id": Job.id, "created": Job.created, "updated": Job.updated, "status": Job.status,
           "kind": Job.kind},
    tiebreak=Job.id,
)
_JOB_BY_ID = Query(select(*JOB_COLUMNS).where(Job.id == bindparam("id")))
_JOB_EXISTS = Query(select(Job.id).where(Job.id == bindparam("id")))


def job_page(conn: Reader, terms: list[str], ordering: tuple[str, ...], limit: int,
             offset: int) -> tuple[int, list[Any]]:
    return JOB_LIST.page(conn, terms, ordering, limit, offset)


def job_row(conn: Reader, job_id: int) -> Any:
    return _JOB_BY_ID.first(conn, id=job_id)


def job_exists(conn: Reader, job_id: int) -> bool:
    return _JOB_EXISTS.first(conn, id=job_id) is not None
