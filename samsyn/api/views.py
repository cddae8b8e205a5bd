"""DRF's APIView.dispatch in one place: slash redirects, negotiation, authentication,
permissions, method routing, OPTIONS metadata and the response headers of every DRF view.

Mirrors DRF 3.14 `APIView.dispatch` / `initial` / `handle_exception` / `finalize_response`,
`SimpleMetadata.determine_metadata` for OPTIONS, `exceptions.MethodNotAllowed` and Django 4.1's
`CommonMiddleware` / `SecurityMiddleware` / `XFrameOptionsMiddleware` response headers.
"""
from __future__ import annotations

import email.utils
import logging
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response

from samsyn.compat import negotiation, pages, parsing, wire
from samsyn.compat.pagination import INVALID_PAGE, InvalidPage
from samsyn.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Throttled,
)

log = logging.getLogger("samsyn.api")

JSON_TYPE = "application/json"
NOT_FOUND = "Not found."
NOT_AUTHENTICATED = "Authentication credentials were not provided."
NOT_ACCEPTABLE = "Could not satisfy the request Accept header."
WWW_AUTHENTICATE = 'Bearer realm="api"'
LIST_CACHE_SECONDS = 300


def throttled(wait: float | None) -> tuple[str, dict[str, str]]:
    """DRF's exceptions.Throttled text and the Retry-After header its exception_handler adds:
    `wait` rounded up (math.ceil), English ngettext's singular for exactly 1, no header for
    a wait of None or 0."""
    text = "Request was throttled."
    if wait is None:
        return text, {}
    seconds = math.ceil(wait)
    unit = "second" if seconds == 1 else "seconds"
    return f"{text} Expected available in {seconds} {unit}.", (
        {"Retry-After": "%d" % seconds} if seconds else {})


@dataclass(frozen=True)
class View:
    """One DRF view of the legacy app, as its OPTIONS and headers describe it."""

    name: str                       # "Source List": the class name split into words
    description: str                # the dedented docstring
    allow: tuple[str, ...]          # in DRF's order
    auth_required: bool = False
    actions: Mapping[str, Any] | None = None   # OPTIONS "actions" (POST or PUT fields)
    actions_need_object: bool = False           # detail views: no actions for a missing object
    cached_list: bool = False       # the legacy cache_page(300): Cache-Control/Expires on 200 GET

    @property
    def allow_header(self) -> str:
        return ", ".join(self.allow)


@dataclass
class Call:
    """What a method handler receives: the request facts DRF exposed, already parsed."""

    request: Request[Any, Any, Any]
    method: str
    query: dict[str, str]            # last value wins, as request.query_params.get
    body: bytes
    user: Any                        # accounts.authentication.AuthUser, or None: anonymous
    negotiated: negotiation.Negotiated
    _data: Any = field(default=None, repr=False)
    _parsed: bool = False

    @property
    def data(self) -> Any:
        """request.data: parsed lazily, as DRF does (parse errors surface when read)."""
        if not self._parsed:
            from samsyn.settings import get_settings
            settings = get_settings()
            self._data = parsing.parse_body(
                self.body, self.request.headers.get("content-type"),
                max_fields=settings.data_upload_max_number_fields,
                max_files=settings.data_upload_max_number_files)
            self._parsed = True
        return self._data

    def absolute_url(self) -> str:
        """request.build_absolute_uri(): scheme + Host verbatim + path + query string."""
        scope = self.request.scope
        headers = self.request.headers
        host = headers.get("host") or "localhost"
        scheme = "http"
        client = scope.get("client")
        if headers.get("x-forwarded-proto", "").lower() == "https" and client and client[0] in (
                "127.0.0.1", "::1"):
            scheme = "https"  # gunicorn's default forwarded_allow_ips, as the legacy ran
        raw_path = scope.get("raw_path") or scope["path"].encode()
        qs = scope.get("query_string", b"")
        url = f"{scheme}://{host}{raw_path.decode('latin-1')}"
        return f"{url}?{qs.decode('latin-1')}" if qs else url


Handler = Callable[[Call], Response[Any]]


_DATE_CACHE: list[Any] = [None, ""]


def http_date(timestamp: float) -> str:
    """RFC 1123 date (cached per second: every list response carries one)."""
    second = int(timestamp)
    if _DATE_CACHE[0] != second:
        _DATE_CACHE[1] = email.utils.formatdate(second, usegmt=True)
        _DATE_CACHE[0] = second
    return _DATE_CACHE[1]


def json_response(view: View, status: int, body: bytes, *, extra: dict[str, str] | None = None,
                  negotiated: negotiation.Negotiated | None = None) -> Response[Any]:
    """A DRF response: JSON (or its indented / browsable variant) with the view's headers."""
    headers = {"Allow": view.allow_header, "Vary": "Accept"}
    media_type = JSON_TYPE
    if negotiated is not None and negotiated.renderer is negotiation.BROWSABLE_API:
        body = pages.browsable_page(view.name, wire.js_safe(body))
        media_type = pages.HTML_MEDIA
        headers["Vary"] = "Accept, Cookie"
        headers.update(set_cookies(csrf_cookie()))
    elif negotiated is not None and (indent := negotiated.indent()) is not None:
        body = wire.js_safe(wire.reindent(body, indent))
    else:
        body = wire.js_safe(body)
    if extra:
        headers.update(extra)
    return Response(content=body, status_code=status, headers=headers, media_type=media_type)


CSRF_MAX_AGE = 31_449_600
SESSION_MAX_AGE = 1_209_600
_TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def random_token(length: int) -> str:
    return "".join(secrets.choice(_TOKEN_CHARS) for _ in range(length))


def cookie(name: str, value: str, max_age: int, *, http_only: bool = False) -> str:
    """A Set-Cookie line in Django's attribute order."""
    flags = "HttpOnly; " if http_only else ""
    return (f"{name}={value}; expires={http_date(time.time() + max_age)}; {flags}"
            f"Max-Age={max_age}; Path=/; SameSite=Lax")


def csrf_cookie() -> str:
    return cookie("csrftoken", random_token(64), CSRF_MAX_AGE)


def set_cookies(*cookies: str) -> dict[str, str]:
    """Headers that make the front layer emit one Set-Cookie line per cookie."""
    from samsyn.api.front import COOKIE_SEPARATOR, COOKIES_HEADER
    return {COOKIES_HEADER.decode(): COOKIE_SEPARATOR.decode().join(cookies)}


def detail(view: View, status: int, text: str, *, extra: dict[str, str] | None = None,
           negotiated: negotiation.Negotiated | None = None) -> Response[Any]:
    return json_response(view, status, wire.render({"detail": text}), extra=extra,
                         negotiated=negotiated)


def no_content(view: View) -> Response[Any]:
    """204: no Content-Type, Content-Length 0 (Litestar would add a media type otherwise)."""
    response: Response[Any] = Response(content=b"", status_code=204, headers={
        "Allow": view.allow_header, "Vary": "Accept", "Content-Length": "0"})
    return response


def html_not_found(path: str) -> Response[Any]:
    return Response(content=pages.not_found_page(path), status_code=404,
                    media_type=pages.HTML_MEDIA)


def server_error() -> Response[Any]:
    return Response(content=pages.server_error_page(), status_code=500, media_type=pages.HTML_MEDIA)


def slash_redirect(request: Request[Any, Any, Any], method: str) -> Response[Any]:
    """APPEND_SLASH: 301 to the slash URL (relative, query re-quoted); 308 for bodies (DRIFT)."""
    from urllib.parse import quote
    # Django: escape_uri_path(request.path) + "/" + "?" + iri_to_uri(QUERY_STRING)
    location = quote(request.scope["path"], safe="/:@&+$,-_.!~*'()") + "/"
    qs = request.scope.get("query_string", b"").decode("latin-1")
    if qs:
        location += "?" + quote(qs, safe="/#%[]=:;$&()+,!?*@'~")
    status = 308 if method in ("POST", "PUT", "PATCH") else 301
    return Response(content=b"", status_code=status, headers={"Location": location},
                    media_type=pages.HTML_MEDIA)


def _metadata(view: View, has_object: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": view.name,
        "description": view.description,
        "renders": [r.media_type for r in negotiation.API_RENDERERS],
        "parses": list(parsing.PARSES),
    }
    if view.actions is not None and (has_object or not view.actions_need_object):
        data["actions"] = view.actions
    return data


def _query_params(request: Request[Any, Any, Any]) -> dict[str, str]:
    """request.query_params (last value wins); ParseError past DATA_UPLOAD_MAX_NUMBER_FIELDS."""
    from samsyn.settings import get_settings
    raw = request.scope.get("query_string", b"")
    if not raw:
        return {}
    # WSGIRequest.GET: QueryDict(the raw bytes, encoding=request.encoding), the Content-Type's
    # charset or UTF-8; raw non-ASCII bytes are text in that charset, not Latin-1.
    charset = parsing.request_encoding(request.headers.get("content-type"))
    max_fields = get_settings().data_upload_max_number_fields
    try:
        return dict(parsing.query_dict(raw, charset, max_fields))
    except (LookupError, UnicodeError):  # a non-text codec as the charset (the legacy: 500)
        return dict(parsing.query_dict(raw, "utf-8", max_fields))


# DRF's DEFAULT_AUTHENTICATION_CLASSES: the accounts domain's rules, handed over by the app
# (samsyn.app.create_litestar), so that this glue imports nothing of the domain above it.
_authenticators: list[Callable[[str | None, str], Any]] = []


def use_authentication(authenticate: Callable[[str | None, str], Any]) -> None:
    """Set the function dispatch() authenticates with: (Authorization header, secret) -> the
    user or None; it raises AuthenticationFailed for a credential it refuses."""
    _authenticators[:] = [authenticate]


def dispatch(request: Request[Any, Any, Any], body: bytes, view: View,
             handlers: Mapping[str, Handler], *, secret: str,
             object_exists: Callable[[], bool] | None = None) -> Response[Any]:
    """Run one request through DRF's APIView.dispatch order.

    Order (DRF initial()): content negotiation (406) -> authentication (401 for a bad token) ->
    permissions (401 when the view needs a user) -> method (405) -> handler.
    """
    method = request.scope.get("samsyn.method", request.method)
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    if raw_path.startswith(b"//"):  # Litestar folds duplicate slashes; Django's URLconf did not
        return html_not_found(request_path(request))
    if not raw_path.endswith(b"/"):
        return slash_redirect(request, method)
    try:
        query = _query_params(request)
    except parsing.ParseError as exc:  # Django read request.GET first, in the negotiation
        return detail(view, 400, exc.detail)
    try:
        negotiated = negotiation.negotiate_api(request.headers.get("accept"), query.get("format"))
    except negotiation.NotAcceptable:
        return detail(view, 406, NOT_ACCEPTABLE)
    except negotiation.UnknownFormat:
        return detail(view, 404, NOT_FOUND)
    try:
        user = _authenticators[0](request.headers.get("authorization"), secret)
        if view.auth_required and user is None:
            raise NotAuthenticated
    except AuthenticationFailed as exc:
        return json_response(view, 401, wire.render(exc.body),
                             extra={"WWW-Authenticate": WWW_AUTHENTICATE}, negotiated=negotiated)
    except NotAuthenticated:
        return detail(view, 401, NOT_AUTHENTICATED, extra={"WWW-Authenticate": WWW_AUTHENTICATE},
                      negotiated=negotiated)
    if method not in view.allow:
        return detail(view, 405, f'Method "{method}" not allowed.', negotiated=negotiated)
    if method == "OPTIONS":
        has_object = object_exists() if object_exists is not None else True
        return json_response(view, 200, wire.render(_metadata(view, has_object)),
                             negotiated=negotiated)
    handler = handlers.get("GET" if method == "HEAD" else method)
    if handler is None:
        return detail(view, 405, f'Method "{method}" not allowed.', negotiated=negotiated)
    call = Call(request=request, method=method, query=query, body=body, user=user,
                negotiated=negotiated)
    try:
        response = handler(call)
    except NotFound as exc:
        return detail(view, 404, exc.detail or NOT_FOUND, negotiated=negotiated)
    except InvalidPage:
        return detail(view, 404, INVALID_PAGE, negotiated=negotiated)
    except (InvalidInput, Conflict) as exc:
        return json_response(view, 400, wire.render(exc.errors), negotiated=negotiated)
    except parsing.ParseError as exc:
        return detail(view, 400, exc.detail, negotiated=negotiated)
    except parsing.UnsupportedMediaType as exc:
        return detail(view, 415, exc.detail, negotiated=negotiated)
    except Throttled as exc:
        text, headers = throttled(exc.wait)
        return detail(view, 429, text, extra=headers, negotiated=negotiated)
    if view.cached_list and method in ("GET", "HEAD") and response.status_code == 200:
        response.headers["Cache-Control"] = f"max-age={LIST_CACHE_SECONDS}"
        response.headers["Expires"] = http_date(time.time() + LIST_CACHE_SECONDS)
    return response


def ok(view: View, call: Call, body: bytes, status: int = 200) -> Response[Any]:
    """A handler's successful JSON response, honouring the negotiated renderer."""
    return json_response(view, status, body, negotiated=call.negotiated)


ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]

# Handlers run on the worker's event loop thread, like the legacy's gunicorn sync workers:
# each request is short and bounded, and the hop to a thread pool cost more CPU than most of
# them (measured ~125 us per request against ~35 us of service work on a source detail).
# Concurrency comes from worker processes (`samsyn serve --workers`), which also overlap the
# database round trips.
SYNC_TO_THREAD = False
# Views that hash a password (PBKDF2, 390,000 rounds: ~0.2 s of C that releases the GIL) run
# in the thread pool so that the worker keeps answering other requests meanwhile.
HASHING_TO_THREAD = True
_MAX_BIGINT = 2**63 - 1


class PathNotFound(Exception):
    """The URL pattern did not match (Django's HTML 404, before any DRF code ran)."""


def path_pk(raw: str) -> int | None:
    """A `<int:pk>`-style path segment: `[0-9]+` or Django's HTML 404; None when beyond bigint
    (the legacy looked it up and answered the JSON 404)."""
    if not raw.isascii() or not raw.isdigit():
        raise PathNotFound
    try:
        value = int(raw)
    except ValueError:  # beyond Python's 4300 digits: Django's converter failed, no match
        raise PathNotFound from None
    return value if value <= _MAX_BIGINT else None


def request_path(request: Request[Any, Any, Any]) -> str:
    """The path as the client sent it (Litestar strips the trailing slash from scope['path'])."""
    raw = request.scope.get("raw_path")
    if raw:
        from urllib.parse import unquote
        return unquote(raw.decode("latin-1"))
    return request.scope["path"]
