"""Authentication with simplejwt 5.2.2 semantics, plus the login key as Bearer (decision 3 of
docs/architecture.md)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import jwt

from samsyn.db.reads import Reader, reader
from samsyn.domain.accounts import queries
from samsyn.domain.accounts.queries import AUTH_EXTRA as _EXTRA
from samsyn.domain.accounts.queries import AUTH_IS_ACTIVE as _IS_ACTIVE
from samsyn.errors import AuthenticationFailed
from samsyn.settings import get_settings

INVALID_TOKEN = "Given token not valid for any token type"
_DRF_KEY = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True, slots=True)
class AuthUser:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_active: bool
    auth: str            # "jwt" or "key"
    token: str           # the jti (JWT) or the key (login key)


def _token_error(message: str) -> AuthenticationFailed:
    return AuthenticationFailed({
        "detail": INVALID_TOKEN,
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    })


def decode_access_token(raw: str, secret: str) -> dict[str, Any]:
    """Validate a simplejwt access token; raises AuthenticationFailed with simplejwt's body."""
    try:
        # simplejwt passes no audience and does not verify one (an `aud` claim is accepted).
        payload = jwt.decode(raw, secret, algorithms=["HS256"], leeway=0,
                             options={"verify_aud": False})
    except jwt.InvalidTokenError:
        raise _token_error("Token is invalid or expired") from None
    if "exp" not in payload:
        raise _token_error("Token has no 'exp' claim")
    if "jti" not in payload:
        raise _token_error("Token has no id")
    if "token_type" not in payload:
        raise _token_error("Token has no type")
    if payload["token_type"] != "access":
        raise _token_error("Token has wrong type")
    return payload


def bearer_token(header: str | None) -> str | None:
    """The raw token of an `Authorization: Bearer <token>` header, None when not Bearer."""
    if header is None:
        return None
    parts = header.split()
    if not parts or parts[0] != "Bearer":
        return None
    if len(parts) != 2:
        raise AuthenticationFailed({
            "detail": "Authorization header must contain two space-delimited values",
            "code": "bad_authorization_header",
        })
    return parts[1]


def key_expired(created: dt.datetime | None, lifetime_s: float,
                now: dt.datetime | None = None) -> bool:
    """A login key older than its lifetime (or with no creation time) has ended."""
    if created is None:
        return True
    if created.tzinfo is None:  # Django with USE_TZ=False wrote naive UTC
        created = created.replace(tzinfo=dt.UTC)
    return (now or dt.datetime.now(dt.UTC)) - created > dt.timedelta(seconds=lifetime_s)


def issued_before(payload: dict[str, Any], valid_after: dt.datetime | None) -> bool:
    """A JWT issued before the user's token epoch (a password change or reset).

    `iat` is whole seconds, so the epoch is compared in whole seconds too (as Firebase's
    tokensValidAfterTime): a token issued in the same second as the change stays valid,
    and one issued right after the change is never refused. A token without a usable
    `iat` cannot show it is newer and is refused once the user has an epoch.
    """
    if valid_after is None:
        return False
    iat = payload.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        return True
    return iat < int(valid_after.timestamp())


def _user_by_id(conn: Reader, user_id: Any) -> Any:
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    if not -(2**31) <= user_id < 2**31:
        return None
    return queries.auth_user_by_id(conn, user_id)


def authenticate_request(header: str | None, secret: str, *,
                         key_lifetime: float | None = None) -> AuthUser | None:
    """The user behind a request's Authorization header; None for anonymous requests.

    The one entry point of every route (DRF views, the schema and documentation views): it
    takes its own pooled read connection, so no caller can hand it the wrong kind of handle,
    and a request without a Bearer header costs no connection at all.

    Raises:
        AuthenticationFailed: a Bearer token was presented and is not valid.
    """
    if bearer_token(header) is None:
        return None
    if key_lifetime is None:
        key_lifetime = get_settings().login_key_lifetime
    with reader() as conn:
        return authenticate(conn, header, secret, key_lifetime=key_lifetime)


def authenticate(conn: Reader, header: str | None, secret: str, *,
                 key_lifetime: float = 14 * 86_400) -> AuthUser | None:
    """The user behind the Authorization header, read on `conn` (a psycopg connection).

    Raises:
        AuthenticationFailed: a Bearer token was presented and is not valid.
    """
    raw = bearer_token(header)
    if raw is None:
        return None
    if _DRF_KEY.fullmatch(raw):
        row = queries.auth_user_by_key(conn, raw)
        if row is not None and key_expired(row[_EXTRA], key_lifetime):
            # an ended key is gone for good and fails exactly as an unknown one (below)
            queries.delete_login_key(conn, raw)
            row = None
        if row is not None:
            if not row[_IS_ACTIVE]:
                raise AuthenticationFailed({"detail": "User is inactive", "code": "user_inactive"})
            return AuthUser(*row[:_EXTRA], auth="key", token=raw)
    payload = decode_access_token(raw, secret)
    if "user_id" not in payload:
        raise AuthenticationFailed({
            "detail": "Token contained no recognizable user identification",
            "code": "token_not_valid",
        })
    if queries.jti_denied(conn, str(payload["jti"])):
        raise _token_error("Token is invalid or expired")
    row = _user_by_id(conn, payload["user_id"])
    if row is None:
        raise AuthenticationFailed({"detail": "User not found", "code": "user_not_found"})
    if issued_before(payload, row[_EXTRA]):
        raise _token_error("Token is invalid or expired")
    if not row[_IS_ACTIVE]:
        raise AuthenticationFailed({"detail": "User is inactive", "code": "user_inactive"})
    return AuthUser(*row[:_EXTRA], auth="jwt", token=str(payload["jti"]))
