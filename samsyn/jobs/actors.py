"""Dramatiq actors: thin wrappers around the pipelines (docs/architecture.md, "An import")."""
from __future__ import annotations

import os

import dramatiq
from dramatiq.middleware import Retries

from samsyn.jobs import runner
from samsyn.jobs.broker import setup_broker
from samsyn.jobs.middleware import JobStatus
from samsyn.jobs.pipelines import housekeeping, mail

_broker = setup_broker()
if not any(isinstance(m, JobStatus) for m in _broker.middleware):
    # Before Retries in the list: Dramatiq runs the after_* hooks in reverse order, so Retries'
    # after_process_message has decided (message.failed) when JobStatus records the attempt.
    _broker.add_middleware(JobStatus(), before=Retries)


def in_process() -> bool:
    """Whether jobs run on this process's own stub broker (no SAMSYN_BROKER_URL)."""
    from dramatiq.brokers.stub import StubBroker
    return isinstance(_broker, StubBroker)


# The queue of import/maintenance jobs; tests give each run its own on a shared RabbitMQ.
JOB_QUEUE = os.environ.get("SAMSYN_JOB_QUEUE", "jobs")


@dramatiq.actor(queue_name="mail", max_retries=5, time_limit=5 * 60_000)
def deliver_mail() -> None:
    """Send what waits in the mail outbox (registration, e-mail confirmation, password reset)."""
    mail.run()


@dramatiq.actor(queue_name="maintenance", max_retries=3, time_limit=10 * 60_000)
def purge_expired() -> None:
    """Drop expired JWT denylist entries and Django sessions."""
    housekeeping.run()


@dramatiq.actor(queue_name=JOB_QUEUE, max_retries=3, time_limit=2 * 3600_000,
                min_backoff=1_000, max_backoff=60_000, throws=runner.permanent_errors())
def run_job(job_id: int) -> None:
    """Run samsyn_job `job_id` (an import, source statistics, the martin functions)."""
    runner.run_job(job_id)
