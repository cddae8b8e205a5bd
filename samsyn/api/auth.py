"""Authentication with simplejwt 5.2.2 semantics, plus the login key as Bearer (DESIGN.md §1.3)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jwt
from sqlalchemy import bindparam, select

from samsyn.db.models import AuthToken, TokenDenylist, User
from samsyn.db.reads import Query, Reader

from samsyn.errors import AuthenticationFailed

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


_USER_COLUMNS = (User.id, User.username, User.email, User.first_name, User.last_name,
                 User.is_active)
_IS_ACTIVE = 5
_USER_BY_ID = Query(select(*_USER_COLUMNS).where(User.id == bindparam("id")))
_USER_BY_KEY = Query(select(*_USER_COLUMNS).join(AuthToken, AuthToken.user_id == User.id)
                     .where(AuthToken.key == bindparam("key")))
_DENIED = Query(select(TokenDenylist.jti).where(TokenDenylist.jti == bindparam("jti")))


def _user_by_id(conn: Reader, user_id: Any) -> Any:
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    if not -(2**31) <= user_id < 2**31:
        return None
    return _USER_BY_ID.first(conn, id=user_id)


def authenticate_request(header: str | None, secret: str) -> AuthUser | None:
    """The user behind a request's Authorization header; None for anonymous requests.

    The one entry point of every route (DRF views, the schema and documentation views): it
    takes its own pooled read connection, so no caller can hand it the wrong kind of handle,
    and a request without a Bearer header costs no connection at all.

    Raises:
        AuthenticationFailed: a Bearer token was presented and is not valid.
    """
    if bearer_token(header) is None:
        return None
    from samsyn.db.reads import reader
    with reader() as conn:
        return authenticate(conn, header, secret)


def authenticate(conn: Reader, header: str | None, secret: str) -> AuthUser | None:
    """The user behind the Authorization header, read on `conn` (a psycopg connection).

    Raises:
        AuthenticationFailed: a Bearer token was presented and is not valid.
    """
    raw = bearer_token(header)
    if raw is None:
        return None
    if _DRF_KEY.fullmatch(raw):
        row = _USER_BY_KEY.first(conn, key=raw)
        if row is not None:
            if not row[_IS_ACTIVE]:
                raise AuthenticationFailed({"detail": "User is inactive", "code": "user_inactive"})
            return AuthUser(*row, auth="key", token=raw)
    payload = decode_access_token(raw, secret)
    if "user_id" not in payload:
        raise AuthenticationFailed({
            "detail": "Token contained no recognizable user identification",
            "code": "token_not_valid",
        })
    if _DENIED.first(conn, jti=str(payload["jti"])) is not None:
        raise _token_error("Token is invalid or expired")
    row = _user_by_id(conn, payload["user_id"])
    if row is None:
        raise AuthenticationFailed({"detail": "User not found", "code": "user_not_found"})
    if not row[_IS_ACTIVE]:
        raise AuthenticationFailed({"detail": "User is inactive", "code": "user_inactive"})
    return AuthUser(*row, auth="jwt", token=str(payload["jti"]))
