"""Deliver the mail outbox: passes of up to `limit` due messages, each message in its own
transaction (failures wait for their retry time, see samsyn.domain.accounts.mail)."""
from __future__ import annotations

import logging

from samsyn.domain.accounts.mail import deliver_outbox

log = logging.getLogger("samsyn.jobs")


def run(limit: int = 100) -> tuple[int, int]:
    """(sent, failed) of the delivery passes, repeated until no due mail is left or a pass
    sends nothing (the server is down: the next scheduled run retries)."""
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
