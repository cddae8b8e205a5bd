"""Wire shapes and field tables of the user endpoints (Django's User model rules)."""
from __future__ import annotations

import re
from typing import Any

import msgspec

from samsyn.compat.validation import CharField, ReadOnlyField

INVALID_USERNAME = ("Enter a valid username. This value may contain only letters, numbers, and "
                    "@/./+/-/_ characters.")
INVALID_EMAIL = "Enter a valid email address."
USERNAME_TAKEN = "A user with that username already exists."
USERNAME_HELP = "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."

_USERNAME = re.compile(r"[\w.@+-]+\Z")
# Django's EmailValidator, in short: a dot-atom or quoted local part, a domain of labels
# with a TLD, or an IP literal.
_EMAIL_USER = re.compile(
    r"(^[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*\Z"
    r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z)',
    re.IGNORECASE)
_EMAIL_DOMAIN = re.compile(
    r"((?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+)(?:[A-Z0-9-]{2,63}(?<!-))\Z", re.IGNORECASE)
_EMAIL_LITERAL = re.compile(r"\[([A-F0-9:.]+)\]\Z", re.IGNORECASE)


def username_error(value: str) -> str | None:
    return None if _USERNAME.match(value) else INVALID_USERNAME


def email_error(value: str) -> str | None:
    """Django's EmailValidator verdict on a non-empty value."""
    if "@" not in value or len(value) > 320:
        return INVALID_EMAIL
    user, domain = value.rsplit("@", 1)
    if not _EMAIL_USER.match(user):
        return INVALID_EMAIL
    if domain == "localhost" or _EMAIL_LITERAL.match(domain):
        return None
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return INVALID_EMAIL
    return None if _EMAIL_DOMAIN.match(domain) else INVALID_EMAIL


PROFILE_FIELDS = (
    ReadOnlyField("id"),
    CharField("username", max_length=150, validators=(username_error,),
              unique_message=USERNAME_TAKEN, help_text=USERNAME_HELP),
    CharField("email", max_length=254, required=False, allow_blank=True,
              trailing=(email_error,), label="Email address", kind="email",
              invalid_message=INVALID_EMAIL),
    CharField("first_name", max_length=150, required=False, allow_blank=True),
    CharField("last_name", max_length=150, required=False, allow_blank=True),
)


class ProfileOut(msgspec.Struct):
    """The legacy UserProfileSerializer: id, username, email, first_name, last_name."""

    id: int
    username: str
    email: str
    first_name: str
    last_name: str


def profile_out(row: Any) -> ProfileOut:
    return ProfileOut(row.id, row.username, row.email, row.first_name, row.last_name)


# --- dj-rest-auth serializers (field order = the legacy serializer's) -------------------------

EMAIL_TAKEN = "A user is already registered with this e-mail address."
PASSWORDS_DIFFER_ASCII = "The two password fields didn't match."       # RegisterSerializer
PASSWORDS_DIFFER = "The two password fields didn\u2019t match."         # Django SetPasswordForm
BAD_CREDENTIALS = "Unable to log in with provided credentials."
MISSING_USERNAME = 'Must include "username" and "password".'
INVALID_VALUE = "Invalid value"


def _email(name: str = "email", *, required: bool = True, allow_blank: bool = False,
           label: str = "Email") -> CharField:
    return CharField(name, required=required, allow_blank=allow_blank, trailing=(email_error,),
                     label=label, kind="email", invalid_message=INVALID_EMAIL)


LOGIN_FIELDS = (
    CharField("username", required=False, allow_blank=True),
    _email(required=False, allow_blank=True),
    CharField("password"),
)

USER_DETAILS_FIELDS = (
    ReadOnlyField("pk", label="ID"),
    CharField("username", max_length=150, validators=(username_error,),
              unique_message=USERNAME_TAKEN, help_text=USERNAME_HELP),
    ReadOnlyField("email", kind="email", label="Email address"),
    CharField("first_name", max_length=150, required=False, allow_blank=True),
    CharField("last_name", max_length=150, required=False, allow_blank=True),
)

PASSWORD_CHANGE_FIELDS = (
    CharField("new_password1", max_length=128, label="New password1"),
    CharField("new_password2", max_length=128, label="New password2"),
)

PASSWORD_RESET_FIELDS = (_email(),)

PASSWORD_RESET_CONFIRM_FIELDS = (
    *PASSWORD_CHANGE_FIELDS,
    CharField("uid", label="Uid"),
    CharField("token", label="Token"),
)

REGISTER_FIELDS = (
    CharField("username", max_length=150, min_length=1),
    _email(required=False),
    CharField("password1", label="Password1"),
    CharField("password2", label="Password2"),
)

VERIFY_EMAIL_FIELDS = (CharField("key", label="Key"),)

RESEND_EMAIL_FIELDS = (_email(required=False),)


class UserDetailsOut(msgspec.Struct):
    """dj-rest-auth UserDetailsSerializer: pk, username, email, first_name, last_name."""

    pk: int
    username: str
    email: str
    first_name: str
    last_name: str


def user_details_out(row: Any) -> UserDetailsOut:
    return UserDetailsOut(row.id, row.username, row.email, row.first_name, row.last_name)
