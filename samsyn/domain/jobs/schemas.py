"""Wire shape of a job (samsyn's own resource, no legacy serializer: DRF's ModelSerializer
conventions, fields in the samsyn_job column order)."""
from __future__ import annotations

from typing import Any

import msgspec

from samsyn.compat.wire import drf_datetime, raw_jsonb


class JobOut(msgspec.Struct):
    """A job as GET renders it; `args` and `result` are jsonb in DRF's text."""

    id: int
    kind: str
    status: str
    args: msgspec.Raw
    progress: int
    total: int | None
    result: msgspec.Raw | None
    error: str | None
    created: str
    started: str | None
    finished: str | None
    updated: str
    worker: str | None
    attempts: int


def job_out(row: Any) -> JobOut:
    """Map a queries.JOB_COLUMNS row."""
    return JobOut(row[0], row[1], row[2], raw_jsonb(row[3]), row[4], row[5],
                  None if row[6] is None else raw_jsonb(row[6]), row[7], drf_datetime(row[8]),
                  drf_datetime(row[9]), drf_datetime(row[10]), drf_datetime(row[11]), row[12],
                  row[13])
