"""django-cors-headers 4.0.0 `corsheaders.middleware.CorsMiddleware` with the legacy settings.

Legacy settings: CORS_ALLOW_ALL_ORIGINS = True, CORS_ALLOW_CREDENTIALS = False, and the defaults
for the rest (CORS_URLS_REGEX r"^.*$", CORS_ALLOW_HEADERS / CORS_ALLOW_METHODS below,
CORS_PREFLIGHT_MAX_AGE 86400, no CORS_EXPOSE_HEADERS, CORS_ALLOW_PRIVATE_NETWORK False).
Its rules, one function each:

* `is_enabled`: `re.match(CORS_URLS_REGEX, request.path_info)`. `.` does not match a newline
  and `$` matches only at the end or before a final newline, so a path with a newline anywhere
  but at its end gets no CORS handling at all (no preflight answer, no `Vary: origin`).
* `is_preflight` (check_preflight): enabled, method `OPTIONS` and an
  `Access-Control-Request-Method` header present (any value, even empty); the `Origin` header
  is not required. The answer is an empty `HttpResponse` (200, `text/html; charset=utf-8`,
  `Content-Length: 0`) before any URL resolution or view.
* `response_headers` (add_response_headers), on every response of an enabled request:
  `Vary` patched with `origin`; then only when `Origin` is non-empty and `urlsplit()` accepts
  it: `Access-Control-Allow-Origin: *`, and on every OPTIONS request (preflight or not) the
  allow-headers / allow-methods / max-age trio.
* Request headers are read as WSGI presented them: a repeated header is one value, the
  occurrences joined with "," (gunicorn), so `Origin: ` + `Origin: x` is a non-empty origin.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

URLS_REGEX = re.compile(r"^.*$")
ALLOW_HEADERS = ("accept", "authorization", "content-type", "user-agent", "x-csrftoken",
                 "x-requested-with")
ALLOW_METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")
PREFLIGHT_MAX_AGE = 86400

ALLOW_ORIGIN = (b"access-control-allow-origin", b"*")
OPTIONS_HEADERS = (
    (b"access-control-allow-headers", ", ".join(ALLOW_HEADERS).encode()),
    (b"access-control-allow-methods", ", ".join(ALLOW_METHODS).encode()),
    (b"access-control-max-age", str(PREFLIGHT_MAX_AGE).encode()),
)
_VARY_SPLIT = re.compile(rb"\s*,\s*")  # django.utils.cache.cc_delim_re


def request_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """`request.headers.get(name)` under gunicorn: repeated headers joined with ","."""
    values = [value for key, value in headers if key.lower() == name]
    if not values:
        return None
    return ",".join(v.decode("latin-1") for v in values)


def is_enabled(path: str) -> bool:
    return URLS_REGEX.match(path) is not None


def is_preflight(enabled: bool, method: str, access_control_request_method: str | None) -> bool:
    return enabled and method == "OPTIONS" and access_control_request_method is not None


def origin_allowed(origin: str | None) -> bool:
    """An `Origin` the middleware answers (with CORS_ALLOW_ALL_ORIGINS: any that parses)."""
    if not origin:
        return False
    try:
        urlsplit(origin)
    except ValueError:  # e.g. "http://[::1" (Invalid IPv6 URL)
        return False
    return True


def response_headers(method: str, origin: str | None) -> list[tuple[bytes, bytes]]:
    """The Access-Control-* headers of an enabled request's response (Vary aside)."""
    if not origin_allowed(origin):
        return []
    if method == "OPTIONS":
        return [ALLOW_ORIGIN, *OPTIONS_HEADERS]
    return [ALLOW_ORIGIN]


def patch_vary(values: list[bytes]) -> bytes:
    """django.utils.cache.patch_vary_headers(response, ("origin",)) over the response's Vary
    values: `origin` appended unless present in any casing; a `*` makes the whole header `*`."""
    tokens = [t for value in values for t in _VARY_SPLIT.split(value.strip()) if t]
    if b"origin" not in {t.lower() for t in tokens}:
        tokens.append(b"origin")
    if b"*" in tokens:
        return b"*"
    return b", ".join(tokens)
