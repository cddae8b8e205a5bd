"""Login and password-reset throttling (issue 9 item 3): DRF's 429 body and Retry-After, per
client address (every attempt) and per account (failed logins; every reset request), counters
in PostgreSQL shared by every API process. Over HTTP on running servers, each module's servers
on a database of their own so no other test's requests count."""
from __future__ import annotations

import itertools
import json
import math
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from samsyn.contract_hooks import FIXTURES
from tests.conftest import Server

PASSWORD = "Str0ng-Pass-123"
LOGIN = "/api/rest-auth/login/"
RESET = "/api/rest-auth/password/reset/"
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with provided credentials."]}
RESET_SENT = {"detail": "Password reset e-mail has been sent."}
DAY = 86_400


def _call(server: Server, path: str, body: Any, *, client: str | None = None,
          raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    headers = {"Content-Type": "application/json"}
    if client is not None:
        headers["X-Forwarded-For"] = client
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(server.base_url + path, data=data, method="POST",
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            content, status, got = response.read(), response.status, response.headers
    except urllib.error.HTTPError as exc:
        content, status, got = exc.read(), exc.code, exc.headers
    return status, {k.lower(): v for k, v in got.items()}, json.loads(content) if content else None


def _login(server: Server, username: str, password: str = PASSWORD, *,
           client: str | None = None) -> tuple[int, dict[str, str], Any]:
    return _call(server, LOGIN, {"username": username, "password": password}, client=client)


def _assert_throttled(got: tuple[int, dict[str, str], Any], window: int) -> int:
    """DRF's 429: the exact body, Retry-After = the whole seconds left in the fixed window."""
    status, headers, body = got
    assert status == 429, body
    wait = int(headers["retry-after"])
    left = window - time.time() % window
    assert math.floor(left) <= wait <= math.ceil(left) + 1, (wait, left)
    unit = "second" if wait == 1 else "seconds"
    assert body == {"detail": f"Request was throttled. Expected available in {wait} {unit}."}
    assert headers["content-type"] == "application/json"
    assert headers["allow"] == "POST, OPTIONS" and headers["vary"] == "Accept, origin"
    return wait


def _away_from_window_end(window: int, margin: float) -> None:
    """Sleep past the end of the current window when fewer than `margin` seconds are left, so
    that a test's requests all fall into one window."""
    left = window - time.time() % window
    if left < margin:
        time.sleep(left + 0.05)


# A client address of its own per call: 198.18.0.0/15 (RFC 2544) holds 131,072 of them, where a
# random pick among 250 addresses shared one with an address another step had throttled.
_addresses = itertools.count(1)


def _ip() -> str:
    n = next(_addresses)
    return f"198.{18 + n // 65536 % 2}.{n // 256 % 256}.{n % 256}, 10.0.0.{n % 250 + 1}"


@pytest.fixture(scope="module")
def own_url(new_database: Callable[..., str]) -> str:
    from samsyn.db.migrate import upgrade_head
    url = new_database("throttle")
    upgrade_head(url)
    return url


@pytest.fixture(scope="module")
def conn(own_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(own_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as c:
        yield c


def _user(conn: psycopg.Connection) -> tuple[str, str]:
    username = "t" + uuid.uuid4().hex[:12]
    FIXTURES["create_user"](conn, {"username": username, "password": PASSWORD,
                                   "email": f"{username}@example.com"})
    return username, f"{username}@example.com"


# Behind a trusted proxy: every test gets client addresses of its own (X-Forwarded-For).
PROXIED = {"SAMSYN_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
           "SAMSYN_THROTTLE_LOGIN_IP": "6/day", "SAMSYN_THROTTLE_LOGIN_ACCOUNT": "3/day",
           "SAMSYN_THROTTLE_PASSWORD_RESET_IP": "4/day",
           "SAMSYN_THROTTLE_PASSWORD_RESET_ACCOUNT": "2/day"}


@pytest.fixture(scope="module")
def pair(own_url: str) -> Iterator[tuple[Server, Server]]:
    """Two API processes on one database: they share the counters."""
    first = Server(own_url, extra_env=PROXIED)
    try:
        second = Server(own_url, extra_env=PROXIED)
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_every_login_attempt_counts_per_address_across_processes(
        pair: tuple[Server, Server], conn: psycopg.Connection) -> None:
    # Given two processes and a client address allowed 6 login attempts a day
    _away_from_window_end(DAY, 30)
    first, second = pair
    address = _ip()
    users = [_user(conn)[0] for _ in range(3)]
    # When it makes them on both processes: successes, failures and invalid bodies alike
    assert _login(first, users[0], client=address)[0] == 200
    assert _login(second, users[1], client=address)[0] == 200
    assert _login(first, users[2], "wrong", client=address)[:3:2] == (400, BAD_CREDENTIALS)
    assert _call(second, LOGIN, {"username": users[0]}, client=address)[0] == 400
    assert _call(first, LOGIN, None, client=address, raw=b"{not json")[0] == 400
    assert _login(second, "nobody-" + users[0], client=address)[0] == 400
    # Then the 7th is DRF's 429 on either process, even with the right password
    _assert_throttled(_login(first, users[0], client=address), DAY)
    _assert_throttled(_login(second, users[1], client=address), DAY)
    # And another client address is not affected; the throttled requests were not counted
    assert _login(first, users[0], client=_ip())[0] == 200
    assert conn.execute("SELECT hits FROM samsyn_throttle WHERE scope = 'login_ip' AND key = %s",
                        (address.split(",")[0],)).fetchone() == (7,)


def test_failed_logins_count_per_account_and_successes_do_not(
        pair: tuple[Server, Server], conn: psycopg.Connection) -> None:
    # Given an account allowed 3 failed logins a day
    _away_from_window_end(DAY, 30)
    first, second = pair
    username, _ = _user(conn)
    other, _ = _user(conn)
    # When its owner logs in often, the logins do not count against it
    for server in (first, second, first, second):
        assert _login(server, username, client=_ip())[0] == 200
    # But 3 failed logins from 3 addresses on both processes use the account's allowance up
    for server in (first, second, first):
        assert _login(server, username, "wrong", client=_ip())[:3:2] == (400, BAD_CREDENTIALS)
    # Then the next attempt is a 429 from any address, the right password included
    _assert_throttled(_login(second, username, "wrong", client=_ip()), DAY)
    _assert_throttled(_login(first, username, client=_ip()), DAY)
    # And other accounts, and usernames that differ in case (another account for Django's
    # case-sensitive ModelBackend), still log in or fail normally
    assert _login(first, other, client=_ip())[0] == 200
    assert _login(first, username.upper(), client=_ip())[:3:2] == (400, BAD_CREDENTIALS)


def test_unknown_usernames_are_throttled_alike(pair: tuple[Server, Server]) -> None:
    _away_from_window_end(DAY, 30)
    first, second = pair
    ghost = "ghost-" + uuid.uuid4().hex[:8]
    for server in (first, second, first):
        assert _login(server, ghost, "guess", client=_ip())[:3:2] == (400, BAD_CREDENTIALS)
    _assert_throttled(_login(second, ghost, "guess", client=_ip()), DAY)


def test_password_reset_per_address_and_per_email(pair: tuple[Server, Server],
                                                  conn: psycopg.Connection) -> None:
    _away_from_window_end(DAY, 30)
    first, second = pair
    _, email = _user(conn)
    # Per e-mail address, case-insensitively as allauth matches it: 2 a day
    assert _call(first, RESET, {"email": email}, client=_ip())[:3:2] == (200, RESET_SENT)
    assert _call(second, RESET, {"email": email.upper()}, client=_ip())[:3:2] == (200, RESET_SENT)
    _assert_throttled(_call(first, RESET, {"email": email}, client=_ip()), DAY)
    assert conn.execute("SELECT count(*) FROM samsyn_mail_outbox WHERE recipients::text ILIKE %s",
                        (f"%{email}%",)).fetchone() == (2,)
    # Per client address every request: 4 a day, invalid ones and unknown addresses included
    address = _ip()
    assert _call(second, RESET, {"email": "not-an-email"}, client=address)[0] == 400
    for n in range(3):
        assert _call(first, RESET, {"email": f"nobody{n}@example.com"}, client=address)[0] == 200
    _assert_throttled(_call(second, RESET, {"email": "nobody9@example.com"}, client=address), DAY)


def test_a_long_username_is_counted_under_a_hashed_key(pair: tuple[Server, Server],
                                                       conn: psycopg.Connection) -> None:
    _away_from_window_end(DAY, 30)
    first, _ = pair
    name = "x" * 5000  # beyond a btree entry; the login's own validation takes it
    for _ in range(3):
        assert _login(first, name, "guess", client=_ip())[:3:2] == (400, BAD_CREDENTIALS)
    _assert_throttled(_login(first, name, "guess", client=_ip()), DAY)
    assert conn.execute("SELECT count(*) FROM samsyn_throttle WHERE scope = 'login_account' "
                        "AND key LIKE 'sha256:%%'").fetchone() == (1,)


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
        new_database: Callable[..., str]) -> None:
    # Given the default: no trusted proxy
    from samsyn.db.migrate import upgrade_head
    url = new_database("throttle_direct")
    upgrade_head(url)
    server = Server(url, extra_env={"SAMSYN_THROTTLE_LOGIN_IP": "2/day"})
    try:
        _away_from_window_end(DAY, 30)
        # When a client names a new address in every request, it is still counted as itself
        for _ in range(2):
            assert _login(server, "nobody", "x", client=_ip())[0] == 400
        _assert_throttled(_login(server, "nobody", "x", client=_ip()), DAY)
        _assert_throttled(_login(server, "nobody", "x"), DAY)
    finally:
        server.stop()


def test_the_window_ends_and_then_a_login_works(own_url: str, conn: psycopg.Connection) -> None:
    # Given limits of 3 a second per address and per account (DRF's "3/s")
    server = Server(own_url, extra_env={"SAMSYN_THROTTLE_LOGIN_IP": "3/s",
                                        "SAMSYN_THROTTLE_LOGIN_ACCOUNT": "2/sec",
                                        "SAMSYN_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        username, _ = _user(conn)
        address = _ip()
        for _attempt in range(5):  # each pass needs its 4 requests inside one second
            time.sleep(1 - time.time() % 1 + 0.01)
            started = time.time()
            got = [_login(server, username, "wrong", client=address) for _ in range(3)]
            if time.time() - started < 0.9:
                break
        else:
            pytest.fail("could not make 3 failed logins (PBKDF2) inside one second")
        assert [g[0] for g in got] == [400, 400, 429]  # the account's 2 failures, then 429
        # Then the singular text, and the header says 1 second
        assert got[2][2] == {"detail": "Request was throttled. Expected available in 1 second."}
        assert got[2][1]["retry-after"] == "1"
        # And after the window a correct login works from the same address
        time.sleep(1 - time.time() % 1 + 0.01)
        assert _login(server, username, client=address)[0] == 200
    finally:
        server.stop()


def test_a_rate_of_none_switches_a_throttle_off(own_url: str, conn: psycopg.Connection) -> None:
    server = Server(own_url, extra_env={"SAMSYN_THROTTLE_LOGIN_IP": "none",
                                        "SAMSYN_THROTTLE_LOGIN_ACCOUNT": ""})
    try:
        username, _ = _user(conn)
        for _ in range(12):  # beyond both defaults' burst in the same second's window
            assert _login(server, username, "wrong")[0] == 400
        assert _login(server, username)[0] == 200
    finally:
        server.stop()


def test_housekeeping_purges_ended_windows(own_url: str, conn: psycopg.Connection,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    conn.execute("INSERT INTO samsyn_throttle VALUES ('login_ip', 'old', now() - interval '1s', "
                 "3), ('login_ip', 'current', now() + interval '1 hour', 1)")
    from sqlalchemy.orm import Session

    from samsyn.db.engine import make_engine
    from samsyn.domain.accounts.service import purge_expired
    engine = make_engine(own_url)
    try:
        with Session(engine) as db, db.begin():
            assert purge_expired(db)[2] >= 1
    finally:
        engine.dispose()
    keys = {r[0] for r in conn.execute("SELECT key FROM samsyn_throttle")}
    assert "old" not in keys and "current" in keys
