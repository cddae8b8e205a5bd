"""HTTP routes of the documentation endpoints.

* `/api/schema/` (drf-spectacular SpectacularAPIView), `/api/swagger/` (SpectacularSwaggerView),
  `/api/redoc/` (SpectacularRedocView): DRF views with their own renderers, so their own variant
  of compat's dispatch: negotiation (406/404) -> authentication (401) -> method (405) -> handler,
  errors rendered by the negotiated renderer (YAML / the TemplateHTMLRenderer status page).
* `/admin/`, `/admin/login/`, `/api-auth/login/`, `/api-auth/logout/`: the Django admin and
  DRF login pages, reduced to their headers (the corpus compares no bodies there).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from email.header import Header
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from litestar import Request, Response, route

from samsyn.api import views
from samsyn.compat import negotiation, pages
from samsyn.domain.accounts import authentication as auth_mod
from samsyn.domain.docs import service
from samsyn.errors import AuthenticationFailed

SCHEMA_ALLOW = "GET, HEAD, OPTIONS"
WWW_AUTHENTICATE = 'Bearer realm="api"'
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"
CSRF_SAFE = ("GET", "HEAD", "OPTIONS", "TRACE")


def _method(request: Request[Any, Any, Any]) -> str:
    return request.scope.get("samsyn.method", request.method)


def _query(request: Request[Any, Any, Any]) -> dict[str, str]:
    """request.GET.get semantics: last value wins, UTF-8 with replacement."""
    qs = request.scope.get("query_string", b"").decode("latin-1")
    return dict(parse_qsl(qs, keep_blank_values=True, encoding="utf-8", errors="replace"))


def _url_problem(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Django URL resolution before any view: `//x` is an unknown URL, a slash-less URL
    redirects (APPEND_SLASH)."""
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    if raw_path.startswith(b"//"):
        return views.html_not_found(views.request_path(request))
    if not raw_path.endswith(b"/"):
        return views.slash_redirect(request, _method(request))
    return None


def _authentication_error(request: Request[Any, Any, Any]) -> AuthenticationFailed | None:
    """simplejwt JWTAuthentication (DEFAULT_AUTHENTICATION_CLASSES, also on the schema views):
    only a Bearer header is examined; an invalid one fails even though the views allow anyone."""
    from samsyn.settings import get_settings
    try:
        auth_mod.authenticate_request(request.headers.get("authorization"),
                                      get_settings().secret_key)
    except AuthenticationFailed as exc:
        return exc
    return None


# ---------------------------------------------------------------------------------------------
# /api/schema/

def _schema_response(status: int, body: bytes, negotiated: negotiation.Negotiated,
                     extra: dict[str, str] | None = None) -> Response[Any]:
    headers = {"Allow": SCHEMA_ALLOW, "Vary": "Accept"}
    if extra:
        headers.update(extra)
    return Response(content=body, status_code=status, headers=headers,
                    media_type=negotiated.renderer.content_type)


def _schema_error(status: int, text: str, code: str, negotiated: negotiation.Negotiated,
                  extra: dict[str, str] | None = None) -> Response[Any]:
    body = service.render_error({"detail": service.ErrorDetail(text, code)}, negotiated)
    return _schema_response(status, body, negotiated, extra)


def schema_dispatch(request: Request[Any, Any, Any]) -> Response[Any]:
    """SpectacularAPIView through DRF's dispatch."""
    problem = _url_problem(request)
    if problem is not None:
        return problem
    method = _method(request)
    query = _query(request)
    accept = request.headers.get("accept")
    fmt = query.get("format")
    try:
        negotiated = negotiation.negotiate(service.SCHEMA_RENDERERS, accept, fmt)
    except negotiation.NotAcceptable:
        forced = negotiation.force_renderer(service.SCHEMA_RENDERERS, accept, fmt)
        return _schema_error(406, "Could not satisfy the request Accept header.",
                             "not_acceptable", forced)
    except negotiation.UnknownFormat:
        forced = negotiation.force_renderer(service.SCHEMA_RENDERERS, accept, fmt)
        return _schema_error(404, "Not found.", "not_found", forced)
    failure = _authentication_error(request)
    if failure is not None:
        body = service.render_error(
            service.error_details(failure.body, service.auth_error_code(failure.body)), negotiated)
        return _schema_response(401, body, negotiated, {"WWW-Authenticate": WWW_AUTHENTICATE})
    if method not in ("GET", "HEAD", "OPTIONS"):
        return _schema_error(405, f'Method "{method}" not allowed.', "method_not_allowed",
                             negotiated)
    if method == "OPTIONS":
        metadata = service.schema_metadata()
        if negotiated.renderer.format == "json":
            indent = negotiated.indent(service.SCHEMA_JSON_INDENT)
            return _schema_response(200, service.render_json(metadata, indent),
                                    negotiated)
        # DRIFT (http-039): the legacy's YAML renderer could not represent the metadata
        # OrderedDict (500 RepresenterError); samsyn answers what the legacy answered for
        # `Accept: application/json`.
        as_json = negotiation.Negotiated(service.JSON2, service.JSON2.media_type)
        return _schema_response(200, service.render_json(metadata, 4), as_json)
    lang = service.schema_language(query.get("lang"))
    version = query.get("version") or None
    if version and any(ord(c) < 0x20 or c == "\x7f" for c in version):
        # Django raised BadHeaderError (a 500) for a control character in the filename; no
        # 5xx on input: DRF's answer to a version it cannot serve (QueryParameterVersioning)
        return _schema_error(404, "Invalid version in query parameter.", "not_found",
                             negotiated)
    body = service.schema_body(lang, negotiated, version)
    disposition = f'inline; filename="{service.schema_filename(negotiated.renderer, version)}"'
    try:
        disposition.encode("latin-1")
    except UnicodeEncodeError:  # Django MIME-encodes header values that are not latin-1
        disposition = Header(disposition, "utf-8", maxlinelen=sys.maxsize).encode()
    return _schema_response(200, body, negotiated, {"Content-Disposition": disposition})


@route("/api/schema/", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD)
def schema(request: Request[Any, Any, Any]) -> Response[Any]:
    """GET /api/schema/: the OpenAPI document (YAML or JSON, ?lang=de|fr)."""
    return schema_dispatch(request)


# ---------------------------------------------------------------------------------------------
# /api/swagger/, /api/redoc/ (TemplateHTMLRenderer only: no `Vary: Accept`)

def _page_response(status: int, body: bytes, extra: dict[str, str] | None = None) -> Response[Any]:
    headers = {"Allow": SCHEMA_ALLOW}
    if extra:
        headers.update(extra)
    return Response(content=body, status_code=status, headers=headers,
                    media_type=pages.HTML_MEDIA)


def page_dispatch(request: Request[Any, Any, Any],
                  render: Callable[[Request[Any, Any, Any], dict[str, str]], Response[Any]]
                  ) -> Response[Any]:
    problem = _url_problem(request)
    if problem is not None:
        return problem
    method = _method(request)
    query = _query(request)
    try:
        negotiation.negotiate((service.HTML,), request.headers.get("accept"), query.get("format"))
    except negotiation.NotAcceptable:
        return _page_response(406, service.status_page(406))
    except negotiation.UnknownFormat:
        return _page_response(404, service.status_page(404))
    if _authentication_error(request) is not None:
        return _page_response(401, service.status_page(401),
                              {"WWW-Authenticate": WWW_AUTHENTICATE})
    if method not in ("GET", "HEAD", "OPTIONS"):
        return _page_response(405, service.status_page(405))
    # OPTIONS: not recorded (the legacy rendered the page template with the metadata as
    # context); the page itself is served.
    return render(request, query)


def _swagger(request: Request[Any, Any, Any], query: dict[str, str]) -> Response[Any]:
    secret = service.csrf_secret(request.headers.get("cookie"))
    body = service.swagger_page(service.mask_secret(secret), query.get("lang"),
                                query.get("version"))
    return _page_response(200, body, {"Vary": "Cookie",
                                      "Set-Cookie": service.csrf_set_cookie(secret, time.time())})


def _redoc(request: Request[Any, Any, Any], query: dict[str, str]) -> Response[Any]:
    return _page_response(200, service.redoc_page(query.get("lang"), query.get("version")))


@route("/api/swagger/", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
       include_in_schema=False)
def swagger(request: Request[Any, Any, Any]) -> Response[Any]:
    """GET /api/swagger/: Swagger UI (sets the CSRF cookie)."""
    return page_dispatch(request, _swagger)


@route("/api/redoc/", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
       include_in_schema=False)
def redoc(request: Request[Any, Any, Any]) -> Response[Any]:
    """GET /api/redoc/: ReDoc."""
    return page_dispatch(request, _redoc)


# ---------------------------------------------------------------------------------------------
# Django admin and DRF login pages (anonymous only: samsyn has no Django sessions)

def _never_cache(headers: dict[str, str]) -> dict[str, str]:
    """django.views.decorators.cache.never_cache."""
    headers["Expires"] = views.http_date(time.time())
    headers["Cache-Control"] = NEVER_CACHE
    return headers


def _html(status: int, body: bytes, headers: dict[str, str]) -> Response[Any]:
    return Response(content=body, status_code=status, headers=headers, media_type=pages.HTML_MEDIA)


def _csrf_failure() -> Response[Any]:
    """CsrfViewMiddleware rejects unsafe methods without a CSRF cookie/token (before the view)."""
    body = (b'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
            b"<title>403 Forbidden</title></head>\n<body>\n<h1>Forbidden <span>(403)</span></h1>\n"
            b"<p>CSRF verification failed. Request aborted.</p>\n</body>\n</html>\n")
    return _html(403, body, {})


def _form_page(title: str, action: str, token: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en-us">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n"
        f'<form action="{action}" method="post">\n'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">\n'
        '<label for="id_username">Username:</label> '
        '<input type="text" name="username" id="id_username" autofocus required>\n'
        '<label for="id_password">Password:</label> '
        '<input type="password" name="password" id="id_password" required>\n'
        '<input type="submit" value="Log in">\n</form>\n</body>\n</html>\n'
    ).encode()


def _full_path(request: Request[Any, Any, Any]) -> str:
    raw_path = (request.scope.get("raw_path") or request.scope["path"].encode()).decode("latin-1")
    qs = request.scope.get("query_string", b"").decode("latin-1")
    return f"{raw_path}?{qs}" if qs else raw_path


def _login_view(request: Request[Any, Any, Any], title: str) -> Response[Any]:
    """django.contrib.auth.views.LoginView (admin login and DRF's api-auth login)."""
    method = _method(request)
    if method not in CSRF_SAFE:
        return _csrf_failure()
    allow = "GET, POST, PUT, HEAD, OPTIONS"
    if method == "OPTIONS":
        return _html(200, b"", _never_cache({"Allow": allow}))
    if method == "TRACE":
        return _html(405, b"", _never_cache({"Allow": allow}))
    secret = service.csrf_secret(request.headers.get("cookie"))
    body = _form_page(title, _full_path(request), service.mask_secret(secret))
    return _html(200, body, _never_cache({
        "Vary": "Cookie", "Set-Cookie": service.csrf_set_cookie(secret, time.time())}))


# AdminSite.get_urls views wrapped with cacheable=True: admin_view adds no never_cache.
_ADMIN_CACHEABLE = frozenset({"password_change/", "password_change/done/", "jsi18n/"})
_ESCAPE_URI_PATH_SAFE = "/:@&+$,-_.!~*'()"   # django.utils.encoding.escape_uri_path
_IRI_TO_URI_SAFE = "/#%[]=:;$&()+,!?*@'~"    # django.utils.encoding.iri_to_uri


def admin_login_url(path: str, query_string: str) -> str:
    """redirect_to_login(request.get_full_path(), "/admin/login/"): get_full_path() is
    escape_uri_path(path) + "?" + iri_to_uri(QUERY_STRING), put in `next` by
    QueryDict.urlencode(safe="/") (UTF-8, only `/` left unquoted)."""
    full = quote(path, safe=_ESCAPE_URI_PATH_SAFE)
    if query_string:
        full += "?" + quote(query_string, safe=_IRI_TO_URI_SAFE)
    return "/admin/login/?next=" + quote(full, safe="/")


def admin_site(request: Request[Any, Any, Any]) -> Response[Any]:
    """django.contrib.admin.AdminSite.urls for an anonymous client (samsyn has no sessions).

    Every path under /admin/ matches one of its patterns (the last is catch_all_view's
    `(?P<url>.*)$`; the front layer already answered Django's 404 for what matches nothing).
    All but `login/` are wrapped in admin_view: csrf_protect (unsafe methods without a CSRF
    token: 403), then, without a staff user, `logout/` redirects to the index and everything
    else to the login page with `next=` the full path; never_cache unless cacheable.
    """
    path = request.scope.get("samsyn.path") or views.request_path(request)
    if not path.startswith("/admin/"):  # `/admin`: APPEND_SLASH
        return views.slash_redirect(request, _method(request))
    url = path[len("/admin/"):]
    if url == "login/":
        return _login_view(request, "Log in | Django site admin")
    if _method(request) not in CSRF_SAFE:
        return _csrf_failure()
    if url == "logout/":
        location = "/admin/"
    else:
        location = admin_login_url(path, request.scope.get("query_string", b"").decode("latin-1"))
    headers = {"Location": location, "Vary": "origin, Cookie"}
    if url not in _ADMIN_CACHEABLE:
        _never_cache(headers)
    return _html(302, b"", headers)


@route("/admin/", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
       include_in_schema=False)
def admin_index(request: Request[Any, Any, Any]) -> Response[Any]:
    """GET /admin/: anonymous -> 302 to the admin login (never_cache, session read)."""
    return admin_site(request)


@route("/admin/{url:path}", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
       include_in_schema=False)
def admin_pages(request: Request[Any, Any, Any]) -> Response[Any]:
    """Everything else under /admin/ (login/ included: Litestar folds `//`, the admin site
    decides on the path as sent)."""
    return admin_site(request)


@route("/api-auth/login/", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
       include_in_schema=False)
def api_auth_login(request: Request[Any, Any, Any]) -> Response[Any]:
    """GET /api-auth/login/: DRF's browsable-API login form (sets the CSRF cookie)."""
    return _url_problem(request) or _login_view(request, "Django REST framework")


def _safe_next(target: str, host: str | None) -> bool:
    """url_has_allowed_host_and_scheme(target, {request host}) for the common cases."""
    if not target or target.startswith("///") or "\\" in target:
        return False
    parts = urlsplit(target)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return False
    if not parts.netloc:
        return not parts.scheme
    return parts.netloc == host


@route("/api-auth/logout/", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
       include_in_schema=False)
def api_auth_logout(request: Request[Any, Any, Any]) -> Response[Any]:
    """GET /api-auth/logout/: Django 4.1 LogoutView (GET still logs out): the session is
    flushed (`Vary: Cookie`, a presented sessionid cookie is deleted) and the "Logged out" page
    rendered, or a redirect to `?next=` / to the bare path when a query string was sent."""
    problem = _url_problem(request)
    if problem is not None:
        return problem
    method = _method(request)
    if method not in CSRF_SAFE:
        return _csrf_failure()
    allow = "GET, HEAD, POST, OPTIONS"
    if method == "OPTIONS":
        return _html(200, b"", _never_cache({"Allow": allow}))
    if method == "TRACE":
        return _html(405, b"", _never_cache({"Allow": allow}))
    headers = _never_cache({"Vary": "origin, Cookie"})
    if "sessionid" in service.parse_cookies(request.headers.get("cookie")):
        headers["Set-Cookie"] = ('sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; '
                                 "Max-Age=0; Path=/; SameSite=Lax")
    target = _query(request).get("next")
    path = views.request_path(request)
    if target and _safe_next(target, request.headers.get("host")):
        # HttpResponseRedirect sets Location to iri_to_uri(target): non-ASCII and control
        # characters percent-encoded (RFC 3987 §3.1), the URI's own delimiters kept
        return _html(302, b"", dict(headers, Location=quote(target, safe="/#%[]=:;$&()+,!?*@'~")))
    if request.scope.get("query_string"):
        return _html(302, b"", dict(headers, Location=quote(path, safe="/:@&+$,-_.!~*'()")))
    body = (b'<!DOCTYPE html>\n<html lang="en-us">\n<head>\n<meta charset="utf-8">\n'
            b"<title>Logged out | Django site admin</title>\n</head>\n<body>\n"
            b"<p>Thanks for spending some quality time with the web site today.</p>\n"
            b'<p><a href="/admin/">Log in again</a></p>\n</body>\n</html>\n')
    return _html(200, body, headers)


ROUTES = [schema, swagger, redoc, admin_index, admin_pages, api_auth_login, api_auth_logout]
