"""Credentials end like sessions (issue 13): a password change or reset ends the login key and
every JWT issued before it; a login key ends after SAMSYN_LOGIN_KEY_LIFETIME. Over HTTP on a
running server and a real PostgreSQL."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import psycopg
import pytest

from samsyn.contract_hooks import FIXTURES
from samsyn.settings import DEV_SECRET_KEY
from tests.conftest import Server

PASSWORD = "Str0ng-Pass-123"
NEW_PASSWORD = "N3w-Passw0rd!"
INVALID = {"detail": "Given token not valid for any token type", "code": "token_not_valid",
           "messages": [{"token_class": "AccessToken", "token_type": "access",
                         "message": "Token is invalid or expired"}]}


def _call(server: Server, method: str, path: str, *, token: str | None = None,
          body: dict[str, Any] | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.base_url + path, data=data, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    return status, json.loads(raw) if raw else None


def _jwt(user_id: int, *, iat_offset: int = 0) -> str:
    now = int(time.time()) + iat_offset
    return jwt.encode({"token_type": "access", "exp": now + 3600, "iat": now,
                       "jti": uuid.uuid4().hex, "user_id": user_id}, DEV_SECRET_KEY,
                      algorithm="HS256")


@pytest.fixture
def conn(migrated_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(migrated_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as c:
        yield c


def _user(conn: psycopg.Connection) -> tuple[str, int]:
    username = "u" + uuid.uuid4().hex[:12]
    user_id = FIXTURES["create_user"](conn, {"username": username, "password": PASSWORD,
                                             "email": f"{username}@example.com"})["id"]
    return username, user_id


def _login(server: Server, username: str, password: str = PASSWORD) -> str:
    status, body = _call(server, "POST", "/api/rest-auth/login/",
                         body={"username": username, "password": password})
    assert status == 200, body
    return str(body["key"])


def _me(server: Server, token: str) -> tuple[int, Any]:
    return _call(server, "GET", "/api/rest-auth/user/", token=token)


def test_password_change_with_a_jwt_ends_the_key_and_the_other_jwts(
        server: Server, conn: psycopg.Connection) -> None:
    username, user_id = _user(conn)
    key = _login(server, username)
    presented, other = _jwt(user_id, iat_offset=-5), _jwt(user_id, iat_offset=-5)
    assert _me(server, key)[0] == 200 and _me(server, other)[0] == 200

    status, body = _call(server, "POST", "/api/rest-auth/password/change/", token=presented,
                         body={"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert (status, body) == (200, {"detail": "New password has been saved."})

    unknown_key = _me(server, "0" * 40)
    assert unknown_key == (401, INVALID)
    assert _me(server, key) == unknown_key           # the key is gone: the unknown-key answer
    assert _me(server, other) == (401, INVALID)       # issued before the change
    assert _me(server, presented) == (401, INVALID)
    assert conn.execute("SELECT count(*) FROM authtoken_token WHERE user_id = %s",
                        (user_id,)).fetchone() == (0,)
    # what is issued after the change works (the same second included: iat is whole seconds)
    assert _me(server, _jwt(user_id))[0] == 200
    fresh = _login(server, username, NEW_PASSWORD)
    assert fresh != key and _me(server, fresh)[0] == 200
    assert _login(server, username, NEW_PASSWORD) == fresh   # stable until it ends


def test_password_change_with_the_key_ends_the_jwts(server: Server,
                                                     conn: psycopg.Connection) -> None:
    username, user_id = _user(conn)
    key = _login(server, username)
    old = _jwt(user_id, iat_offset=-5)
    status, _ = _call(server, "POST", "/api/rest-auth/password/change/", token=key,
                      body={"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert status == 200
    assert _me(server, old) == (401, INVALID)
    assert _me(server, key) == (401, INVALID)


def test_password_reset_ends_the_key_and_the_jwts(server: Server,
                                                  conn: psycopg.Connection) -> None:
    username, user_id = _user(conn)
    key = _login(server, username)
    old = _jwt(user_id, iat_offset=-5)
    minted = FIXTURES["password_reset_token"](conn, {"username": username})
    status, body = _call(server, "POST", "/api/rest-auth/password/reset/confirm/",
                         body={**minted, "new_password1": NEW_PASSWORD,
                               "new_password2": NEW_PASSWORD})
    assert status == 200, body
    assert _me(server, key) == (401, INVALID)
    assert _me(server, old) == (401, INVALID)
    assert _me(server, _jwt(user_id))[0] == 200
    assert _login(server, username, NEW_PASSWORD) != key


def test_a_failed_password_change_ends_nothing(server: Server, conn: psycopg.Connection) -> None:
    username, user_id = _user(conn)
    key = _login(server, username)
    token = _jwt(user_id, iat_offset=-5)
    status, _ = _call(server, "POST", "/api/rest-auth/password/change/", token=token,
                      body={"new_password1": "123", "new_password2": "123"})
    assert status == 400
    assert _me(server, key)[0] == 200 and _me(server, token)[0] == 200


def test_login_key_ends_after_its_lifetime(server: Server, conn: psycopg.Connection) -> None:
    username, user_id = _user(conn)
    key = _login(server, username)
    # 13 days old: still valid (the default lifetime is 14 days)
    conn.execute("UPDATE authtoken_token SET created = now() - interval '13 days' "
                 "WHERE key = %s", (key,))
    assert _me(server, key)[0] == 200
    assert _login(server, username) == key
    conn.execute("UPDATE authtoken_token SET created = now() - interval '15 days' "
                 "WHERE key = %s", (key,))
    assert _me(server, key) == _me(server, "0" * 40) == (401, INVALID)
    assert conn.execute("SELECT 1 FROM authtoken_token WHERE key = %s", (key,)).fetchone() is None
    fresh = _login(server, username)
    assert fresh != key and _me(server, fresh)[0] == 200
    # an ended key that was not presented since is replaced at the next login, too
    conn.execute("UPDATE authtoken_token SET created = now() - interval '15 days' "
                 "WHERE key = %s", (fresh,))
    assert _login(server, username) not in (key, fresh)


def test_login_key_lifetime_is_configurable(migrated_url: str, conn: psycopg.Connection) -> None:
    short = Server(migrated_url, extra_env={"SAMSYN_LOGIN_KEY_LIFETIME": "60"})
    try:
        username, _ = _user(conn)
        key = _login(short, username)
        assert _me(short, key)[0] == 200
        conn.execute("UPDATE authtoken_token SET created = now() - interval '61 seconds' "
                     "WHERE key = %s", (key,))
        assert _me(short, key) == (401, INVALID)
        assert _login(short, username) != key
    finally:
        short.stop()
