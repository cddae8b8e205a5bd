"""Periodic cleanup: expired JWT denylist entries, Django sessions and throttle counters."""
from __future__ import annotations

from samsyn.db.engine import get_sessions
from samsyn.domain.accounts.service import purge_expired


def run() -> tuple[int, int, int]:
    """(denylist rows, session rows, throttle rows) removed."""
    with get_sessions().begin() as db:
        return purge_expired(db)
