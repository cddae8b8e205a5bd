"""Django sessions (django.contrib.sessions.backends.db) and the messages cookie, in Django's
formats, so that a session or cookie written here is one Django reads and the other way round.

Sessions never authenticate API requests (the legacy's DRF views ignored them); they are
written because the legacy login/registration/password change wrote them.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
import string
from typing import Any

from sqlalchemy.orm import Session

from samsyn.domain.accounts import queries, signing

SESSION_SALT = "django.contrib.sessions.SessionStore"
SESSION_AGE = 1_209_600  # SESSION_COOKIE_AGE: two weeks
SESSION_KEY_CHARS = string.ascii_lowercase + string.digits
AUTH_USER_ID = "_auth_user_id"
AUTH_BACKEND = "_auth_user_backend"
AUTH_HASH = "_auth_user_hash"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
MESSAGES_SALT = "django.contrib.messages"
INFO, SUCCESS = 20, 25


def encode(data: dict[str, Any], secret: str) -> str:
    """SessionBase.encode (Django 4.1): signing.dumps(compress=True)."""
    return signing.dumps(data, secret, salt=SESSION_SALT, compress=True)


def decode(session_data: str, secret: str) -> dict[str, Any]:
    """SessionBase.decode: an empty session for anything that does not verify."""
    try:
        data = signing.loads(session_data, secret, salt=SESSION_SALT)
    except signing.BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def _new_key() -> str:
    return "".join(secrets.choice(SESSION_KEY_CHARS) for _ in range(32))


def load(db: Session, session_key: str | None, secret: str) -> dict[str, Any] | None:
    """The data of an unexpired session, None when the key names none."""
    if not session_key:
        return None
    data = queries.session_data(db, session_key)
    return None if data is None else decode(data, secret)


def delete(db: Session, session_key: str | None) -> None:
    if session_key:
        queries.delete_session(db, session_key)


def save_new(db: Session, data: dict[str, Any], secret: str) -> str:
    """Create a session row under a fresh key (SessionStore.create) and return the key."""
    while True:
        key = _new_key()
        if queries.insert_session(db, key, encode(data, secret),
                                  dt.datetime.now(dt.UTC) + dt.timedelta(seconds=SESSION_AGE)):
            return key


def login(db: Session, old_key: str | None, user_id: int, password_hash: str,
          secret: str, hash_fn: Any) -> str:
    """django.contrib.auth.login: keep the old session's data unless it belongs to another
    user, rotate the key, store the user id, backend and session auth hash."""
    old = load(db, old_key, secret) or {}
    session_hash = hash_fn(password_hash, secret)
    if old.get(AUTH_USER_ID) is not None and (
            old.get(AUTH_USER_ID) != str(user_id) or old.get(AUTH_HASH) != session_hash):
        old = {}
    delete(db, old_key)
    data = {**old, AUTH_USER_ID: str(user_id), AUTH_BACKEND: MODEL_BACKEND,
            AUTH_HASH: session_hash}
    return save_new(db, data, secret)


def cycle(db: Session, old_key: str | None, updates: dict[str, Any], secret: str) -> str:
    """SessionBase.cycle_key() followed by setting `updates` (update_session_auth_hash)."""
    old = load(db, old_key, secret) or {}
    delete(db, old_key)
    return save_new(db, {**old, **updates}, secret)


def _message_dumps(messages: list[tuple[int, str]]) -> bytes:
    # django.contrib.messages.storage.cookie.MessageEncoder: ["__json_message", is_safedata,
    # level, message, extra_tags]; allauth adds its messages with extra_tags "".
    encoded = [["__json_message", 0, level, message, ""] for level, message in messages]
    return json.dumps(encoded, separators=(",", ":")).encode("latin-1")


def messages_cookie_value(messages: list[tuple[int, str]], secret: str) -> str:
    """CookieStorage._encode (Django 4.1): the signed, compressed `messages` cookie value."""
    signer = signing.cookie_signer(secret, MESSAGES_SALT)
    return signer.sign_object(messages, compress=True, dumps=_message_dumps)
