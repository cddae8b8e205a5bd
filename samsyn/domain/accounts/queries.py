"""The only module that builds SQL for the accounts domain: Django's tables (auth_user,
authtoken_token, account_emailaddress, account_emailconfirmation, django_session),
samsyn_token_denylist, samsyn_user_token_epoch, samsyn_throttle and samsyn_mail_outbox, and
the request authentication's reads (samsyn.domain.accounts.authentication)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from samsyn.db.models import AuthToken, EmailAddress, TokenDenylist, User, UserTokenEpoch
from samsyn.db.reads import Query, Reader
from samsyn.domain.accounts import tokens


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def user_by_id(db: Session, user_id: int, *, lock: bool = False) -> User | None:
    stmt = select(User).where(User.id == user_id)
    return db.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()


def user_by_username(db: Session, username: str) -> User | None:
    """ModelBackend: get_by_natural_key, an exact (case-sensitive) match."""
    return db.execute(select(User).where(User.username == username)).scalar_one_or_none()


def username_taken(db: Session, username: str, *, exclude_id: int | None = None) -> bool:
    """allauth filter_users_by_username: username__iexact."""
    stmt = select(User.id).where(func.upper(User.username) == func.upper(username))
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    return db.execute(stmt.limit(1)).first() is not None


def email_taken(db: Session, email: str) -> bool:
    """allauth email_address_exists: an EmailAddress or a user e-mail, iexact."""
    if db.execute(select(EmailAddress.id).where(
            func.upper(EmailAddress.email) == func.upper(email)).limit(1)).first() is not None:
        return True
    return db.execute(select(User.id).where(func.upper(User.email) == func.upper(email))
                      .limit(1)).first() is not None


def other_user_has_username(db: Session, username: str, user_id: int) -> bool:
    """Another user than `user_id` has exactly (case-sensitively) this username."""
    return db.execute(select(User.id).where(User.username == username, User.id != user_id)
                      .limit(1)).first() is not None


def update_user(db: Session, user_id: int, values: dict[str, Any]) -> None:
    """Set the given auth_user columns of the user."""
    db.execute(update(User).where(User.id == user_id).values(**values))


def set_user_email(db: Session, user_id: int, email: str) -> None:
    db.execute(update(User).where(User.id == user_id).values(email=email))


def set_password(db: Session, user_id: int, encoded: str) -> None:
    db.execute(update(User).where(User.id == user_id).values(password=encoded))


def touch_last_login(db: Session, user_id: int) -> None:
    db.execute(update(User).where(User.id == user_id).values(last_login=now()))


def token_for(db: Session, user_id: int, max_age_s: float) -> str:
    """Token.objects.get_or_create(user=user).key, except that a key older than `max_age_s`
    (which no longer authenticates) is replaced by a fresh one."""
    db.execute(delete(AuthToken).where(
        AuthToken.user_id == user_id,
        AuthToken.created < now() - dt.timedelta(seconds=max_age_s)))
    db.execute(pg_insert(AuthToken).values(key=tokens.new_drf_key(), created=now(),
                                           user_id=user_id)
               .on_conflict_do_nothing(index_elements=[AuthToken.user_id]))
    return db.execute(select(AuthToken.key).where(AuthToken.user_id == user_id)).scalar_one()


def delete_token(db: Session, user_id: int) -> None:
    db.execute(text("DELETE FROM authtoken_token WHERE user_id = :u"), {"u": user_id})


def end_credentials(db: Session, user_id: int) -> None:
    """Every credential of the user ends: its login key is deleted and no JWT issued before
    now is valid any more (samsyn_user_token_epoch, checked against `iat`)."""
    delete_token(db, user_id)
    at = now()
    db.execute(pg_insert(UserTokenEpoch).values(user_id=user_id, valid_after=at)
               .on_conflict_do_update(index_elements=[UserTokenEpoch.user_id],
                                      set_={"valid_after": at}))


def deny_jti(db: Session, jti: str, expires: dt.datetime) -> None:
    db.execute(text("INSERT INTO samsyn_token_denylist (jti, expires) VALUES (:j, :e) "
                    "ON CONFLICT (jti) DO NOTHING"), {"j": jti, "e": expires})


def create_user(db: Session, *, username: str, email: str, password: str) -> int:
    """allauth save_user + user.save(): a plain active user."""
    return db.execute(insert(User).values(
        password=password, last_login=None, is_superuser=False, username=username,
        first_name="", last_name="", email=email, is_staff=False, is_active=True,
        date_joined=now()).returning(User.id)).scalar_one()


def add_email(db: Session, user_id: int, email: str, *, primary: bool,
              verified: bool = False) -> int:
    return db.execute(insert(EmailAddress).values(
        user_id=user_id, email=email, primary=primary, verified=verified)
        .returning(EmailAddress.id)).scalar_one()


def emails_of(db: Session, user_id: int) -> list[str]:
    return list(db.execute(select(EmailAddress.email).where(EmailAddress.user_id == user_id)
                           .order_by(EmailAddress.id)).scalars())


def sync_user_email(db: Session, user: User) -> None:
    """allauth sync_user_email_addresses: record the user's e-mail as an EmailAddress unless
    the user has it already (iexact) or another user holds it (UNIQUE_EMAIL)."""
    if not user.email:
        return
    same = func.upper(EmailAddress.email) == func.upper(user.email)
    if db.execute(select(EmailAddress.id).where(EmailAddress.user_id == user.id, same)
                  .limit(1)).first() is not None:
        return
    if db.execute(select(EmailAddress.id).where(same).limit(1)).first() is not None:
        return
    add_email(db, user.id, user.email, primary=False)


def active_users_by_email(db: Session, email: str) -> list[User]:
    """allauth filter_users_by_email(email, is_active=True): distinct users, by id."""
    via_address = select(EmailAddress.user_id).where(
        func.upper(EmailAddress.email) == func.upper(email))
    stmt = (select(User).where(User.is_active.is_(True))
            .where((func.upper(User.email) == func.upper(email)) | User.id.in_(via_address))
            .order_by(User.id))
    return list(db.execute(stmt).scalars())


def emailaddress(db: Session, pk: int, *, unverified_only: bool, lock: bool = True) -> Any:
    stmt = select(EmailAddress).where(EmailAddress.id == pk)
    if unverified_only:
        stmt = stmt.where(EmailAddress.verified.is_(False))
    return db.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()


def emailaddress_by_confirmation(db: Session, key: str, max_age_s: int) -> Any:
    """EmailConfirmation.objects.all_valid().get(key=key.lower()) (non-HMAC keys)."""
    row = db.execute(text(
        "SELECT email_address_id FROM account_emailconfirmation WHERE key = :k "
        "AND sent > now() - make_interval(secs => :age)"),
        {"k": key.lower(), "age": max_age_s}).first()
    return None if row is None else emailaddress(db, row[0], unverified_only=False)


def first_emailaddress(db: Session, email: str | None) -> Any:
    """EmailAddress.objects.filter(**validated_data).first() (exact match, by pk)."""
    stmt = select(EmailAddress)
    if email is not None:
        stmt = stmt.where(EmailAddress.email == email)
    return db.execute(stmt.order_by(EmailAddress.id).limit(1)).scalar_one_or_none()


def has_primary(db: Session, user_id: int) -> bool:
    return db.execute(select(EmailAddress.id).where(
        EmailAddress.user_id == user_id,
        EmailAddress.primary.is_(True)).limit(1)).first() is not None


# --- throttle counters (samsyn_throttle) ------------------------------------------------------

# One statement: count the request in the fixed window of the database's clock (every API
# process and host agrees on it), and say how far it is from the window's end. The count stops
# at requests + 1: refused requests do not count, as DRF records only the ones it admits.
_THROTTLE_HIT = text(
    "INSERT INTO samsyn_throttle AS t (scope, key, window_end, hits) VALUES (:scope, :key, "
    "to_timestamp((floor(extract(epoch FROM now()) / :seconds) + 1) * :seconds), 1) "
    "ON CONFLICT (scope, key, window_end) DO UPDATE SET hits = least(t.hits + 1, :requests + 1) "
    "RETURNING t.hits, t.window_end, extract(epoch FROM t.window_end - now())::float8")


def throttle_hit(db: Session, scope: str, key: str, requests: int, seconds: int
                 ) -> tuple[int, dt.datetime, float]:
    """Count one request: (hits in the window including this one, the window's end, seconds
    left in it)."""
    row = db.execute(_THROTTLE_HIT, {"scope": scope, "key": key, "seconds": seconds,
                                     "requests": requests}).one()
    return int(row[0]), row[1], float(row[2])


def throttle_refund(db: Session, scope: str, key: str, window_end: dt.datetime) -> None:
    """Take back one counted request of that window (a login that succeeded)."""
    db.execute(text("UPDATE samsyn_throttle SET hits = hits - 1 WHERE scope = :scope "
                    "AND key = :key AND window_end = :end AND hits > 0"),
               {"scope": scope, "key": key, "end": window_end})


# --- housekeeping ------------------------------------------------------------------------------

def delete_expired_denylist(db: Session) -> int:
    """Denylist entries whose JWTs have expired anyway; returns the row count."""
    return db.execute(text("DELETE FROM samsyn_token_denylist WHERE expires < now()")).rowcount


def delete_expired_sessions(db: Session) -> int:
    """Expired Django sessions (manage.py clearsessions); returns the row count."""
    return db.execute(text("DELETE FROM django_session WHERE expire_date < now()")).rowcount


def delete_ended_throttle_windows(db: Session) -> int:
    """Throttle counters of windows that have ended; returns the row count."""
    return db.execute(text("DELETE FROM samsyn_throttle WHERE window_end <= now()")).rowcount


# --- Django sessions (django_session) --------------------------------------------------------

def session_data(db: Session, session_key: str) -> str | None:
    """The encoded data of the unexpired session `session_key`, None when there is none."""
    row = db.execute(text("SELECT session_data FROM django_session WHERE session_key = :k "
                          "AND expire_date > now()"), {"k": session_key}).first()
    return None if row is None else row[0]


def delete_session(db: Session, session_key: str) -> None:
    db.execute(text("DELETE FROM django_session WHERE session_key = :k"), {"k": session_key})


def insert_session(db: Session, session_key: str, data: str, expire_date: dt.datetime) -> bool:
    """Store a new session row; False (nothing written) when the key is taken."""
    return db.execute(text(
        "INSERT INTO django_session (session_key, session_data, expire_date) "
        "VALUES (:k, :d, :e) ON CONFLICT (session_key) DO NOTHING RETURNING session_key"),
        {"k": session_key, "d": data, "e": expire_date}).first() is not None


# --- the mail outbox (samsyn_mail_outbox) ----------------------------------------------------

_INSERT_MAIL = text(
    "INSERT INTO samsyn_mail_outbox (sender, recipients, subject, body, content_type) "
    "VALUES (:sender, :recipients, :subject, :body, :content_type)"
).bindparams(bindparam("recipients", type_=JSONB))
_CLAIM_DUE_MAIL = text(
    "SELECT id, created, sender, recipients, subject, body, attempts FROM samsyn_mail_outbox "
    "WHERE sent_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now() "
    "ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED")
_MAIL_SENT = text("UPDATE samsyn_mail_outbox SET attempts = attempts + 1, sent_at = now(), "
                  "last_error = NULL WHERE id = :id")
_MAIL_FAILED = text(
    "UPDATE samsyn_mail_outbox SET attempts = attempts + 1, last_error = :error, "
    "next_attempt_at = now() + make_interval(secs => :delay), "
    "dead_at = CASE WHEN :dead THEN now() END WHERE id = :id")
_DEAD_MAILS = text("SELECT id, created, recipients, subject, attempts, dead_at, last_error "
                   "FROM samsyn_mail_outbox WHERE dead_at IS NOT NULL AND sent_at IS NULL "
                   "ORDER BY id")


def insert_mail(db: Session, *, sender: str, recipients: list[str], subject: str, body: str,
                content_type: str) -> None:
    """A new unsent outbox message, due at once."""
    db.execute(_INSERT_MAIL, {"sender": sender, "recipients": recipients, "subject": subject,
                              "body": body, "content_type": content_type})


def outbox_rows(db: Session) -> list[Any]:
    """Every outbox message (sender, recipients, subject, content_type, body), by id."""
    return list(db.execute(text("SELECT sender, recipients, subject, content_type, body "
                                "FROM samsyn_mail_outbox ORDER BY id")).all())


def claim_due_mail(db: Session) -> Any:
    """The next due message, locked for this transaction (SKIP LOCKED: one worker each), or
    None: (id, created, sender, recipients, subject, body, attempts)."""
    return db.execute(_CLAIM_DUE_MAIL).first()


def mark_mail_sent(db: Session, mail_id: int) -> None:
    db.execute(_MAIL_SENT, {"id": mail_id})


def mark_mail_failed(db: Session, mail_id: int, *, error: str, retry_in_s: int,
                     dead: bool) -> None:
    """Count a failed attempt: due again in `retry_in_s` seconds, or dead."""
    db.execute(_MAIL_FAILED, {"id": mail_id, "error": error, "delay": retry_in_s, "dead": dead})


def dead_mails(db: Session) -> list[Any]:
    """The unsent messages delivery gave up on, by id."""
    return list(db.execute(_DEAD_MAILS).all())


def requeue_dead_mails(db: Session, ids: Sequence[int] | None) -> list[int]:
    """Make dead messages (`ids`, or every one for None) due now with no attempts counted;
    returns the ids changed (unordered)."""
    sql = ("UPDATE samsyn_mail_outbox SET dead_at = NULL, attempts = 0, next_attempt_at = now() "
           "WHERE dead_at IS NOT NULL AND sent_at IS NULL")
    params: dict[str, Any] = {}
    if ids is not None:
        sql += " AND id = ANY(:ids)"
        params["ids"] = list(ids)
    return [r[0] for r in db.execute(text(sql + " RETURNING id"), params)]


# --- request authentication (accounts.authentication): prepared reads, autocommit connection ---

# Rows of auth_user_by_id / auth_user_by_key: these columns (AuthUser's fields), then one extra.
AUTH_USER_COLUMNS = (User.id, User.username, User.email, User.first_name, User.last_name,
                     User.is_active)
AUTH_IS_ACTIVE = 5
AUTH_EXTRA = 6  # the first column after the user's: valid_after (JWT) / created (key)
# A user row with its token epoch: one round trip.
_AUTH_USER_BY_ID = Query(select(*AUTH_USER_COLUMNS, UserTokenEpoch.valid_after)
                         .outerjoin(UserTokenEpoch, UserTokenEpoch.user_id == User.id)
                         .where(User.id == bindparam("id")))
_AUTH_USER_BY_KEY = Query(select(*AUTH_USER_COLUMNS, AuthToken.created)
                          .join(AuthToken, AuthToken.user_id == User.id)
                          .where(AuthToken.key == bindparam("key")))
_DELETE_LOGIN_KEY = Query(delete(AuthToken).where(AuthToken.key == bindparam("key")))
_JTI_DENIED = Query(select(TokenDenylist.jti).where(TokenDenylist.jti == bindparam("jti")))


def auth_user_by_id(conn: Reader, user_id: int) -> tuple[Any, ...] | None:
    """The user's AUTH_USER_COLUMNS and its token epoch's valid_after (None: no epoch)."""
    return _AUTH_USER_BY_ID.first(conn, id=user_id)


def auth_user_by_key(conn: Reader, key: str) -> tuple[Any, ...] | None:
    """The AUTH_USER_COLUMNS of the login key's user and the key's created time."""
    return _AUTH_USER_BY_KEY.first(conn, key=key)


def delete_login_key(conn: Reader, key: str) -> None:
    conn.execute(_DELETE_LOGIN_KEY.sql, _DELETE_LOGIN_KEY.bind({"key": key}), prepare=True)


def jti_denied(conn: Reader, jti: str) -> bool:
    """The JWT id is on the denylist (logged out / revoked)."""
    return _JTI_DENIED.first(conn, jti=jti) is not None
