"""The outermost ASGI layer: what Django's middleware did before any view ran.

In the legacy's middleware order: django-cors-headers' CorsMiddleware (samsyn.compat.cors:
preflights answered on any path, before URL resolution), Django's URL resolution with
CommonMiddleware's APPEND_SLASH decision (samsyn.compat.urls: a path no legacy pattern
matches is Django's HTML 404, whatever Litestar's router would fold it into), HEAD served as
GET without a body, SecurityMiddleware / XFrameOptionsMiddleware headers, a request id on every
response, a JSON access log, and a last-resort 500 page that never shows a traceback.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from samsyn.compat import cors, pages, urls

log = logging.getLogger("samsyn.access")

COOKIES_HEADER = b"x-samsyn-set-cookies"
COOKIE_SEPARATOR = b" ||| "
ROUTED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


class Front:
    """Wraps the Litestar app; pure ASGI, no database."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = (_header(scope, b"x-request-id") or uuid.uuid4().hex.encode())[:200]
        method = scope["method"]
        status_holder = [0]
        path = scope["path"]  # Django's path_info; Litestar strips the trailing slash later
        scope["samsyn.path"] = path
        headers_in = scope.get("headers", ())
        cors_enabled = cors.is_enabled(path)
        origin = cors.request_header(headers_in, b"origin")

        if method == "OPTIONS" and cors.is_preflight(cors_enabled, method, cors.request_header(
                headers_in, b"access-control-request-method")):
            headers = [(b"content-type", pages.HTML_TYPE.encode()), (b"content-length", b"0"),
                       (b"vary", b"origin"), *cors.response_headers(method, origin),
                       *SECURITY_HEADERS, (b"x-request-id", request_id)]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            self._log(scope, 200, started, request_id)
            return

        is_head = method == "HEAD"
        if is_head:
            scope = dict(scope, method="GET")
        elif method not in ROUTED_METHODS:
            # Litestar routes only the standard verbs; DRF answers any token with its 405.
            scope = dict(scope, method="TRACE")
        scope["samsyn.method"] = method
        response_started = [False]

        async def wrapped_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                response_started[0] = True
                status_holder[0] = message["status"]
                headers = []
                for key, value in message.get("headers", ()):
                    lower = key.lower()
                    if lower == COOKIES_HEADER:
                        # Litestar keeps one value per header name; Django sent one
                        # Set-Cookie line per cookie, with its own attribute order.
                        headers.extend((b"set-cookie", c) for c in value.split(COOKIE_SEPARATOR))
                    elif lower != b"vary":
                        headers.append((key, value))
                vary = [v for k, v in message.get("headers", ()) if k.lower() == b"vary"]
                if cors_enabled:  # a view that placed `origin` itself keeps Django's order
                    headers.append((b"vary", cors.patch_vary(vary)))
                    headers.extend(cors.response_headers(method, origin))
                elif vary:
                    headers.append((b"vary", b", ".join(vary)))
                if message["status"] not in (301, 308):
                    headers.append((b"x-frame-options", b"DENY"))
                headers.extend(SECURITY_HEADERS)
                headers.append((b"x-request-id", request_id))
                message = dict(message, headers=headers)
            elif is_head and message["type"] == "http.response.body":
                message = dict(message, body=b"")
            await send(message)

        try:
            if urls.resolve(path) is urls.Match.NOT_FOUND:
                body = pages.not_found_page(path)
                await wrapped_send({"type": "http.response.start", "status": 404, "headers": [
                    (b"content-type", pages.HTML_TYPE.encode()),
                    (b"content-length", str(len(body)).encode())]})
                await wrapped_send({"type": "http.response.body", "body": body})
            else:
                await self.app(scope, receive, wrapped_send)
        except Exception:  # never a traceback on the wire
            log.exception("unhandled error", extra={"request_id": request_id.decode("latin-1")})
            if not response_started[0]:
                body = pages.server_error_page()
                await wrapped_send({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", pages.HTML_TYPE.encode()),
                    (b"content-length", str(len(body)).encode())]})
                await wrapped_send({"type": "http.response.body", "body": body})
        self._log(scope, status_holder[0] or 500, started, request_id)

    @staticmethod
    def _log(scope: dict[str, Any], status: int, started: float, request_id: bytes) -> None:
        if log.isEnabledFor(logging.INFO):
            log.info("request", extra={
                "request_id": request_id.decode("latin-1"),
                "method": scope.get("samsyn.method", scope["method"]),
                "path": scope["path"],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 2),
            })
