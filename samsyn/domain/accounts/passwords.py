"""Django's password hashers: pbkdf2_sha256 (Django 4.1: 390000 iterations) to make and verify,
plus verification of the other formats a Django database may hold."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

PBKDF2_ITERATIONS = 390_000
_SALT_CHARS = string.ascii_letters + string.digits
UNUSABLE_PREFIX = "!"


def _pbkdf2(password: str, salt: str, iterations: int, digest: str = "sha256") -> str:
    raw = hashlib.pbkdf2_hmac(digest, password.encode(), salt.encode(), iterations)
    return base64.b64encode(raw).decode("ascii").strip()


def make_password(password: str, *, salt: str | None = None,
                  iterations: int = PBKDF2_ITERATIONS) -> str:
    """`pbkdf2_sha256$390000$<22-char salt>$<base64 sha256>` exactly as Django writes it."""
    salt = salt or "".join(secrets.choice(_SALT_CHARS) for _ in range(22))
    return f"pbkdf2_sha256${iterations}${salt}${_pbkdf2(password, salt, iterations)}"


def check_password(password: str, encoded: str) -> bool:
    """Verify against pbkdf2_sha256 / pbkdf2_sha1 / sha1 / md5 encodings (constant time)."""
    if not encoded or encoded.startswith(UNUSABLE_PREFIX):
        return False
    algorithm, _, rest = encoded.partition("$")
    if algorithm in ("pbkdf2_sha256", "pbkdf2_sha1"):
        try:
            iterations_text, salt, expected = rest.split("$", 2)
            iterations = int(iterations_text)
        except ValueError:
            return False
        digest = "sha256" if algorithm == "pbkdf2_sha256" else "sha1"
        return hmac.compare_digest(_pbkdf2(password, salt, iterations, digest), expected)
    if algorithm in ("sha1", "md5"):
        salt, _, expected = rest.partition("$")
        actual = hashlib.new(algorithm, (salt + password).encode()).hexdigest()
        return hmac.compare_digest(actual, expected)
    return False


def needs_upgrade(encoded: str) -> bool:
    """Django re-hashes on login when the algorithm or the iteration count is outdated."""
    parts = encoded.split("$")
    return not (len(parts) == 4 and parts[0] == "pbkdf2_sha256"
                and parts[1] == str(PBKDF2_ITERATIONS))
