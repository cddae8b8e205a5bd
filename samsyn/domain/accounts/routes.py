"""HTTP routes of /api/v1/user-profile/ (the legacy UserProfileView) and of the dj-rest-auth /
allauth endpoints under /api/rest-auth/."""
from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, route
from litestar.params import FromPath, RawBody

from samsyn.api import views
from samsyn.api.client_address import client_address
from samsyn.api.views import Call, View, dispatch, ok
from samsyn.compat import pages, wire
from samsyn.compat.validation import metadata
from samsyn.db.engine import get_read_sessions, get_sessions
from samsyn.domain.accounts import authentication as auth_mod
from samsyn.domain.accounts import mail, schemas, service
from samsyn.domain.accounts.service import Client, Guard, Presented, SessionOutcome
from samsyn.settings import Rate, get_settings

USER_PROFILE = View(
    name="User Profile",
    description="API endpoint for retrieving and updating the current user's profile.\n\nGET: "
                "Retrieve the current user's profile\nPUT/PATCH: Update the current user's "
                "profile",
    allow=("GET", "PUT", "PATCH", "HEAD", "OPTIONS"),
    auth_required=True,
    actions={"PUT": metadata(schemas.PROFILE_FIELDS)},
)


def _user_id(call: Call) -> int:
    assert call.user is not None  # the view requires authentication
    return call.user.id


def _retrieve(call: Call) -> Response[Any]:
    with get_read_sessions()() as db:
        out = service.get_profile(db, _user_id(call))
    return ok(USER_PROFILE, call, wire.encode_struct(out))


def _update(call: Call, partial: bool) -> Response[Any]:
    with get_sessions().begin() as db:
        out = service.update_profile(db, _user_id(call), lambda: call.data, partial=partial)
    return ok(USER_PROFILE, call, wire.encode_struct(out))


@route("/api/v1/user-profile/", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD)
def user_profile(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """GET/PUT/PATCH the authenticated user's profile."""
    return dispatch(request, body, USER_PROFILE,
                    {"GET": _retrieve, "PUT": lambda c: _update(c, False),
                     "PATCH": lambda c: _update(c, True)},
                    secret=get_settings().secret_key)


# --- /api/rest-auth/ ------------------------------------------------------------------------

SESSION_COOKIE = "sessionid"
_POST = ("POST", "OPTIONS")
_USER_ALLOW = ("GET", "PUT", "PATCH", "HEAD", "OPTIONS")

LOGIN = View(
    name="Login",
    description=("Check the credentials and return the REST Token\nif the credentials are valid "
                 "and authenticated.\nCalls Django Auth login method to register User ID\nin "
                 "Django session framework\n\nAccept the following POST parameters: username, "
                 "password\nReturn the REST Framework Token Object's key."),
    allow=_POST, actions={"POST": metadata(schemas.LOGIN_FIELDS)})
LOGOUT = View(
    name="Logout",
    description=("Calls Django logout method and delete the Token object\nassigned to the "
                 "current User object.\n\nAccepts/Returns nothing."),
    allow=("GET", "POST", "HEAD", "OPTIONS"))
USER_DETAILS = View(
    name="User Details",
    description=("Reads and updates UserModel fields\nAccepts GET, PUT, PATCH methods.\n\n"
                 "Default accepted fields: username, first_name, last_name\nDefault display "
                 "fields: pk, username, email, first_name, last_name\nRead-only fields: pk, "
                 "email\n\nReturns UserModel fields."),
    allow=_USER_ALLOW, auth_required=True,
    actions={"PUT": metadata(schemas.USER_DETAILS_FIELDS)})
PASSWORD_CHANGE = View(
    name="Password Change",
    description=("Calls Django Auth SetPasswordForm save method.\n\nAccepts the following POST "
                 "parameters: new_password1, new_password2\nReturns the success/fail message."),
    allow=_POST, auth_required=True,
    actions={"POST": metadata(schemas.PASSWORD_CHANGE_FIELDS)})
PASSWORD_RESET = View(
    name="Password Reset",
    description=("Calls Django Auth PasswordResetForm save method.\n\nAccepts the following POST "
                 "parameters: email\nReturns the success/fail message."),
    allow=_POST, actions={"POST": metadata(schemas.PASSWORD_RESET_FIELDS)})
PASSWORD_RESET_CONFIRM = View(
    name="Password Reset Confirm",
    description=("Password reset e-mail link is confirmed, therefore\nthis resets the user's "
                 "password.\n\nAccepts the following POST parameters: token, uid,\n    "
                 "new_password1, new_password2\nReturns the success/fail message."),
    allow=_POST, actions={"POST": metadata(schemas.PASSWORD_RESET_CONFIRM_FIELDS)})
REGISTER = View(name="Register", description="", allow=_POST,
                actions={"POST": metadata(schemas.REGISTER_FIELDS)})
VERIFY_EMAIL = View(name="Verify Email", description="", allow=("POST", "OPTIONS", "HEAD"),
                    actions={"POST": metadata(schemas.VERIFY_EMAIL_FIELDS)})
RESEND_EMAIL = View(name="Resend Email Verification", description="", allow=_POST,
                    actions={"POST": metadata(schemas.RESEND_EMAIL_FIELDS)})


def _secret() -> str:
    return get_settings().secret_key


def _client(call: Call) -> Client:
    """allauth's site (RequestSite: the Host header) and the session cookie."""
    parts = urlsplit(call.absolute_url())
    site = mail.Site(domain=parts.netloc, origin=f"{parts.scheme}://{parts.netloc}")
    return Client(site=site, secret=_secret(),
                  session_key=call.request.cookies.get(SESSION_COOKIE) or None,
                  key_lifetime=get_settings().login_key_lifetime)


def _presented(call: Call) -> Presented | None:
    """The credential behind call.user, with a JWT's expiry (for the denylist)."""
    user = call.user
    if user is None:
        return None
    expires = None
    if user.auth == "jwt":
        raw = auth_mod.bearer_token(call.request.headers.get("authorization"))
        if raw is not None:
            exp = auth_mod.decode_access_token(raw, _secret()).get("exp")
            if isinstance(exp, int | float):
                expires = dt.datetime.fromtimestamp(exp, tz=dt.UTC)
    return Presented(user_id=user.id, kind=user.auth, token=user.token, expires=expires)


def _session_headers(outcome: SessionOutcome, vary: str) -> dict[str, str]:
    """Vary and the Set-Cookie lines Django's session/CSRF/messages middleware sent."""
    cookies = []
    if outcome.rotate_csrf:
        cookies.append(views.csrf_cookie())
    if outcome.messages is not None:
        cookies.append(f"messages={outcome.messages}; HttpOnly; Path=/; SameSite=Lax")
    if outcome.session_key is not None:
        cookies.append(views.cookie(SESSION_COOKIE, outcome.session_key, views.SESSION_MAX_AGE,
                                    http_only=True))
    elif outcome.delete_session_cookie:
        cookies.append(f'{SESSION_COOKIE}=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; '
                       "Path=/; SameSite=Lax")
    headers = {"Vary": vary}
    if cookies:
        headers.update(views.set_cookies(*cookies))
    return headers


def _guard(call: Call, per_address: Rate | None, per_account: Rate | None) -> Guard:
    """The throttles of a flow, counted in autocommit sessions shared by every process."""
    address = client_address(call.request.scope, get_settings().trusted_proxies)
    return Guard(counters=get_read_sessions(), address=address, per_address=per_address,
                 per_account=per_account)


def _dispatch(request: Request[Any, Any, Any], body: RawBody, view: View,
              handlers: dict[str, Any]) -> Response[Any]:
    return dispatch(request, body, view, handlers, secret=_secret())


def _login(call: Call) -> Response[Any]:
    settings = get_settings()
    guard = _guard(call, settings.throttle_login_ip, settings.throttle_login_account)
    with get_sessions().begin() as db:
        key, outcome = service.login(db, lambda: call.data, _client(call), guard)
    return views.json_response(LOGIN, 200, wire.render({"key": key}),
                               extra=_session_headers(outcome, "Accept, Cookie"),
                               negotiated=call.negotiated)


@route("/api/rest-auth/login/", http_method=views.ALL_METHODS,
       sync_to_thread=views.HASHING_TO_THREAD)
def rest_auth_login(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """dj-rest-auth LoginView: a DRF token key plus Django session/CSRF cookies."""
    return _dispatch(request, body, LOGIN, {"POST": _login})


def _logout(call: Call) -> Response[Any]:
    with get_sessions().begin() as db:
        outcome = service.logout(db, _presented(call), _client(call))
    # Django's SessionMiddleware added Cookie after django-cors-headers' origin here.
    return views.detail(LOGOUT, 200, "Successfully logged out.",
                        extra=_session_headers(outcome, "Accept, origin, Cookie"),
                        negotiated=call.negotiated)


@route("/api/rest-auth/logout/", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD)
def rest_auth_logout(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """dj-rest-auth LogoutView (POST only; GET is listed in Allow but answers 405)."""
    return _dispatch(request, body, LOGOUT, {"POST": _logout})


def _user_get(call: Call) -> Response[Any]:
    with get_read_sessions()() as db:
        out = service.get_user_details(db, _user_id(call))
    return ok(USER_DETAILS, call, wire.encode_struct(out))


def _user_update(call: Call, partial: bool) -> Response[Any]:
    with get_sessions().begin() as db:
        out = service.update_user_details(db, _user_id(call), lambda: call.data,
                                          partial=partial)
    return ok(USER_DETAILS, call, wire.encode_struct(out))


@route("/api/rest-auth/user/", http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD)
def rest_auth_user(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """dj-rest-auth UserDetailsView."""
    return _dispatch(request, body, USER_DETAILS,
                     {"GET": _user_get, "PUT": lambda c: _user_update(c, False),
                      "PATCH": lambda c: _user_update(c, True)})


def _password_change(call: Call) -> Response[Any]:
    presented = _presented(call)
    assert presented is not None  # the view requires authentication
    with get_sessions().begin() as db:
        outcome = service.change_password(db, presented, lambda: call.data, _client(call))
    return views.detail(PASSWORD_CHANGE, 200, "New password has been saved.",
                        extra=_session_headers(outcome, "Accept, origin, Cookie"),
                        negotiated=call.negotiated)


@route("/api/rest-auth/password/change/", http_method=views.ALL_METHODS,
       sync_to_thread=views.HASHING_TO_THREAD)
def rest_auth_password_change(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """dj-rest-auth PasswordChangeView."""
    return _dispatch(request, body, PASSWORD_CHANGE, {"POST": _password_change})


def _password_reset(call: Call) -> Response[Any]:
    settings = get_settings()
    guard = _guard(call, settings.throttle_password_reset_ip,
                   settings.throttle_password_reset_account)
    with get_sessions().begin() as db:
        service.request_password_reset(db, lambda: call.data, _client(call), guard)
    return views.detail(PASSWORD_RESET, 200, "Password reset e-mail has been sent.",
                        negotiated=call.negotiated)


@route("/api/rest-auth/password/reset/", http_method=views.ALL_METHODS,
       sync_to_thread=views.SYNC_TO_THREAD)
def rest_auth_password_reset(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """dj-rest-auth PasswordResetView (mails a working link: decision 4 of docs/architecture.md)."""
    return _dispatch(request, body, PASSWORD_RESET, {"POST": _password_reset})


def _password_reset_confirm(call: Call) -> Response[Any]:
    with get_sessions().begin() as db:
        service.confirm_password_reset(db, lambda: call.data, _secret())
    return views.detail(PASSWORD_RESET_CONFIRM, 200,
                        "Password has been reset with the new password.",
                        negotiated=call.negotiated)


@route("/api/rest-auth/password/reset/confirm/", http_method=views.ALL_METHODS,
       sync_to_thread=views.HASHING_TO_THREAD)
def rest_auth_password_reset_confirm(request: Request[Any, Any, Any],
                                     body: RawBody) -> Response[Any]:
    """dj-rest-auth PasswordResetConfirmView."""
    return _dispatch(request, body, PASSWORD_RESET_CONFIRM, {"POST": _password_reset_confirm})


def _register(call: Call) -> Response[Any]:
    with get_sessions().begin() as db:
        outcome = service.register(db, lambda: call.data, _client(call))
    headers = {"Allow": REGISTER.allow_header, "Content-Length": "0",
               **_session_headers(outcome, "Accept, Cookie")}
    return Response(content=b"", status_code=204, headers=headers)


@route("/api/rest-auth/registration/", http_method=views.ALL_METHODS,
       sync_to_thread=views.HASHING_TO_THREAD)
def rest_auth_registration(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """dj-rest-auth RegisterView: 204, the user logged in by session (no token)."""
    return _dispatch(request, body, REGISTER, {"POST": _register})


def _verify_email(call: Call) -> Response[Any]:
    with get_sessions().begin() as db:
        service.verify_email(db, lambda: call.data, _secret())
    return views.detail(VERIFY_EMAIL, 200, "ok", negotiated=call.negotiated)


@route("/api/rest-auth/registration/verify-email/", http_method=views.ALL_METHODS,
       sync_to_thread=views.SYNC_TO_THREAD)
def rest_auth_verify_email(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """dj-rest-auth VerifyEmailView."""
    return _dispatch(request, body, VERIFY_EMAIL, {"POST": _verify_email})


def _resend_email(call: Call) -> Response[Any]:
    with get_sessions().begin() as db:
        service.resend_email(db, lambda: call.data, _client(call))
    return views.detail(RESEND_EMAIL, 200, "ok", negotiated=call.negotiated)


@route("/api/rest-auth/registration/resend-email/", http_method=views.ALL_METHODS,
       sync_to_thread=views.SYNC_TO_THREAD)
def rest_auth_resend_email(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
    """dj-rest-auth ResendEmailVerificationView."""
    return _dispatch(request, body, RESEND_EMAIL, {"POST": _resend_email})


# --- the Django (non-DRF) pages behind the mailed links (the legacy answered 500) ------------

def _page(status: int, title: str, paragraphs: list[str],
          extra: dict[str, str] | None = None) -> Response[Any]:
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    content = (f'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>'
               f"{html.escape(title)}</title></head>\n<body><h1>{html.escape(title)}</h1>\n"
               f"{body}</body>\n</html>\n").encode()
    return Response(content=content, status_code=status, media_type=pages.HTML_MEDIA,
                    headers=extra or {})


def _html_view(request: Request[Any, Any, Any], methods: tuple[str, ...]) -> Response[Any] | None:
    """Django's generic-view preamble: APPEND_SLASH redirect and 405 (empty, with Allow)."""
    method = request.scope.get("samsyn.method", request.method)
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    if not raw_path.endswith(b"/"):
        return views.slash_redirect(request, method)
    if method not in methods:
        return Response(content=b"", status_code=405, media_type=pages.HTML_MEDIA,
                        headers={"Allow": ", ".join(methods)})
    if method == "OPTIONS":  # django.views.View.options
        return Response(content=b"", status_code=200, media_type=pages.HTML_MEDIA,
                        headers={"Allow": ", ".join(methods), "Content-Length": "0"})
    return None


# dj-rest-auth's URL pattern: r"^account-confirm-email/(?P<key>[-:\w]+)/$"
_CONFIRM_KEY = re.compile(r"[-:\w]+")


@route("/api/rest-auth/registration/account-confirm-email/{key:str}/",
       http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
       include_in_schema=False)
def account_confirm_email(request: Request[Any, Any, Any], key: FromPath[str]) -> Response[Any]:
    """The link of the confirmation mail: confirms the address (allauth ConfirmEmailView)."""
    if not _CONFIRM_KEY.fullmatch(key):  # the legacy URLconf's pattern did not match
        return views.html_not_found(views.request_path(request))
    early = _html_view(request, ("GET", "POST", "HEAD", "OPTIONS"))
    if early is not None:
        return early
    with get_sessions().begin() as db:
        email = service.confirm_email_link(db, key, _secret())
    if email is None:
        return _page(404, "Confirm E-mail Address",
                     [("This e-mail confirmation link expired or is invalid. Please issue a new "
                      "e-mail confirmation request.")])
    return _page(200, "Confirm E-mail Address",
                 [f"You have confirmed {html.escape(email)}."])


@route("/api/rest-auth/registration/account-email-verification-sent/",
       http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
       include_in_schema=False)
def account_email_verification_sent(request: Request[Any, Any, Any]) -> Response[Any]:
    """allauth's 'verification sent' page (the legacy answered 500)."""
    early = _html_view(request, ("GET", "HEAD", "OPTIONS"))
    if early is not None:
        return early
    return _page(200, "Verify Your E-mail Address", [
        ("We have sent an e-mail to you for verification. Follow the link provided to finalize "
        "the signup process. If you do not see the verification e-mail in your main inbox, "
        "check your spam folder. Please contact us if you do not receive the verification "
        "e-mail within a few minutes.")])


@route("/api/rest-auth/password/reset/confirm/{uid:str}/{token:str}/",
       http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
       include_in_schema=False)
def password_reset_link(request: Request[Any, Any, Any], uid: FromPath[str],
                        token: FromPath[str]) -> Response[Any]:
    """The link of the reset mail: a form that posts to the reset-confirm endpoint."""
    early = _html_view(request, ("GET", "HEAD", "OPTIONS"))
    if early is not None:
        return early
    form = (
        '<form method="post" action="/api/rest-auth/password/reset/confirm/">'
        f'<input type="hidden" name="uid" value="{html.escape(uid)}">'
        f'<input type="hidden" name="token" value="{html.escape(token)}">'
        '<label>New password <input type="password" name="new_password1"></label> '
        '<label>New password (again) <input type="password" name="new_password2"></label> '
        '<button type="submit">Set password</button></form>')
    return _page(200, "Change Password", [form])
