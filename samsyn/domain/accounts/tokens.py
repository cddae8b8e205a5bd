"""The tokens of the legacy accounts flows, in the legacy's exact formats.

* DRF authtoken keys: 40 lower-case hex characters (binascii.hexlify(os.urandom(20))).
* allauth password-reset tokens: Django's PasswordResetTokenGenerator (`<base36 ts>-<hex>`,
  sha256) with allauth's EmailAwarePasswordResetTokenGenerator hash value; uid = base36(pk).
* allauth e-mail confirmation keys (EmailConfirmationHMAC): signing.dumps(emailaddress pk,
  salt="account"), e.g. `MQ:1xUxOa:W92K…`, valid for 3 days.
* The session auth hash Django stores in a logged-in session.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

from samsyn.domain.accounts import signing

RESET_KEY_SALT = "django.contrib.auth.tokens.PasswordResetTokenGenerator"
PASSWORD_RESET_TIMEOUT = 259_200  # Django default: 3 days
CONFIRMATION_SALT = "account"     # allauth ACCOUNT_SALT default
CONFIRMATION_MAX_AGE = 3 * 86_400  # ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
SESSION_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
_EPOCH_2001 = dt.datetime(2001, 1, 1)


LOGIN_KEY_LIFETIME = 14 * 86_400  # seconds; Settings.login_key_lifetime overrides it


def new_drf_key() -> str:
    """rest_framework.authtoken.models.Token.generate_key()."""
    return os.urandom(20).hex()


@dataclass(frozen=True, slots=True)
class ResetUser:
    """The user facts a reset token depends on."""

    pk: int
    password: str
    last_login: dt.datetime | None   # aware (UTC) or None
    email: str
    emails: tuple[str, ...] = ()     # the user's account_emailaddress rows


def reset_hash_value(user: ResetUser, timestamp: int) -> str:
    """EmailAwarePasswordResetTokenGenerator._make_hash_value (Django 4.1 + allauth 0.54)."""
    if user.last_login is None:
        login_timestamp = ""
    else:
        last = user.last_login
        if last.tzinfo is not None:
            last = last.astimezone(dt.UTC)  # Django reads timestamps in UTC
        login_timestamp = str(last.replace(microsecond=0, tzinfo=None))
    value = f"{user.pk}{user.password}{login_timestamp}{timestamp}{user.email or ''}"
    emails = {user.email} if user.email else set()
    emails.update(user.emails)
    return value + "|".join(sorted(emails))


def _num_seconds(now: dt.datetime) -> int:
    return int((now - _EPOCH_2001).total_seconds())


def _utc_now_naive() -> dt.datetime:
    # Django's _now() is datetime.now() in the process time zone, which Django sets to
    # TIME_ZONE; the legacy ran with UTC.
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _token_with_timestamp(user: ResetUser, timestamp: int, secret: str) -> str:
    digest = signing.salted_hmac(RESET_KEY_SALT, reset_hash_value(user, timestamp), secret,
                                 algorithm="sha256").hexdigest()[::2]
    return f"{signing.int_to_base36(timestamp)}-{digest}"


def make_reset_token(user: ResetUser, secret: str, *, now: dt.datetime | None = None) -> str:
    return _token_with_timestamp(user, _num_seconds(now or _utc_now_naive()), secret)


def check_reset_token(user: ResetUser, token: str, secret: str, *,
                      now: dt.datetime | None = None) -> bool:
    """PasswordResetTokenGenerator.check_token."""
    if not token:
        return False
    parts = token.split("-")
    if len(parts) != 2:
        return False
    try:
        timestamp = signing.base36_to_int(parts[0])
    except ValueError:
        return False
    if not signing.constant_time_compare(_token_with_timestamp(user, timestamp, secret), token):
        return False
    return _num_seconds(now or _utc_now_naive()) - timestamp <= PASSWORD_RESET_TIMEOUT


def uid_of(pk: int) -> str:
    """allauth user_pk_to_url_str: base36 of an integer pk."""
    return signing.int_to_base36(pk)


def pk_of_uid(uid: str) -> int | None:
    """allauth url_str_to_user_pk (base36); None when it cannot name an auth_user row."""
    try:
        pk = signing.base36_to_int(uid)
    except ValueError:
        return None
    return pk if -(2**31) <= pk < 2**31 else None


def make_confirmation_key(emailaddress_pk: int, secret: str, *, now: float | None = None) -> str:
    """EmailConfirmationHMAC.key."""
    clock = (lambda: now) if now is not None else time.time
    return signing.dumps(emailaddress_pk, secret, salt=CONFIRMATION_SALT, now=clock)


def confirmation_pk(key: str, secret: str, *, now: float | None = None) -> int | None:
    """EmailConfirmationHMAC.from_key: the EmailAddress pk, or None (bad or expired key)."""
    clock = (lambda: now) if now is not None else time.time
    try:
        pk = signing.loads(key, secret, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE,
                           now=clock)
    except signing.BadSignature:
        return None
    if isinstance(pk, bool) or not isinstance(pk, int | str):
        return None
    try:
        pk = int(pk)
    except ValueError:
        return None
    return pk if -(2**31) <= pk < 2**31 else None


def session_auth_hash(password_hash: str, secret: str) -> str:
    """AbstractBaseUser.get_session_auth_hash (Django 4.1: sha256)."""
    return signing.salted_hmac(SESSION_HASH_SALT, password_hash, secret,
                               algorithm="sha256").hexdigest()


def unique_emails(emails: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(emails))
