"""HTTP route of /api/v1/wfs/ (the legacy GeometryApi view)."""
from __future__ import annotations

from typing import Any

from litestar.params import RawBody
from litestar import Request, Response, route

from samsyn.api.compat import views, wire
from samsyn.api.compat.views import Call, View, dispatch
from samsyn.api.openapi import LegacyOperation
from samsyn.db.reads import reader
from samsyn.domain.geometries import service
from samsyn.settings import get_settings

GEOMETRY_API = View(
    name="Geometry Api",
    description="API endpoint for retrieving geometries as GeoJSON.\n\nGET: Retrieve geometries "
                "for a specific source as GeoJSON",
    allow=("GET", "HEAD", "OPTIONS"),
)


def _get(call: Call) -> Response[Any]:
    try:
        with reader() as conn:
            body = service.feature_collection(conn, call.query)
    except service.WfsError as exc:
        return views.json_response(GEOMETRY_API, exc.status, wire.render({"error": exc.message}),
                                   negotiated=call.negotiated)
    return views.ok(GEOMETRY_API, call, body)


@route("/api/v1/wfs/", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
       operation_class=LegacyOperation)
def geometry_api(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """GET: the geometries of one source as a GeoJSON FeatureCollection."""
    return dispatch(request, body, GEOMETRY_API, {"GET": _get},
                    secret=get_settings().secret_key)
