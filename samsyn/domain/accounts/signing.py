"""Django 4.1's django.core.signing and the crypto helpers around it, byte for byte.

Values the legacy app signed (allauth e-mail confirmation keys, session data, the messages
cookie) stay valid here and the other way round, as long as both use the same SECRET_KEY.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import zlib
from typing import Any

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE36_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class BadSignature(Exception):
    """The signature does not match (or the value is malformed)."""


class SignatureExpired(BadSignature):
    """The signature is valid but older than max_age."""


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def salted_hmac(key_salt: str | bytes, value: str | bytes, secret: str | bytes, *,
                algorithm: str = "sha1") -> hmac.HMAC:
    """django.utils.crypto.salted_hmac: HMAC keyed with hash(key_salt + secret)."""
    hasher = getattr(hashlib, algorithm)
    key = hasher(_bytes(key_salt) + _bytes(secret)).digest()
    return hmac.new(key, msg=_bytes(value), digestmod=hasher)


def constant_time_compare(a: str | bytes, b: str | bytes) -> bool:
    return hmac.compare_digest(_bytes(a), _bytes(b))


def b62_encode(number: int) -> str:
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    number = abs(number)
    out = ""
    while number > 0:
        number, rem = divmod(number, 62)
        out = BASE62_ALPHABET[rem] + out
    return sign + out


def b62_decode(text: str) -> int:
    if text == "0":
        return 0
    sign = 1
    if text[:1] == "-":
        text, sign = text[1:], -1
    number = 0
    for digit in text:
        index = BASE62_ALPHABET.find(digit)
        if index < 0:
            raise ValueError(f"invalid base62 digit {digit!r}")
        number = number * 62 + index
    return sign * number


def b64_encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).strip(b"=")


def b64_decode(data: bytes) -> bytes:
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


def base64_hmac(salt: str, value: str, key: str | bytes, algorithm: str = "sha1") -> str:
    return b64_encode(salted_hmac(salt, value, key, algorithm=algorithm).digest()).decode()


def int_to_base36(number: int) -> str:
    """django.utils.http.int_to_base36."""
    if number < 0:
        raise ValueError("Negative base36 conversion input.")
    if number < 36:
        return BASE36_ALPHABET[number]
    out = ""
    while number != 0:
        number, rem = divmod(number, 36)
        out = BASE36_ALPHABET[rem] + out
    return out


def base36_to_int(text: str) -> int:
    """django.utils.http.base36_to_int: Python's int(text, 36), at most 13 characters."""
    if len(text) > 13:
        raise ValueError("Base36 input too large")
    return int(text, 36)


def _json_dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("latin-1")


def _json_loads(data: bytes) -> Any:
    return json.loads(data.decode("latin-1"))


class Signer:
    """django.core.signing.Signer (sha256, sep ':')."""

    def __init__(self, key: str | bytes, *, salt: str = "django.core.signing.Signer",
                 sep: str = ":", algorithm: str = "sha256") -> None:
        self.key = key
        self.salt = salt
        self.sep = sep
        self.algorithm = algorithm

    def signature(self, value: str) -> str:
        return base64_hmac(self.salt + "signer", value, self.key, algorithm=self.algorithm)

    def sign(self, value: str) -> str:
        return f"{value}{self.sep}{self.signature(value)}"

    def unsign(self, signed_value: str) -> str:
        if self.sep not in signed_value:
            raise BadSignature(f'No "{self.sep}" found in value')
        value, sig = signed_value.rsplit(self.sep, 1)
        if constant_time_compare(sig, self.signature(value)):
            return value
        raise BadSignature(f'Signature "{sig}" does not match')

    def sign_object(self, obj: Any, *, compress: bool = False,
                    dumps: Any = _json_dumps) -> str:
        data = dumps(obj)
        is_compressed = False
        if compress:
            compressed = zlib.compress(data)
            if len(compressed) < len(data) - 1:
                data, is_compressed = compressed, True
        base64d = b64_encode(data).decode()
        if is_compressed:
            base64d = "." + base64d
        return self.sign(base64d)

    def unsign_object(self, signed_obj: str, *, loads: Any = _json_loads, **kwargs: Any) -> Any:
        base64d = self.unsign(signed_obj, **kwargs).encode()
        decompress = base64d[:1] == b"."
        if decompress:
            base64d = base64d[1:]
        try:
            data = b64_decode(base64d)
            if decompress:
                data = zlib.decompress(data)
            return loads(data)
        except (ValueError, zlib.error) as exc:  # binascii.Error is a ValueError
            raise BadSignature(str(exc)) from None


class TimestampSigner(Signer):
    """Signer that appends a base62 timestamp (django.core.signing.TimestampSigner)."""

    def __init__(self, key: str | bytes, *, salt: str = "django.core.signing.TimestampSigner",
                 sep: str = ":", algorithm: str = "sha256", now: Any = time.time) -> None:
        super().__init__(key, salt=salt, sep=sep, algorithm=algorithm)
        self._now = now

    def timestamp(self) -> str:
        return b62_encode(int(self._now()))

    def sign(self, value: str) -> str:
        return super().sign(f"{value}{self.sep}{self.timestamp()}")

    def unsign(self, value: str, max_age: float | None = None) -> str:  # type: ignore[override]
        result = super().unsign(value)
        if self.sep not in result:
            raise BadSignature("no timestamp")
        value, stamp = result.rsplit(self.sep, 1)
        try:
            timestamp = b62_decode(stamp)
        except ValueError:
            raise BadSignature("bad timestamp") from None
        if max_age is not None:
            age = self._now() - timestamp
            if age > max_age:
                raise SignatureExpired(f"Signature age {age} > {max_age} seconds")
        return value


def dumps(obj: Any, key: str | bytes, *, salt: str = "django.core.signing",
          compress: bool = False, now: Any = time.time) -> str:
    """django.core.signing.dumps (JSONSerializer)."""
    return TimestampSigner(key, salt=salt, now=now).sign_object(obj, compress=compress)


def loads(signed: str, key: str | bytes, *, salt: str = "django.core.signing",
          max_age: float | None = None, now: Any = time.time) -> Any:
    """django.core.signing.loads; raises BadSignature / SignatureExpired."""
    return TimestampSigner(key, salt=salt, now=now).unsign_object(signed, max_age=max_age)


def cookie_signer(secret: str, salt: str, *, now: Any = time.time) -> TimestampSigner:
    """django.core.signing.get_cookie_signer (SIGNING_BACKEND: TimestampSigner)."""
    return TimestampSigner(b"django.http.cookies" + secret.encode(), salt=salt, now=now)
