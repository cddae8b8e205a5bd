"""Django 4.1's default AUTH_PASSWORD_VALIDATORS, with Django's messages and order:
UserAttributeSimilarity, MinimumLength(8), CommonPassword (Django's own 20,000-password list,
shipped here as common-passwords.txt.gz, copied unchanged from Django 4.1.13), Numeric.
"""
from __future__ import annotations

import functools
import gzip
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

TOO_SHORT = "This password is too short. It must contain at least {n} characters."
TOO_COMMON = "This password is too common."
ENTIRELY_NUMERIC = "This password is entirely numeric."
TOO_SIMILAR = "The password is too similar to the {name}."
MIN_LENGTH = 8
MAX_SIMILARITY = 0.7
# (attribute, verbose_name) in Django's DEFAULT_USER_ATTRIBUTES order
USER_ATTRIBUTES = (("username", "username"), ("first_name", "first name"),
                   ("last_name", "last name"), ("email", "email address"))
_LIST = Path(__file__).with_name("common-passwords.txt.gz")


@dataclass(frozen=True, slots=True)
class UserAttributes:
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""


@functools.cache
def common_passwords() -> frozenset[str]:
    with gzip.open(_LIST, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f)


def _exceeds_maximum_length_ratio(password: str, max_similarity: float, value: str) -> bool:
    pwd_len = len(password)
    length_bound_similarity = max_similarity / 2 * pwd_len
    value_len = len(value)
    return pwd_len >= 10 * value_len and value_len < length_bound_similarity


def similarity_error(password: str, user: UserAttributes | None) -> str | None:
    """UserAttributeSimilarityValidator: the first attribute part the password resembles."""
    if user is None:
        return None
    password = password.lower()
    for attribute, verbose_name in USER_ATTRIBUTES:
        value = getattr(user, attribute)
        if not value or not isinstance(value, str):
            continue
        value_lower = value.lower()
        for part in [*re.split(r"\W+", value_lower), value_lower]:
            if _exceeds_maximum_length_ratio(password, MAX_SIMILARITY, part):
                continue
            if SequenceMatcher(a=password, b=part).quick_ratio() >= MAX_SIMILARITY:
                return TOO_SIMILAR.format(name=verbose_name)
    return None


def password_errors(password: str, user: UserAttributes | None = None) -> list[str]:
    """validate_password(): every validator's message, in Django's validator order."""
    errors = []
    similar = similarity_error(password, user)
    if similar:
        errors.append(similar)
    if len(password) < MIN_LENGTH:
        errors.append(TOO_SHORT.format(n=MIN_LENGTH))
    if password.lower().strip() in common_passwords():
        errors.append(TOO_COMMON)
    if password.isdigit():
        errors.append(ENTIRELY_NUMERIC)
    return errors
