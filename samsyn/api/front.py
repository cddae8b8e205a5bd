"""The outermost ASGI layer: what Django's middleware did before any view ran.

CORS (django-cors-headers with CORS_ALLOW_ALL_ORIGINS: preflights answered on any path),
HEAD served as GET without a body, the security headers, `Vary: origin`, a request id on every
response, a JSON access log, and a last-resort 500 page that never shows a traceback.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from samsyn.api.compat import pages

log = logging.getLogger("samsyn.access")

PREFLIGHT_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-headers",
     b"accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with"),
    (b"access-control-allow-methods", b"DELETE, GET, OPTIONS, PATCH, POST, PUT"),
    (b"access-control-max-age", b"86400"),
]
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
        origin = _header(scope, b"origin")
        method = scope["method"]
        status_holder = [0]

        if method == "OPTIONS" and origin is not None and _header(
                scope, b"access-control-request-method") is not None:
            headers = [(b"content-type", pages.HTML_TYPE.encode()), (b"content-length", b"0"),
                       (b"vary", b"origin"), *PREFLIGHT_HEADERS, *SECURITY_HEADERS,
                       (b"x-request-id", request_id)]
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
                tokens = [t.strip().lower() for v in vary for t in v.split(b",")]
                if b"origin" in tokens:  # the view placed `origin` itself (Django's order)
                    vary_value = b", ".join(vary)
                else:
                    vary_value = b", ".join(vary + [b"origin"]) if vary else b"origin"
                headers.append((b"vary", vary_value))
                if origin is not None:
                    headers.extend(PREFLIGHT_HEADERS if method == "OPTIONS" else PREFLIGHT_HEADERS[:1])
                if message["status"] not in (301, 308):
                    headers.append((b"x-frame-options", b"DENY"))
                headers.extend(SECURITY_HEADERS)
                headers.append((b"x-request-id", request_id))
                message = dict(message, headers=headers)
            elif is_head and message["type"] == "http.response.body":
                message = dict(message, body=b"")
            await send(message)

        try:
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
