"""create_app(): the route, middleware and exception-handler tables; no logic."""
from __future__ import annotations

import logging
from typing import Any

import psycopg
import sqlalchemy.exc
from litestar import Litestar, Request, Response, get
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from psycopg_pool import PoolTimeout

from samsyn import openapi
from samsyn.api import ready, views
from samsyn.api.front import Front
from samsyn.domain.accounts import authentication
from samsyn.domain.accounts import routes as accounts_routes
from samsyn.domain.docs import routes as docs_routes
from samsyn.domain.geometries import routes as geometries_routes
from samsyn.domain.jobs import routes as jobs_routes
from samsyn.domain.layers import routes as layers_routes
from samsyn.domain.projects import routes as projects_routes
from samsyn.domain.sources import routes as sources_routes
from samsyn.errors import DatabaseUnavailable

log = logging.getLogger("samsyn.api")


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return views.html_not_found(views.request_path(request))


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 413:
        return Response(content=b'{"detail":"Request body is too large."}', status_code=413,
                        media_type="application/json")
    if exc.status_code >= 500:
        return views.server_error()
    return Response(content=b'{"detail":"Bad request."}', status_code=exc.status_code,
                    media_type="application/json")


def _server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return views.server_error()


# DRF's ServiceUnavailable text; the legacy answered its 500 page when the database was down
# (contract/DRIFT.md, "Note — database unreachable").
UNAVAILABLE_BODY = b'{"detail":"Service temporarily unavailable, try again later."}'


def _database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    from samsyn.db import engine
    if not engine.is_unavailable(exc):
        return _server_error(request, exc)
    engine.breaker.trip()  # the next requests are refused without waiting for a connection
    return Response(content=UNAVAILABLE_BODY, status_code=503, media_type="application/json",
                    headers={"Retry-After": "1"})


@get("/health", sync_to_thread=False, include_in_schema=False)
def health() -> Response[Any]:
    """Process alive."""
    return Response(content=b'{"status":"ok"}', media_type="application/json")


ROUTES = [
    health,
    sources_routes.source_list,
    sources_routes.source_detail,
    layers_routes.layer_list,
    layers_routes.layer_detail,
    projects_routes.project_list,
    projects_routes.project_detail,
    geometries_routes.geometry_api,
    jobs_routes.job_list,
    jobs_routes.job_detail,
    accounts_routes.user_profile,
    accounts_routes.rest_auth_login,
    accounts_routes.rest_auth_logout,
    accounts_routes.rest_auth_user,
    accounts_routes.rest_auth_password_change,
    accounts_routes.rest_auth_password_reset,
    accounts_routes.rest_auth_password_reset_confirm,
    accounts_routes.password_reset_link,
    accounts_routes.rest_auth_registration,
    accounts_routes.rest_auth_verify_email,
    accounts_routes.rest_auth_resend_email,
    accounts_routes.account_confirm_email,
    accounts_routes.account_email_verification_sent,
    *docs_routes.ROUTES,
]


def create_litestar(*, max_body_bytes: int = 2_621_440) -> Litestar:
    """The Litestar app without the front ASGI layer (tests use it too)."""
    views.use_authentication(authentication.authenticate_request)
    return Litestar(
        route_handlers=[*openapi.document(ROUTES), ready.ready],
        exception_handlers={
            NotFoundException: _not_found,
            MethodNotAllowedException: _not_found,
            HTTPException: _http_error,
            DatabaseUnavailable: _database_error,
            psycopg.Error: _database_error,
            PoolTimeout: _database_error,
            sqlalchemy.exc.SQLAlchemyError: _database_error,
            Exception: _server_error,
        },
        request_max_body_size=max_body_bytes,
        openapi_config=openapi.openapi_config(),  # private: app.openapi_schema only
        debug=False,
    )


def create_app() -> Front:
    """The ASGI application served by `samsyn serve`."""
    import gc

    from samsyn import logs
    from samsyn.db.readiness import readiness
    from samsyn.settings import DEV_SECRET_KEY, get_settings
    settings = get_settings()
    logs.configure(settings.log_level)
    if settings.secret_key == DEV_SECRET_KEY:
        log.warning("SECRET_KEY is the development default: set it to the legacy Django "
                    "SECRET_KEY before serving real users (tokens signed with it are forgeable)")
    app = Front(create_litestar(max_body_bytes=settings.max_body_bytes))
    readiness.start()  # the first /ready then finds an answer, not a probe to wait for
    # Everything built so far lives as long as the worker: keep it out of the collector's
    # sight, or each full collection walks the whole framework (measured 50 ms pauses during
    # a 10,000-feature response, whose row stream allocates a tuple per feature).
    gc.collect()
    gc.freeze()
    return app
