"""Django's password hashing and validators, against vectors produced by Django 4.1.13 itself
(the legacy's version) and the hash recorded in contract/NOTES.md §3."""
from __future__ import annotations

import pytest

from samsyn.domain.accounts import passwords
from samsyn.domain.accounts.password_validation import (
    UserAttributes,
    common_passwords,
    password_errors,
)

NOTES_HASH = ("pbkdf2_sha256$390000$v7cT4DhEoMX8KlMA8cuAOa$"
              "eby7wZoKwjAr10Brp5ghXcEBRuoca/UZ79dRfDOOd1g=")
ALICE = UserAttributes(username="alice", first_name="Alice", last_name="Liddell",
                       email="alice@example.com")

# validate_password(password, user) messages from Django 4.1.13 with the startproject
# AUTH_PASSWORD_VALIDATORS ("none": user=None as dj-rest-auth's validate_password1 calls it).
DJANGO_VERDICTS = [
    ('none', 'x', ['This password is too short. It must contain at least 8 characters.',
                   'This password is too common.']),
    ('alice', 'x', ['This password is too short. It must contain at least 8 characters.',
                    'This password is too common.']),
    ('none', 'abc', ['This password is too short. It must contain at least 8 characters.',
                     'This password is too common.']),
    ('alice', 'abc', ['This password is too short. It must contain at least 8 characters.',
                      'This password is too common.']),
    ('none', 'password', ['This password is too common.']),
    ('alice', 'password', ['This password is too common.']),
    ('none', 'password1', ['This password is too common.']),
    ('alice', 'password1', ['This password is too common.']),
    ('none', '8274619305', ['This password is entirely numeric.']),
    ('alice', '8274619305', ['This password is entirely numeric.']),
    ('none', '123', ['This password is too short. It must contain at least 8 characters.',
                     'This password is too common.',
                     'This password is entirely numeric.']),
    ('alice', '123', ['This password is too short. It must contain at least 8 characters.',
                      'This password is too common.',
                      'This password is entirely numeric.']),
    ('none', 'alice1234', []),
    ('alice', 'alice1234', ['The password is too similar to the username.']),
    ('none', 'alice@example', []),
    ('alice', 'alice@example', ['The password is too similar to the email address.']),
    ('none', 'Str0ng-Pass-123', []),
    ('alice', 'Str0ng-Pass-123', []),
    ('none', 'N3w-Passw0rd!', []),
    ('alice', 'N3w-Passw0rd!', []),
    ('none', 'liddell99', []),
    ('alice', 'liddell99', ['The password is too similar to the last name.']),
    ('none', 'ALICE', ['This password is too short. It must contain at least 8 characters.',
                       'This password is too common.']),
    ('alice', 'ALICE', ['The password is too similar to the username.',
                        'This password is too short. It must contain at least 8 characters.',
                        'This password is too common.']),
    ('none', 'example.com', []),
    ('alice', 'example.com', ['The password is too similar to the email address.']),
    ('none', 'qwertyuiop', ['This password is too common.']),
    ('alice', 'qwertyuiop', ['This password is too common.']),
    ('none', '  Password  ', ['This password is too common.']),
    ('alice', '  Password  ', ['This password is too common.']),
    ('none', 'Ab1!', ['This password is too short. It must contain at least 8 characters.']),
    ('alice', 'Ab1!', ['This password is too short. It must contain at least 8 characters.']),
    ('none', 'frankie12', []),
    ('alice', 'frankie12', []),
    ('none', 'aliceliddell', []),
    ('alice', 'aliceliddell', ['The password is too similar to the last name.']),
]


def test_notes_hash_verifies() -> None:
    assert passwords.check_password("Str0ng-Pass-123", NOTES_HASH)
    assert not passwords.check_password("Str0ng-Pass-124", NOTES_HASH)
    assert not passwords.needs_upgrade(NOTES_HASH)


def test_make_password_format_and_salt() -> None:
    encoded = passwords.make_password("Str0ng-Pass-123", salt="v7cT4DhEoMX8KlMA8cuAOa")
    assert encoded == NOTES_HASH
    fresh = passwords.make_password("x")
    algorithm, iterations, salt, digest = fresh.split("$")
    assert (algorithm, iterations, len(salt), len(digest)) == ("pbkdf2_sha256", "390000", 22, 44)
    assert passwords.check_password("x", fresh)


def test_other_django_hashers_and_upgrade() -> None:
    old = passwords.make_password("pw", salt="abc", iterations=260000)
    assert passwords.check_password("pw", old)
    assert passwords.needs_upgrade(old)
    assert not passwords.check_password("pw", "!unusable")
    assert not passwords.check_password("pw", "")
    import hashlib
    assert passwords.check_password("pw", "sha1$s$" + hashlib.sha1(b"spw").hexdigest())
    assert passwords.check_password("pw", "md5$s$" + hashlib.md5(b"spw").hexdigest())


@pytest.mark.parametrize(("who", "password", "expected"), DJANGO_VERDICTS)
def test_validators_match_django(who: str, password: str, expected: list[str]) -> None:
    user = ALICE if who == "alice" else None
    assert password_errors(password, user) == expected


def test_common_password_list_is_djangos() -> None:
    common = common_passwords()
    assert len(common) == 19727  # Django 4.1's 20,000 lines, as a set (exactly as Django reads it)
    assert "password" in common and "qwertyuiop" in common
    assert all(p == p.lower().strip() for p in common)


@pytest.mark.parametrize(("password", "user", "expected"), [
    ("frankie12", UserAttributes(username="frankie", email="f@example.com"),
     ["The password is too similar to the username."]),
    ("N3w-Passw0rd!", ALICE, []),
])
def test_registration_similarity(password: str, user: UserAttributes,
                                 expected: list[str]) -> None:
    # reg-029: the username check dj-rest-auth runs on save
    assert password_errors(password, user) == expected
