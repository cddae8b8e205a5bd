"""Dramatiq actors: thin wrappers around the pipelines (STYLE.md §6)."""
from __future__ import annotations

import dramatiq

from samsyn.jobs.broker import setup_broker
from samsyn.jobs.pipelines import housekeeping, mail

setup_broker()


@dramatiq.actor(queue_name="mail", max_retries=5, time_limit=5 * 60_000)
def deliver_mail() -> None:
    """Send what waits in the mail outbox (registration, e-mail confirmation, password reset)."""
    mail.run()


@dramatiq.actor(queue_name="maintenance", max_retries=3, time_limit=10 * 60_000)
def purge_expired() -> None:
    """Drop expired JWT denylist entries and Django sessions."""
    housekeeping.run()
