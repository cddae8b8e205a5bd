"""/ready: the database answers and the schema is at the migrations' head."""
from __future__ import annotations

import time
from typing import Any

from litestar import Response, get
from sqlalchemy import text

from samsyn.api.compat import views
from samsyn.db import engine

READY = b'{"status":"ready"}'
UNAVAILABLE = b'{"status":"database unavailable"}'
PENDING = b'{"status":"migrations pending"}'
# Orchestrators poll /ready every few seconds from several places; one probe per second per
# worker answers them all, and a probe never waits longer than the pool/connect timeouts.
CACHE_SECONDS = 1.0
_last: list[Any] = [0.0, UNAVAILABLE]


def _probe() -> bytes:
    try:
        with engine.get_engine().connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        if engine.is_unavailable(exc):
            engine.breaker.trip()
        return UNAVAILABLE
    from samsyn.db.migrate import head_revision
    return READY if current == head_revision() else PENDING


@get("/ready", sync_to_thread=views.SYNC_TO_THREAD, include_in_schema=False)
def ready() -> Response[Any]:
    """503 until the database is reachable and migrated to head; at once while the database
    is known to be down (the breaker is open)."""
    now = time.monotonic()
    if engine.breaker.open:
        body = UNAVAILABLE
    elif now - _last[0] < CACHE_SECONDS and _last[1] is READY:
        body = READY
    else:
        body = _probe()
        _last[:] = [time.monotonic(), body]
    return Response(content=body, status_code=200 if body is READY else 503,
                    media_type="application/json")
