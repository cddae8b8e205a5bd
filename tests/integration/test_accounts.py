"""The accounts flows on a real PostgreSQL migrated by samsyn (Django's tables, the outbox and
the denylist): registration -> mail -> confirmation, login keys, logout/password change
revocation, password reset by mail, hash upgrade, outbox delivery."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from samsyn.contract_hooks import FIXTURES, reset
from samsyn.db.engine import make_engine
from samsyn.domain.accounts import mail, passwords, service, sessions, tokens
from samsyn.errors import InvalidInput, NotFound
from samsyn.settings import DEV_SECRET_KEY, normalize_database_url

SECRET = DEV_SECRET_KEY
SITE = mail.Site(domain="testserver:8000", origin="http://testserver:8000")
CLIENT = service.Client(site=SITE, secret=SECRET)
PASSWORD = "Str0ng-Pass-123"


@pytest.fixture(scope="module")
def accounts_url(new_database: Callable[..., str]) -> str:
    from samsyn.db.migrate import upgrade_head
    url = new_database("accounts")
    upgrade_head(url)
    return url


@pytest.fixture
def db_factory(accounts_url: str) -> Iterator[sessionmaker[Session]]:
    reset(accounts_url.replace("postgresql+psycopg://", "postgresql://"), "default")
    engine = make_engine(normalize_database_url(accounts_url), pool_size=2, max_overflow=0)
    try:
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()


def _run(factory: sessionmaker[Session], fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    with factory.begin() as db:
        return fn(db, *args, **kw)


def _rows(factory: sessionmaker[Session], sql: str, **params: Any) -> list[Any]:
    with factory() as db:
        return list(db.execute(text(sql), params).all())


def _register(factory: sessionmaker[Session], username: str, email: str | None = None,
              password: str = PASSWORD) -> service.SessionOutcome:
    data: dict[str, Any] = {"username": username, "password1": password, "password2": password}
    if email is not None:
        data["email"] = email
    return _run(factory, service.register, lambda: data, CLIENT)


def _login(factory: sessionmaker[Session], username: str, password: str = PASSWORD) -> str:
    key, _ = _run(factory, service.login, lambda: {"username": username, "password": password},
                  CLIENT)
    return str(key)


def test_registration_writes_user_email_mail_and_session(db_factory: sessionmaker[Session]) -> None:
    outcome = _register(db_factory, "carol", "carol@example.com")
    assert outcome.session_key and outcome.rotate_csrf and outcome.messages
    user = _rows(db_factory, "SELECT id, password, last_login, email FROM auth_user")[0]
    assert re.fullmatch(r"pbkdf2_sha256\$390000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=",
                        user.password)
    assert user.last_login is not None and user.email == "carol@example.com"
    assert _rows(db_factory, 'SELECT email, verified, "primary" FROM account_emailaddress') == [
        ("carol@example.com", False, True)]
    session = _rows(db_factory, "SELECT session_data FROM django_session WHERE session_key = :k",
                    k=outcome.session_key)[0]
    data = sessions.decode(session.session_data, SECRET)
    assert data["_auth_user_id"] == str(user.id)
    assert data["_auth_user_hash"] == tokens.session_auth_hash(user.password, SECRET)
    [message] = _outbox(db_factory)
    assert message["to"] == "carol@example.com"
    assert message["subject"] == "[testserver:8000] Please Confirm Your E-mail Address"
    assert message["content_type"] == 'text/plain; charset="utf-8"'
    assert re.fullmatch(
        r"Hello from testserver:8000!\n\nYou're receiving this e-mail because user carol has "
        r"given your e-mail address to register an account on testserver:8000\.\n\nTo confirm "
        r"this is correct, go to http://testserver:8000/api/rest-auth/registration/"
        r"account-confirm-email/[-:\w]+/\n\nThank you for using testserver:8000!\n"
        r"testserver:8000\n", message["body"])


def _outbox(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    with factory() as db:
        return mail.outbox(db)


def _confirm_key(factory: sessionmaker[Session]) -> str:
    match = re.search(r"account-confirm-email/([^/]+)/", _outbox(factory)[-1]["body"])
    assert match
    return match.group(1)


def test_registration_errors_in_drf_order(db_factory: sessionmaker[Session]) -> None:
    _register(db_factory, "carol", "carol@example.com")
    cases = [
        ({}, {"username": ["This field is required."], "password1": ["This field is required."],
              "password2": ["This field is required."]}),
        ({"username": "CAROL", "email": "CAROL@example.com", "password1": "abc",
          "password2": "abc"},
         {"username": ["A user with that username already exists."],
          "email": ["A user is already registered with this e-mail address."],
          "password1": ["This password is too short. It must contain at least 8 characters.",
                        "This password is too common."]}),
        ({"username": "erin", "password1": PASSWORD, "password2": PASSWORD + "x"},
         {"non_field_errors": ["The two password fields didn't match."]}),
        ({"username": "frankie", "email": "f@example.com", "password1": "frankie12",
          "password2": "frankie12"},
         {"non_field_errors": ["The password is too similar to the username."]}),
        ({"username": "u" * 151, "email": "", "password1": PASSWORD, "password2": PASSWORD},
         {"username": ["Ensure this field has no more than 150 characters."],
          "email": ["This field may not be blank."]}),
    ]
    for data, errors in cases:
        with pytest.raises(InvalidInput) as exc:
            _run(db_factory, service.register, lambda d=data: d, CLIENT)
        assert exc.value.errors == errors
        assert list(exc.value.errors) == list(errors)
    assert len(_rows(db_factory, "SELECT 1 FROM auth_user")) == 1


def test_verify_email_once_and_resend_rules(db_factory: sessionmaker[Session]) -> None:
    _register(db_factory, "carol", "carol@example.com")
    key = _confirm_key(db_factory)
    _run(db_factory, service.verify_email, lambda: {"key": key}, SECRET)
    assert _rows(db_factory, "SELECT verified FROM account_emailaddress") == [(True,)]
    for again in (key, "invalid-key"):
        with pytest.raises(NotFound):
            _run(db_factory, service.verify_email, lambda k=again: {"key": k}, SECRET)
    # a verified address gets no mail; an unknown one neither; {} picks the first address
    for data in ({"email": "carol@example.com"}, {"email": "nobody@example.com"}, {}):
        _run(db_factory, service.resend_email, lambda d=data: d, CLIENT)
    assert len(_outbox(db_factory)) == 1
    _register(db_factory, "dave", "dave@example.com")
    _run(db_factory, service.resend_email, lambda: {"email": "dave@example.com"}, CLIENT)
    _run(db_factory, service.resend_email, lambda: {"email": "DAVE@example.com"}, CLIENT)  # exact
    assert [m["to"] for m in _outbox(db_factory)] == ["carol@example.com", "dave@example.com",
                                                       "dave@example.com"]
    # the GET link confirms too (decision 4 of docs/architecture.md)
    assert _run(db_factory, service.confirm_email_link, _confirm_key(db_factory),
                SECRET) == "dave@example.com"


def test_login_key_is_stable_until_logout(db_factory: sessionmaker[Session]) -> None:
    _register(db_factory, "alice", "alice@example.com")
    k1, k2 = _login(db_factory, "alice"), _login(db_factory, "alice")
    assert k1 == k2 and re.fullmatch(r"[0-9a-f]{40}", k1)
    for username, password in (("ALICE", PASSWORD), ("alice", "wrong"), ("nobody", PASSWORD)):
        with pytest.raises(InvalidInput) as exc:
            _login(db_factory, username, password)
        assert exc.value.errors == {
            "non_field_errors": ["Unable to log in with provided credentials."]}
    user_id = _rows(db_factory, "SELECT id FROM auth_user")[0].id
    _run(db_factory, service.logout, service.Presented(user_id, "key", k1), CLIENT)
    assert _rows(db_factory, "SELECT key FROM authtoken_token") == []
    assert _login(db_factory, "alice") != k1


def test_logout_and_password_change_revoke_the_presented_jwt(
        db_factory: sessionmaker[Session]) -> None:
    _register(db_factory, "alice", "alice@example.com")
    user_id = _rows(db_factory, "SELECT id FROM auth_user")[0].id
    key = _login(db_factory, "alice")
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    _run(db_factory, service.logout, service.Presented(user_id, "jwt", "a" * 32, expires), CLIENT)
    assert _rows(db_factory, "SELECT jti FROM samsyn_token_denylist") == [("a" * 32,)]
    assert _rows(db_factory, "SELECT 1 FROM authtoken_token") == []   # the DRF key went too
    key = _login(db_factory, "alice")
    outcome = _run(db_factory, service.change_password,
                   service.Presented(user_id, "jwt", "b" * 32, expires),
                   lambda: {"new_password1": "N3w-Passw0rd!", "new_password2": "N3w-Passw0rd!"},
                   CLIENT)
    assert outcome.session_key
    assert {r.jti for r in _rows(db_factory, "SELECT jti FROM samsyn_token_denylist")} == {
        "a" * 32, "b" * 32}
    # the change ends the user's other credentials too: the key, and every older JWT
    assert _rows(db_factory, "SELECT 1 FROM authtoken_token") == []
    assert [r.user_id for r in _rows(db_factory, "SELECT user_id FROM samsyn_user_token_epoch "
                                                 "WHERE valid_after > now() - interval '1 minute'")
            ] == [user_id]
    key = _login(db_factory, "alice", "N3w-Passw0rd!")
    with pytest.raises(InvalidInput):
        _login(db_factory, "alice")
    # a password change presented with the DRF key revokes that key
    _run(db_factory, service.change_password, service.Presented(user_id, "key", key),
         lambda: {"new_password1": "An0ther-Passw0rd", "new_password2": "An0ther-Passw0rd"},
         CLIENT)
    assert _rows(db_factory, "SELECT 1 FROM authtoken_token") == []


def test_password_change_errors(db_factory: sessionmaker[Session]) -> None:
    _register(db_factory, "alice", "alice@example.com")
    user_id = _rows(db_factory, "SELECT id FROM auth_user")[0].id
    presented = service.Presented(user_id, "key", "0" * 40)
    for p1, p2, errors in (
            ("N3w-Passw0rd!", "N3w-Passw0rd?", ["The two password fields didn\u2019t match."]),
            ("alice1234", "alice1234", ["The password is too similar to the username."]),
            ("123", "123", ["This password is too short. It must contain at least 8 characters.",
                            "This password is too common.", "This password is entirely numeric."])):
        with pytest.raises(InvalidInput) as exc:
            _run(db_factory, service.change_password, presented,
                 lambda a=p1, b=p2: {"new_password1": a, "new_password2": b}, CLIENT)
        assert exc.value.errors == {"new_password2": errors}


def test_password_reset_mails_a_working_link(db_factory: sessionmaker[Session]) -> None:
    _register(db_factory, "bob", "bob@example.com")
    # before the mail: the token hashes last_login (to the second, as Django's), so a login
    # after it ends the link (a login in another second than the registration's did, in CI)
    key = _login(db_factory, "bob")
    _run(db_factory, service.request_password_reset, lambda: {"email": "BOB@EXAMPLE.COM"}, CLIENT)
    _run(db_factory, service.request_password_reset, lambda: {"email": "x@example.com"}, CLIENT)
    message = _outbox(db_factory)[-1]
    assert message["to"] == "BOB@EXAMPLE.COM"
    assert message["subject"] == "[testserver:8000] Password Reset E-mail"
    match = re.search(r"http://testserver:8000/api/rest-auth/password/reset/confirm/"
                      r"([0-9a-z]+)/([0-9a-z]+-[0-9a-f]+)/", message["body"])
    assert match and "In case you forgot, your username is bob." in message["body"]
    uid, token = match.groups()
    data = {"uid": uid, "token": token, "new_password1": "Res3t-Passw0rd",
            "new_password2": "Res3t-Passw0rd"}
    _run(db_factory, service.confirm_password_reset, lambda: data, SECRET)
    assert _rows(db_factory, "SELECT key FROM authtoken_token WHERE key = :k", k=key) == []
    assert len(_rows(db_factory, "SELECT 1 FROM samsyn_user_token_epoch")) == 1
    assert _login(db_factory, "bob", "Res3t-Passw0rd") != key
    with pytest.raises(InvalidInput) as exc:   # the token dies with the old password hash
        _run(db_factory, service.confirm_password_reset, lambda: data, SECRET)
    assert exc.value.errors == {"token": ["Invalid value"]}
    with pytest.raises(InvalidInput) as exc:
        _run(db_factory, service.confirm_password_reset, lambda: {**data, "uid": "Mg"}, SECRET)
    assert exc.value.errors == {"uid": ["Invalid value"]}


def test_fixture_token_is_accepted(db_factory: sessionmaker[Session], accounts_url: str) -> None:
    import psycopg
    _register(db_factory, "bob")
    with psycopg.connect(accounts_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        minted = FIXTURES["password_reset_token"](conn, {"username": "bob"})
        outbox = FIXTURES["mail_outbox"](conn, {})
    assert minted["uid"] == "1" and outbox == {"count": 0, "messages": []}
    _run(db_factory, service.confirm_password_reset, lambda: {
        **minted, "new_password1": "Res3t-Passw0rd", "new_password2": "Res3t-Passw0rd"}, SECRET)


def test_login_upgrades_old_hashes(db_factory: sessionmaker[Session]) -> None:
    _register(db_factory, "old")
    with db_factory.begin() as db:
        db.execute(text("UPDATE auth_user SET password = :p"),
                   {"p": passwords.make_password(PASSWORD, iterations=260000)})
    _login(db_factory, "old")
    [row] = _rows(db_factory, "SELECT password FROM auth_user")
    assert row.password.startswith("pbkdf2_sha256$390000$")
    assert passwords.check_password(PASSWORD, row.password)


def test_user_details_own_username_and_case_insensitive_uniqueness(
        db_factory: sessionmaker[Session]) -> None:
    _register(db_factory, "alice")
    _register(db_factory, "bob")
    alice = _rows(db_factory, "SELECT id FROM auth_user WHERE username = 'alice'")[0].id
    out = _run(db_factory, service.update_user_details, alice,
               lambda: {"username": "alice", "first_name": "Alice"}, partial=False)
    assert (out.username, out.first_name) == ("alice", "Alice")
    with pytest.raises(InvalidInput) as exc:
        _run(db_factory, service.update_user_details, alice, lambda: {"username": "BOB"},
             partial=True)
    assert exc.value.errors == {"username": ["A user with that username already exists."]}


def test_outbox_delivery_retries_failures(db_factory: sessionmaker[Session]) -> None:
    _register(db_factory, "carol", "carol@example.com")
    _register(db_factory, "dave", "dave@example.com")
    sent: list[Any] = []

    def flaky(message: Any) -> None:
        if message["To"] == "dave@example.com":
            raise ConnectionRefusedError(111, "Connection refused")
        sent.append(message)

    assert mail.deliver_pending(db_factory, flaky) == (1, 1)
    assert [m["To"] for m in sent] == ["carol@example.com"]
    rows = _rows(db_factory, "SELECT recipients, sent_at IS NOT NULL AS sent, attempts, "
                             "last_error, next_attempt_at - now() AS wait FROM samsyn_mail_outbox "
                             "ORDER BY id")
    assert [(r.sent, r.attempts) for r in rows] == [(True, 1), (False, 1)]
    assert "Connection refused" in rows[1].last_error
    assert dt.timedelta(seconds=25) < rows[1].wait <= dt.timedelta(seconds=30)
    assert mail.deliver_pending(db_factory, sent.append) == (0, 0)   # not due yet
    with db_factory.begin() as db:
        db.execute(text("UPDATE samsyn_mail_outbox SET next_attempt_at = now()"))
    assert mail.deliver_pending(db_factory, sent.append) == (1, 0)
    assert len(_outbox(db_factory)) == 2   # the fixture still lists every message
