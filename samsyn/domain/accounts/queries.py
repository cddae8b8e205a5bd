"""SQL of the accounts flows on Django's tables (auth_user, authtoken_token,
account_emailaddress, account_emailconfirmation), samsyn_token_denylist and
samsyn_user_token_epoch."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from samsyn.db.models import AuthToken, EmailAddress, User, UserTokenEpoch
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
        EmailAddress.user_id == user_id, EmailAddress.primary.is_(True)).limit(1)).first() is not None


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
