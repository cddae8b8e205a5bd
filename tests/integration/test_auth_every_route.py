"""Every route of the app answers a valid credential (a JWT, the login key) without a 5xx.

Issue 13: the documentation routes handed the authentication code a different kind of
database handle than the API views did, and answered 500 to every authenticated request.
The routes are enumerated from the app itself, so a new route is covered without editing
this file.
"""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator

import jwt
import psycopg
import pytest

from samsyn.contract_hooks import FIXTURES
from samsyn.settings import DEV_SECRET_KEY
from tests.conftest import Server

PASSWORD = "Str0ng-Pass-123"
# Values for the path parameters of the app's routes (by parameter name).
PARAMS = {"pk": "1", "uid": "1", "token": "abc-123", "key": "MQ:1xUxOa:abc", "path": "x"}
# (any other parameter gets "1")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module")
def routes_server(new_database: Callable[..., str]) -> Iterator[Server]:
    """A server of its own: the requests below write (logout, deletes)."""
    from samsyn.db.migrate import upgrade_head
    url = new_database("routes")
    upgrade_head(url)
    srv = Server(url)
    try:
        yield srv
    finally:
        srv.stop()


def _request(base: str, method: str, path: str, token: str) -> int:
    data = b"{}" if method in UNSAFE else None
    headers = {"Authorization": f"Bearer {token}", "Accept": "*/*"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _jwt(user_id: int) -> str:
    now = int(time.time())
    return jwt.encode({"token_type": "access", "exp": now + 3600, "iat": now,
                       "jti": uuid.uuid4().hex, "user_id": user_id}, DEV_SECRET_KEY,
                      algorithm="HS256")


def _login_key(base: str) -> str:
    req = urllib.request.Request(
        base + "/api/rest-auth/login/", method="POST",
        data=json.dumps({"username": "alice", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return str(json.loads(response.read())["key"])


def _app_requests() -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, with the contract's trailing slash;
    the requests that end the credential (logout) come last."""
    from samsyn.app import create_litestar
    pairs: list[tuple[str, str]] = []
    for route in create_litestar().routes:
        path = re.sub(r"\{(\w+):\w+\}", lambda m: PARAMS.get(m.group(1), "1"), route.path)
        if not path.endswith("/") and not path.endswith(".json") and path not in (
                "/health", "/ready"):
            path += "/"
        for method in sorted(route.methods):
            pairs.append((method, path))
            if path == "/api/schema/" and method == "GET":
                pairs.append((method, path + "?format=json"))
    assert len(pairs) > 100   # the enumeration found the app's routes
    return sorted(pairs, key=lambda p: ("logout" in p[1] and p[0] in UNSAFE, p[1], p[0]))


def test_every_route_accepts_a_valid_jwt_and_login_key(routes_server: Server) -> None:
    with psycopg.connect(routes_server.env["DATABASE_URL"].replace("postgresql+psycopg://",
                                                                   "postgresql://"),
                         autocommit=True) as conn:
        user_id = FIXTURES["create_user"](conn, {"username": "alice", "password": PASSWORD,
                                                 "email": "alice@example.com"})["id"]
        base = routes_server.base_url
        key = _login_key(base)
        failures = []
        for method, path in _app_requests():
            # a fresh JWT per request, a new key once a logout deleted it: every request
            # presents a credential that is valid when it is sent
            if conn.execute("SELECT 1 FROM authtoken_token WHERE key = %s", (key,)).fetchone() \
                    is None:
                key = _login_key(base)
            for kind, token in (("jwt", _jwt(user_id)), ("key", key)):
                status = _request(base, method, path, token)
                if status >= 500:
                    failures.append(f"{method} {path} ({kind}): {status}")
    assert failures == []


def test_docs_routes_answer_200_with_a_valid_credential(routes_server: Server) -> None:
    """The reproduction of issue 13: `Authorization: Bearer <valid JWT>` on the docs pages."""
    with psycopg.connect(routes_server.env["DATABASE_URL"].replace("postgresql+psycopg://",
                                                                   "postgresql://"),
                         autocommit=True) as conn:
        user_id = FIXTURES["create_user"](conn, {"username": "docs", "password": PASSWORD})["id"]
    base = routes_server.base_url
    for path in ("/api/schema/?format=json", "/api/schema/", "/api/swagger/", "/api/redoc/"):
        assert _request(base, "GET", path, _jwt(user_id)) == 200, path
    # an invalid token still fails as simplejwt does
    assert _request(base, "GET", "/api/schema/?format=json", "x" * 20) == 401
