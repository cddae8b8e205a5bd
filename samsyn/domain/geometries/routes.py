"""HTTP route of /api/v1/wfs/ (the legacy GeometryApi view)."""
from __future__ import annotations

import functools
import threading
from typing import Any

from litestar import Request, Response, route
from litestar.params import RawBody

from samsyn.api import views
from samsyn.api.views import Call, View, dispatch
from samsyn.compat import wire
from samsyn.db.reads import reader
from samsyn.domain.geometries import service
from samsyn.errors import BadParameter, NotFound
from samsyn.settings import get_settings

GEOMETRY_API = View(
    name="Geometry Api",
    description="API endpoint for retrieving geometries as GeoJSON.\n\nGET: Retrieve geometries "
                "for a specific source as GeoJSON",
    allow=("GET", "HEAD", "OPTIONS"),
)


@functools.cache
def _wfs_slots() -> threading.BoundedSemaphore:
    """How many wfs handlers of this process hold a pooled connection at once: half the pool,
    so that the views running inline on the event loop always find a free one (waiting for one
    there would stall the loop), and the other wfs threads wait here, not on the pool's
    timeout."""
    return threading.BoundedSemaphore(max(1, get_settings().pool_size // 2))


def _error(call: Call, status: int, message: str) -> Response[Any]:
    """The legacy GeometryApi's error answer: {"error": message}."""
    return views.json_response(GEOMETRY_API, status, wire.render({"error": message}),
                               negotiated=call.negotiated)


def _get(call: Call) -> Response[Any]:
    try:
        with _wfs_slots(), reader() as conn:
            body = service.feature_collection(conn, call.query)
    except BadParameter as exc:
        return _error(call, 400, exc.message)
    except NotFound as exc:
        return _error(call, 404, exc.detail or "")
    return views.ok(GEOMETRY_API, call, body)


# The one view that runs in the thread pool: a wfs answer (up to 10,000 features, megabytes)
# holds its handler for tens of milliseconds, and on the event loop 48 such clients made every
# other request, /ready included, wait behind them (up to 0.8 s); the thread hop (~0.1 ms)
# is nothing beside that. The short views stay inline (views.SYNC_TO_THREAD).
@route("/api/v1/wfs/", http_method=views.ALL_METHODS, sync_to_thread=True)
def geometry_api(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """GET: the geometries of one source as a GeoJSON FeatureCollection."""
    return dispatch(request, body, GEOMETRY_API, {"GET": _get},
                    secret=get_settings().secret_key)
