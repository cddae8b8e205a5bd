"""DRF wire formats: JSONRenderer output and the jsonb -> DRF text conversion.

The legacy rendered every body with DRF's JSONRenderer: json.dumps with compact separators,
ensure_ascii=False, allow_nan=False and Python's float repr (1e+20, 1.5e-07, -0.0). Values read
back from jsonb went through psycopg2's json.loads first, so their numbers are the repr of the
parsed value. Both are reproduced here byte for byte.

Mirrors DRF 3.14 `renderers.JSONRenderer.render` (compact, `ensure_ascii=False`, U+2028/U+2029
escaped) and psycopg2's jsonb typecaster (`json.loads`) feeding it.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec

from samsyn_fast.features import jsonb_text_to_drf

COMPACT = (",", ":")
LONG = (",", ": ")  # json.dumps with indent: no trailing space after items

_encoder = msgspec.json.Encoder()


def render(data: Any, indent: int | None = None) -> bytes:
    """Render Python data exactly as DRF's JSONRenderer does (compact, or indented with
    `indent`)."""
    if indent is None:
        return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=COMPACT).encode()
    return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=indent,
                      separators=LONG).encode()


_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()


def js_safe(body: bytes) -> bytes:
    """U+2028 / U+2029 escaped, as JSONRenderer.render always did ("so that the output is a
    strict JavaScript subset"): every JSON body passes through here once, last."""
    if _LINE_SEPARATOR in body:
        body = body.replace(_LINE_SEPARATOR, b"\\u2028")
    if _PARAGRAPH_SEPARATOR in body:
        body = body.replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
    return body


def encode_struct(value: Any) -> bytes:
    """Encode msgspec Structs whose JSON-valued fields are msgspec.Raw in DRF text already.

    Only valid when the Struct has no float fields (msgspec's float text differs from repr);
    the wire Structs keep every float inside Raw fields produced by `jsonb_to_drf`.
    """
    return _encoder.encode(value)


def reindent(body: bytes, indent: int) -> bytes:
    """Pretty-print an already rendered compact body (`Accept: application/json; indent=N`)."""
    return render(json.loads(body), indent=indent)


def jsonb_to_drf(text: str) -> str:
    """Convert jsonb::text output to the text DRF rendered for the same value (white space
    dropped, numbers with a fraction or an exponent printed as Python's float repr; strings
    pass through: PostgreSQL and Python escape the same characters the same way)."""
    return jsonb_text_to_drf(text).decode()


def raw_jsonb(text: str) -> msgspec.Raw:
    """jsonb text as a msgspec.Raw ready to embed in an encoded Struct."""
    return msgspec.Raw(jsonb_text_to_drf(text))


def drf_datetime(value: dt.datetime | None) -> str | None:
    """DRF DateTimeField.to_representation with USE_TZ and TIME_ZONE 'UTC' (the legacy's):
    the value in UTC, isoformat(), '+00:00' written 'Z'."""
    if value is None:
        return None
    text = value.astimezone(dt.timezone.utc).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
