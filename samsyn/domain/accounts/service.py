"""Account use-cases: the user's own profile and the dj-rest-auth / allauth flows."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from samsyn.compat.validation import Unique, unstorable, validate
from samsyn.db.models import User
from samsyn.domain.accounts import mail, passwords, queries, sessions, tokens
from samsyn.domain.accounts.password_validation import UserAttributes, password_errors
from samsyn.domain.accounts.schemas import (
    BAD_CREDENTIALS,
    EMAIL_TAKEN,
    INVALID_VALUE,
    LOGIN_FIELDS,
    MISSING_USERNAME,
    PASSWORD_CHANGE_FIELDS,
    PASSWORD_RESET_CONFIRM_FIELDS,
    PASSWORD_RESET_FIELDS,
    PASSWORDS_DIFFER,
    PASSWORDS_DIFFER_ASCII,
    PROFILE_FIELDS,
    REGISTER_FIELDS,
    RESEND_EMAIL_FIELDS,
    USER_DETAILS_FIELDS,
    USERNAME_TAKEN,
    VERIFY_EMAIL_FIELDS,
    ProfileOut,
    UserDetailsOut,
    profile_out,
    user_details_out,
    username_error,
)
from samsyn.errors import InvalidInput, NotFound, Throttled
from samsyn.settings import Rate


def _user(db: Session, user_id: int, *, lock: bool = False) -> User:
    user = queries.user_by_id(db, user_id, lock=lock)
    if user is None:
        raise NotFound
    return user


def get_profile(db: Session, user_id: int) -> ProfileOut:
    return profile_out(_user(db, user_id))


def update_profile(db: Session, user_id: int, read_data: Callable[[], Any], *,
                   partial: bool) -> ProfileOut:
    user = _user(db, user_id, lock=True)

    def taken(path: str, name: str, value: str) -> bool:
        if unstorable(value):  # rejected by the null/surrogate validators anyway
            return False
        return queries.other_user_has_username(db, value, user_id)

    values = validate(PROFILE_FIELDS, read_data(), partial=partial, unique=Unique(taken))
    if values:
        try:
            with db.begin_nested():
                queries.update_user(db, user_id, values)
        except IntegrityError:
            raise InvalidInput({"username": [USERNAME_TAKEN]}) from None
        db.refresh(user)
    return profile_out(user)


# --- dj-rest-auth / allauth flows --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Client:
    """The request facts the flows need (no HTTP types: routes fill it in)."""

    site: mail.Site
    secret: str
    session_key: str | None = None   # the `sessionid` cookie, if any
    key_lifetime: float = tokens.LOGIN_KEY_LIFETIME   # seconds a login key authenticates


@dataclass(frozen=True, slots=True)
class Presented:
    """The credential an authenticated request presented (revoked by logout/password change)."""

    user_id: int
    kind: str                        # "jwt" or "key"
    token: str                       # jti or DRF key
    expires: dt.datetime | None = None


@dataclass
class SessionOutcome:
    """What the response must tell the browser about Django's session and messages."""

    session_key: str | None = None   # a new session: send `sessionid`
    rotate_csrf: bool = False        # django.middleware.csrf.rotate_token (login)
    delete_session_cookie: bool = False
    messages: str | None = None      # a `messages` cookie value
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Guard:
    """A flow's throttles (None: off) and the client address they count."""

    counters: Callable[[], Session]   # autocommit sessions: a hit stays counted when the
    address: str                      # flow's own transaction rolls back
    per_address: Rate | None
    per_account: Rate | None


# Keys beyond this are hashed: a btree entry must stay well under PostgreSQL's ~2.7 kB.
_MAX_KEY = 128


def _count(guard: Guard, scope: str, key: str, rate: Rate | None
           ) -> tuple[str, str, dt.datetime] | None:
    """DRF's SimpleRateThrottle.allow_request for `key`, over a fixed window shared by every
    process. Raises Throttled (with the seconds to the window's end) when over `rate`; returns
    the counted (scope, key, window end) or None when the throttle is off."""
    if rate is None:
        return None
    if len(key) > _MAX_KEY:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    with guard.counters() as counters:
        hits, window_end, left = queries.throttle_hit(counters, scope, key, rate.requests,
                                                      rate.seconds)
    if hits > rate.requests:
        raise Throttled(left)
    return scope, key, window_end


def _validate_each(fields: tuple[Any, ...], data: Any,
                   hooks: dict[str, Callable[[Any], list[str]]] | None = None
                   ) -> dict[str, Any]:
    """DRF Serializer.to_internal_value: every field validated in order, then its
    validate_<field> hook when the field itself passed; all errors reported together."""
    validate((), data)  # None / non-dict bodies fail as a whole
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for spec in fields:
        try:
            got = validate((spec,), data)
        except InvalidInput as exc:
            errors.update(exc.errors)
            continue
        if spec.name in got and hooks and spec.name in hooks:
            messages = hooks[spec.name](got[spec.name])
            if messages:
                errors[spec.name] = messages
                continue
        values.update(got)
    if errors:
        raise InvalidInput(errors)
    return values


def _attributes(user: Any) -> UserAttributes:
    return UserAttributes(user.username or "", user.first_name or "", user.last_name or "",
                          user.email or "")


def _set_password_form(p1: str, p2: str, user: UserAttributes) -> None:
    """Django SetPasswordForm.clean_new_password2: errors under new_password2."""
    if p1 and p2 and p1 != p2:
        raise InvalidInput({"new_password2": [PASSWORDS_DIFFER]})
    errors = password_errors(p2, user)
    if errors:
        raise InvalidInput({"new_password2": errors})


def _revoke(db: Session, presented: Presented | None) -> None:
    if presented is None:
        return
    if presented.kind == "jwt":
        queries.deny_jti(db, presented.token, presented.expires
                         or queries.now() + dt.timedelta(days=1))
    else:
        queries.delete_token(db, presented.user_id)


def login(db: Session, read_data: Callable[[], Any], client: Client,
          guard: Guard | None = None) -> tuple[str, SessionOutcome]:
    """dj-rest-auth LoginView with allauth's username method and Django's ModelBackend.

    Throttled (guard): every attempt per client address, and the failed ones per username.
    Raises Throttled before the password is hashed."""
    if guard is not None:  # DRF's check_throttles: before the body is parsed
        _count(guard, "login_ip", guard.address, guard.per_address)
    values = validate(LOGIN_FIELDS, read_data())
    username, password = values.get("username"), values.get("password")
    if not (username and password):
        raise InvalidInput({"non_field_errors": [MISSING_USERNAME]})
    # Counted before the check, so that parallel guesses cannot all pass a count that only
    # failures raise; a success takes its hit back below. Unknown usernames count alike (a
    # 429 must not tell which accounts exist).
    attempt = None if guard is None else _count(guard, "login_account", username,
                                                guard.per_account)
    user = queries.user_by_username(db, username)
    if user is None:
        passwords.make_password(password)  # ModelBackend: the same work for unknown users
        raise InvalidInput({"non_field_errors": [BAD_CREDENTIALS]})
    if not passwords.check_password(password, user.password):
        raise InvalidInput({"non_field_errors": [BAD_CREDENTIALS]})
    if passwords.needs_upgrade(user.password):
        queries.set_password(db, user.id, passwords.make_password(password))
        db.refresh(user)
    if not user.is_active:
        raise InvalidInput({"non_field_errors": [BAD_CREDENTIALS]})
    if attempt is not None:  # in the login's transaction: only a committed login is refunded
        queries.throttle_refund(db, *attempt)
    key = queries.token_for(db, user.id, client.key_lifetime)
    queries.touch_last_login(db, user.id)
    session_key = sessions.login(db, client.session_key, user.id, user.password, client.secret,
                                 tokens.session_auth_hash)
    return key, SessionOutcome(session_key=session_key, rotate_csrf=True)


def logout(db: Session, presented: Presented | None, client: Client) -> SessionOutcome:
    """dj-rest-auth LogoutView: delete the user's DRF token, flush the session; samsyn also
    revokes a presented JWT (decision 3 of docs/architecture.md)."""
    if presented is not None:
        queries.delete_token(db, presented.user_id)
        if presented.kind == "jwt":
            _revoke(db, presented)
    sessions.delete(db, client.session_key)
    return SessionOutcome(delete_session_cookie=client.session_key is not None)


def get_user_details(db: Session, user_id: int) -> UserDetailsOut:
    return user_details_out(_user(db, user_id))


def update_user_details(db: Session, user_id: int, read_data: Callable[[], Any], *,
                        partial: bool) -> UserDetailsOut:
    """UserDetailsSerializer: allauth's case-insensitive username check, which excludes the
    user itself here (decision 5 of docs/architecture.md)."""
    user = _user(db, user_id, lock=True)

    def taken(path: str, name: str, value: str) -> bool:
        return not unstorable(value) and queries.username_taken(db, value, exclude_id=user_id)

    values = validate(USER_DETAILS_FIELDS, read_data(), partial=partial, unique=Unique(taken))
    if values:
        try:
            with db.begin_nested():
                queries.update_user(db, user_id, values)
        except IntegrityError:
            raise InvalidInput({"username": [USERNAME_TAKEN]}) from None
        db.refresh(user)
    return user_details_out(user)


def change_password(db: Session, presented: Presented, read_data: Callable[[], Any],
                    client: Client) -> SessionOutcome:
    """dj-rest-auth PasswordChangeView (no old password): SetPasswordForm, then
    update_session_auth_hash. samsyn also ends the user's credentials as a new password ends
    Django's other sessions: the login key is deleted, every JWT issued before now is
    refused, and the one presented is denylisted (decision 3 of docs/architecture.md)."""
    user = _user(db, presented.user_id, lock=True)
    values = validate(PASSWORD_CHANGE_FIELDS, read_data())
    _set_password_form(values["new_password1"], values["new_password2"], _attributes(user))
    encoded = passwords.make_password(values["new_password1"])
    queries.set_password(db, user.id, encoded)
    queries.end_credentials(db, user.id)
    _revoke(db, presented)
    session_key = sessions.cycle(db, client.session_key, {
        sessions.AUTH_HASH: tokens.session_auth_hash(encoded, client.secret)}, client.secret)
    return SessionOutcome(session_key=session_key)


def _reset_user(db: Session, user: User) -> tokens.ResetUser:
    """EmailAwarePasswordResetTokenGenerator's inputs (it syncs the user's e-mail first)."""
    queries.sync_user_email(db, user)
    return tokens.ResetUser(user.id, user.password, user.last_login, user.email or "",
                            tuple(queries.emails_of(db, user.id)))


def reset_token(db: Session, user: User, secret: str) -> tuple[str, str]:
    """(uid, token) as allauth's reset form makes them."""
    return tokens.uid_of(user.id), tokens.make_reset_token(_reset_user(db, user), secret)


def request_password_reset(db: Session, read_data: Callable[[], Any], client: Client,
                           guard: Guard | None = None) -> None:
    """dj-rest-auth PasswordResetView + allauth's reset form: one mail per active user with
    that address (the legacy crashed here; decision 4 of docs/architecture.md: a working link).

    Throttled (guard): every request per client address and per address asked for (each one
    may send a mail), known or not."""
    if guard is not None:
        _count(guard, "password_reset_ip", guard.address, guard.per_address)
    email = validate(PASSWORD_RESET_FIELDS, read_data())["email"]
    if guard is not None:  # allauth matches the address case-insensitively
        _count(guard, "password_reset_account", email.lower(), guard.per_account)
    for user in queries.active_users_by_email(db, email):
        uid, token = reset_token(db, user, client.secret)
        body = mail.reset_body(client.site, user.username, mail.reset_url(client.site, uid, token))
        mail.enqueue(db, client.site, email, mail.RESET_SUBJECT, body)


def confirm_password_reset(db: Session, read_data: Callable[[], Any], secret: str) -> None:
    """dj-rest-auth PasswordResetConfirmSerializer with allauth's base36 uid and token."""
    values = validate(PASSWORD_RESET_CONFIRM_FIELDS, read_data())
    pk = tokens.pk_of_uid(values["uid"])
    user = queries.user_by_id(db, pk, lock=True) if pk is not None else None
    if user is None:
        raise InvalidInput({"uid": [INVALID_VALUE]})
    if not tokens.check_reset_token(_reset_user(db, user), values["token"], secret):
        raise InvalidInput({"token": [INVALID_VALUE]})
    _set_password_form(values["new_password1"], values["new_password2"], _attributes(user))
    queries.set_password(db, user.id, passwords.make_password(values["new_password1"]))
    queries.end_credentials(db, user.id)   # whoever held the old credentials is out


def _send_confirmation(db: Session, client: Client, address: Any, username: str) -> None:
    key = tokens.make_confirmation_key(address.id, client.secret)
    mail.enqueue(db, client.site, address.email, mail.CONFIRM_SUBJECT,
                 mail.confirmation_body(client.site, username, key))


def register(db: Session, read_data: Callable[[], Any], client: Client) -> SessionOutcome:
    """dj-rest-auth RegisterView + allauth signup with ACCOUNT_EMAIL_VERIFICATION "optional":
    the user, its EmailAddress and the confirmation mail commit together, then the new user
    is logged in (session + messages cookies)."""

    def clean_username(value: str) -> list[str]:
        message = username_error(value)
        if message:
            return [message]
        return [USERNAME_TAKEN] if queries.username_taken(db, value) else []

    def clean_email(value: str) -> list[str]:
        return [EMAIL_TAKEN] if value and queries.email_taken(db, value) else []

    def clean_password(value: str) -> list[str]:
        return password_errors(value)

    values = _validate_each(REGISTER_FIELDS, read_data(), {
        "username": clean_username, "email": clean_email, "password1": clean_password})
    if values["password1"] != values["password2"]:
        raise InvalidInput({"non_field_errors": [PASSWORDS_DIFFER_ASCII]})
    username, email = values["username"], values.get("email", "")
    similar = password_errors(values["password1"], UserAttributes(username=username, email=email))
    if similar:
        raise InvalidInput({"non_field_errors": similar})
    encoded = passwords.make_password(values["password1"])
    try:
        with db.begin_nested():
            user_id = queries.create_user(db, username=username, email=email, password=encoded)
    except IntegrityError:  # a concurrent registration won the username
        raise InvalidInput({"username": [USERNAME_TAKEN]}) from None
    messages: list[tuple[int, str]] = []
    if email:
        address_id = queries.add_email(db, user_id, email, primary=True)
        address = queries.emailaddress(db, address_id, unverified_only=False)
        _send_confirmation(db, client, address, username)
        messages.append((sessions.INFO, f"Confirmation e-mail sent to {email}."))
    # allauth stashes the new user in the session, then logs in (last_login, session, csrf)
    queries.touch_last_login(db, user_id)
    stash = {"account_user": tokens.uid_of(user_id)}
    session_key = sessions.cycle(db, client.session_key, stash, client.secret)
    session_key = sessions.login(db, session_key, user_id, encoded, client.secret,
                                 tokens.session_auth_hash)
    messages.append((sessions.SUCCESS, f"Successfully signed in as {username}."))
    return SessionOutcome(session_key=session_key, rotate_csrf=True,
                          messages=sessions.messages_cookie_value(messages, client.secret))


def _confirm(db: Session, address: Any) -> None:
    """EmailConfirmation(HMAC).confirm: verify, and make it primary when the user has none."""
    if address.verified:
        return
    address.verified = True
    if not queries.has_primary(db, address.user_id):
        address.primary = True
        queries.set_user_email(db, address.user_id, address.email)
    db.flush()


def _confirmation_address(db: Session, key: str, secret: str) -> Any:
    """allauth ConfirmEmailView.get_object: an HMAC key of an unverified address, else a
    stored (non-HMAC) confirmation key that has not expired."""
    pk = tokens.confirmation_pk(key, secret)
    address = queries.emailaddress(db, pk, unverified_only=True) if pk is not None else None
    if address is None:
        address = queries.emailaddress_by_confirmation(db, key, tokens.CONFIRMATION_MAX_AGE)
    return address


def verify_email(db: Session, read_data: Callable[[], Any], secret: str) -> None:
    """dj-rest-auth VerifyEmailView."""
    key = validate(VERIFY_EMAIL_FIELDS, read_data())["key"]
    address = _confirmation_address(db, key, secret)
    if address is None:
        raise NotFound
    _confirm(db, address)


def confirm_email_link(db: Session, key: str, secret: str) -> str | None:
    """GET account-confirm-email/<key>/: confirm (the legacy answered 500); the address."""
    address = _confirmation_address(db, key, secret)
    if address is None:
        return None
    _confirm(db, address)
    return str(address.email)


def resend_email(db: Session, read_data: Callable[[], Any], client: Client) -> None:
    """dj-rest-auth ResendEmailVerificationView: EmailAddress.filter(**data).first()."""
    values = validate(RESEND_EMAIL_FIELDS, read_data())
    address = queries.first_emailaddress(db, values.get("email"))
    if address is not None and not address.verified:
        owner = queries.user_by_id(db, address.user_id)
        _send_confirmation(db, client, address, owner.username if owner else "")


def purge_expired(db: Session) -> tuple[int, int, int]:
    """Housekeeping for a periodic job: expired denylist entries (their JWTs fail on `exp`
    anyway), expired Django sessions (manage.py clearsessions) and the throttle counters of
    ended windows. Returns the row counts."""
    return (queries.delete_expired_denylist(db), queries.delete_expired_sessions(db),
            queries.delete_ended_throttle_windows(db))
