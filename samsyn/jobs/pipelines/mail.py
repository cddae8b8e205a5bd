"""Deliver the mail outbox: one pass, its own transaction (failures stay queued)."""
from __future__ import annotations

import logging

from samsyn.domain.accounts.mail import deliver_outbox

log = logging.getLogger("samsyn.jobs")


def run(limit: int = 100) -> tuple[int, int]:
    """(sent, failed) of one delivery pass; repeated until the outbox holds no more sendable
    mail or a pass fails everything (the next scheduled pass retries)."""
    total_sent = total_failed = 0
    while True:
        sent, failed = deliver_outbox(limit=limit)
        total_sent += sent
        total_failed += failed
        if sent + failed < limit or sent == 0:
            break
    if total_sent or total_failed:
        log.info("mail outbox: %d sent, %d failed", total_sent, total_failed)
    return total_sent, total_failed
