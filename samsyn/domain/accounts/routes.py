"""HTTP route of /api/v1/user-profile/ (the legacy UserProfileView)."""
from __future__ import annotations

from typing import Any

from litestar import Request, Response, route

from samsyn.api.compat import views, wire
from samsyn.api.compat.validation import metadata
from samsyn.api.compat.views import Call, View, dispatch, ok
from samsyn.db.engine import get_read_sessions, get_sessions
from samsyn.domain.accounts import schemas, service
from samsyn.settings import get_settings

USER_PROFILE = View(
    name="User Profile",
    description="API endpoint for retrieving and updating the authenticated user's profile.",
    allow=("GET", "PUT", "PATCH", "HEAD", "OPTIONS"),
    auth_required=True,
    actions={"PUT": metadata(schemas.PROFILE_FIELDS)},
)


def _user_id(call: Call) -> int:
    assert call.user is not None  # the view requires authentication
    return call.user.id


def _retrieve(call: Call) -> Response[Any]:
    with get_read_sessions()() as db:
        out = service.get_profile(db, _user_id(call))
    return ok(USER_PROFILE, call, wire.encode_struct(out))


def _update(call: Call, partial: bool) -> Response[Any]:
    with get_sessions().begin() as db:
        out = service.update_profile(db, _user_id(call), lambda: call.data, partial=partial)
    return ok(USER_PROFILE, call, wire.encode_struct(out))


@route("/api/v1/user-profile/", http_method=views.ALL_METHODS, sync_to_thread=True)
def user_profile(request: Request[Any, Any, Any], body: bytes) -> Response[Any]:
    """GET/PUT/PATCH the authenticated user's profile."""
    return dispatch(request, body, USER_PROFILE,
                    {"GET": _retrieve, "PUT": lambda c: _update(c, False),
                     "PATCH": lambda c: _update(c, True)},
                    session_factory=get_read_sessions(), secret=get_settings().secret_key)
