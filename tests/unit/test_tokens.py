"""Django/allauth token and signing formats against vectors produced by Django 4.1.13 itself
(signing.dumps, PasswordResetTokenGenerator, SessionStore.encode, CookieStorage, the session
auth hash) and the simplejwt sample in contract/jwt-sample.json."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jwt
import pytest

from samsyn.domain.accounts import sessions, signing, tokens

SECRET = "abdsafadkjhry37yfadskjhfu7432qt"   # the legacy sample.env key
NOTES_HASH = ("pbkdf2_sha256$390000$v7cT4DhEoMX8KlMA8cuAOa$"
              "eby7wZoKwjAr10Brp5ghXcEBRuoca/UZ79dRfDOOd1g=")
T0 = 1795316053.5
CONFIRM_KEY_1 = 'MQ:1xUxiX:mbMkguCE0_-ZKM4EKs4gLfCH1ridFgueJ75s-3jRIoA'
CONFIRM_KEY_42 = 'NDI:1xUxiX:lqCh2_9GRyhZpXrE9WPnZZi7z6sKFLmTyaXa89E1tIU'
# The two signed values below are Django's output, kept whole (their payload alone is longer
# than a line) so that they can be compared and searched for as they are.
SESSION_DATA = '.eJyrVopPLC3JiC8tTi2Kz0xRslIyVNJBFktKTM5OzQNJpGQl5qXn6yXn55UUZSbpgZToQWWL9XzzU1JznKBqUQzISCzOAOpOTEpWqgUAjnEncw:1xUxiX:xcQdkfYDHRT6CbCu9YjHsPjIOgpgUQXIGHnUUf1Tia4'  # noqa: E501
RESET_TOKEN = 'dig1c0-63c1f96c4515c1e8c9fb41c5eb54c6fa'
RESET_TOKEN_NO_LOGIN = 'dig1c0-1d6fc0ecb0d3c912124317219bd463be'
SESSION_HASH = '4fc65b72d540d2bf7011b8f3a62d735d9069232b70edd9afb67e48d304647862'
MESSAGES_COOKIE = '.eJxtzEEKwkAMQNGrhKxjKYJ7wSO4LGUIY1oimUSaKejtFbp1--G_acJSnhlemmTyKkgjnUfCW_iiW-Ou4SCnxmqQ4h16QOUt7Cpvbi-ToUYbkBBn-mtdCO97rb-y7GYfSF1dHqAOnId03PMXBWAu6g:1xV6yd:jXXeDf-GwH3-X0RcNdJrvdeGIHI6QjXL5iLc0wIHUSU'  # noqa: E501
RESET_NOW = dt.datetime(2026, 11, 22, 12, 0, 0)
BOB = tokens.ResetUser(pk=2, password=NOTES_HASH,
                       last_login=dt.datetime(2026, 11, 20, 8, 30, 15, 123456, tzinfo=dt.UTC),
                       email="bob@example.com", emails=("Bob@Example.com",))


def test_confirmation_keys_are_djangos() -> None:
    assert tokens.make_confirmation_key(1, SECRET, now=T0) == CONFIRM_KEY_1
    assert tokens.make_confirmation_key(42, SECRET, now=T0) == CONFIRM_KEY_42
    assert CONFIRM_KEY_1.startswith("MQ:")


def test_confirmation_key_roundtrip_expiry_and_tampering() -> None:
    assert tokens.confirmation_pk(CONFIRM_KEY_42, SECRET, now=T0 + 10) == 42
    assert tokens.confirmation_pk(CONFIRM_KEY_42, SECRET, now=int(T0) + 3 * 86400) == 42
    assert tokens.confirmation_pk(CONFIRM_KEY_42, SECRET, now=int(T0) + 3 * 86400 + 0.5) is None
    assert tokens.confirmation_pk(CONFIRM_KEY_42, "other-secret", now=T0) is None
    assert tokens.confirmation_pk("NDM" + CONFIRM_KEY_42[3:], SECRET, now=T0) is None
    for junk in ("invalid-key", "", ":", "a:b:c", "MQ::x"):
        assert tokens.confirmation_pk(junk, SECRET, now=T0) is None


def test_signing_primitives() -> None:
    assert signing.b62_encode(0) == "0" and signing.b62_decode("0") == 0
    assert signing.b62_decode(signing.b62_encode(int(T0))) == int(T0)
    assert signing.b62_encode(-62) == "-10"
    assert signing.int_to_base36(2) == "2" and signing.int_to_base36(36) == "10"
    assert signing.base36_to_int("zz") == 1295
    with pytest.raises(ValueError):
        signing.base36_to_int("1" * 14)


def test_session_encoding_is_djangos() -> None:
    data = {"_auth_user_id": "1", "_auth_user_backend": sessions.MODEL_BACKEND,
            "_auth_user_hash": "abc"}
    assert signing.dumps(data, SECRET, salt=sessions.SESSION_SALT, compress=True,
                         now=lambda: T0) == SESSION_DATA
    assert sessions.decode(SESSION_DATA, SECRET) == data
    assert sessions.decode(SESSION_DATA, "other") == {}
    assert sessions.decode("garbage", SECRET) == {}


def test_session_auth_hash_is_djangos() -> None:
    assert tokens.session_auth_hash(NOTES_HASH, SECRET) == SESSION_HASH


def test_messages_cookie_is_djangos() -> None:
    stamp = MESSAGES_COOKIE.rsplit(":", 2)[1]
    signer = signing.cookie_signer(SECRET, sessions.MESSAGES_SALT,
                                   now=lambda: signing.b62_decode(stamp))
    value = signer.sign_object([(20, "Confirmation e-mail sent to carol@example.com."),
                                (25, "Successfully signed in as carol.")],
                               compress=True, dumps=sessions._message_dumps)
    assert value == MESSAGES_COOKIE


def test_reset_tokens_are_djangos() -> None:
    assert tokens.make_reset_token(BOB, SECRET, now=RESET_NOW) == RESET_TOKEN
    no_login = tokens.ResetUser(2, NOTES_HASH, None, "bob@example.com", ("Bob@Example.com",))
    assert tokens.make_reset_token(no_login, SECRET, now=RESET_NOW) == RESET_TOKEN_NO_LOGIN


def test_reset_token_checks() -> None:
    later = RESET_NOW + dt.timedelta(seconds=tokens.PASSWORD_RESET_TIMEOUT)
    assert tokens.check_reset_token(BOB, RESET_TOKEN, SECRET, now=later)
    assert not tokens.check_reset_token(BOB, RESET_TOKEN, SECRET,
                                        now=later + dt.timedelta(seconds=1))
    changed = tokens.ResetUser(2, NOTES_HASH + "x", BOB.last_login, BOB.email, BOB.emails)
    assert not tokens.check_reset_token(changed, RESET_TOKEN, SECRET, now=RESET_NOW)
    for bad in ("", "abc-123", "x", "a-b-c", RESET_TOKEN + "0", "!!-" + RESET_TOKEN[7:]):
        assert not tokens.check_reset_token(BOB, bad, SECRET, now=RESET_NOW)


def test_uids_are_allauth_base36() -> None:
    assert tokens.uid_of(2) == "2" and tokens.uid_of(1000) == "rs"
    assert tokens.pk_of_uid("2") == 2
    assert tokens.pk_of_uid("Mg") == 808            # ra-084: not Django's base64 "2"
    assert tokens.pk_of_uid("zzzz") == 1679615
    assert tokens.pk_of_uid("zzzzzzzzzzzzz") is None  # beyond auth_user.id
    assert tokens.pk_of_uid("zzzzzzzzzzzzzz") is None  # more than 13 characters
    assert tokens.pk_of_uid("") is None and tokens.pk_of_uid("-") is None


def test_drf_keys() -> None:
    key = tokens.new_drf_key()
    assert len(key) == 40 and int(key, 16) >= 0 and key == key.lower()


def test_jwt_sample_format() -> None:
    sample = json.loads((Path(__file__).parents[2] / "contract" / "jwt-sample.json").read_text())
    token = sample["token_example"]
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert payload == sample["payload"]
    assert jwt.encode(sample["payload"], SECRET, algorithm="HS256") == token


def test_jwts_issued_before_the_token_epoch_are_refused() -> None:
    from samsyn.domain.accounts.authentication import issued_before
    change = dt.datetime(2026, 12, 3, 12, 0, 0, 700_000, tzinfo=dt.UTC)
    second = int(change.timestamp())
    assert not issued_before({"iat": second - 3600}, None)       # no password change yet
    assert issued_before({"iat": second - 1}, change)
    assert not issued_before({"iat": second}, change)            # the same second: iat floors
    assert not issued_before({"iat": second + 60}, change)
    for bad in ({}, {"iat": None}, {"iat": "x"}, {"iat": True}):
        assert issued_before(bad, change)                        # cannot show it is newer


def test_login_keys_end_after_their_lifetime() -> None:
    from samsyn.domain.accounts.authentication import key_expired
    now = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)
    assert not key_expired(now - 13 * day, 14 * 86_400, now)
    assert key_expired(now - 15 * day, 14 * 86_400, now)
    assert key_expired((now - 15 * day).replace(tzinfo=None), 14 * 86_400, now)  # naive UTC
    assert key_expired(None, 14 * 86_400, now)
    assert tokens.LOGIN_KEY_LIFETIME == 14 * 86_400


def test_login_key_lifetime_setting() -> None:
    from samsyn.settings import SettingsError, load_settings
    env = {"DATABASE_URL": "postgresql://x@127.0.0.1/x"}
    assert load_settings(env).login_key_lifetime == 14 * 86_400
    assert load_settings({**env, "SAMSYN_LOGIN_KEY_LIFETIME": "3600"}).login_key_lifetime == 3600
    for bad in ("x", "0", "-5"):
        with pytest.raises(SettingsError, match="SAMSYN_LOGIN_KEY_LIFETIME"):
            load_settings({**env, "SAMSYN_LOGIN_KEY_LIFETIME": bad})
