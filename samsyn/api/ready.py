"""/ready: the database answers and the schema is at the migrations' head."""
from __future__ import annotations

from typing import Any

from litestar import Response, get

from samsyn.api import views
from samsyn.db.readiness import State, readiness

_BODIES = {state: b'{"status":"%s"}' % state.value.encode() for state in State}


@get("/ready", sync_to_thread=views.SYNC_TO_THREAD, include_in_schema=False)
def ready() -> Response[Any]:
    """200 when ready, else 503 and why; the last answer of the process's background probe
    (samsyn.db.readiness), so this never waits for the database."""
    state = readiness.state()
    return Response(content=_BODIES[state], status_code=200 if state is State.READY else 503,
                    media_type="application/json")
