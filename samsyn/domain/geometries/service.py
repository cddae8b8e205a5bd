"""The GeoJSON FeatureCollection of one source (the legacy GeometryApi view).

Parameters keep the legacy semantics for every request the legacy answered; what it answered
with a 500 (no bbox, malformed numbers) follows decision 1 of docs/architecture.md: a
bbox-less request works and malformed parameters get a 400 {"error": ...}.
"""
from __future__ import annotations

import ctypes
import functools
import math
import re
from typing import Any

from samsyn.compat.wire import jsonb_to_drf
from samsyn.db.reads import Reader
from samsyn.domain.geometries import queries
from samsyn.errors import BadParameter, NotFound
from samsyn_fast.features import SlowPath, feature_collection_from_copy

DEFAULT_LIMIT = 10_000
_INT32_MAX = 2**31 - 1
_PG_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")
# PostgreSQL's float8in: C isspace() around the number, glibc strtod() for the number itself
# (hexadecimal "0x1p3", "nan(123)", "inf", "infinity", any case), then its own NaN/Infinity
# spellings, and "out of range" for an overflow or an underflow to zero (a subnormal is kept).
_C_SPACE = " \t\n\v\f\r"
_PG_FLOAT_WORDS = ("nan", "infinity", "+infinity", "-infinity", "inf", "+inf", "-inf")
_ERANGE = 34


def parse_source_id(raw: str | None) -> int:
    """Django's int() lookup semantics: '0001' and '+1' are 1; anything else is a 400."""
    if raw is None or raw == "":
        raise BadParameter("source_id parameter is required")
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"source_id must be an integer, got {raw!r}") from None
    if not -(2**63) <= value < 2**63:
        raise NotFound(f"Source with ID {raw} does not exist")
    return value


@functools.cache
def _strtod() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.strtod.restype = ctypes.c_double
    libc.strtod.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
    return libc.strtod


def pg_float8(text: str) -> float:
    """`text::float8` as PostgreSQL reads it (float8in_internal), which is how the legacy's
    PL/pgSQL read each bbox number (`split_part(bbox, ',', n)::float`).

    Raises:
        ValueError: what PostgreSQL rejects; the message says "out of range" for overflow.
    """
    if "\0" in text:   # PostgreSQL text cannot hold NUL: the legacy's driver refused it
        raise ValueError("not a number")
    num = text.lstrip(_C_SPACE)
    if not num:
        raise ValueError("not a number")
    raw = num.encode("utf-8")
    end = ctypes.c_char_p()
    ctypes.set_errno(0)
    value = _strtod()(raw, ctypes.byref(end))
    errno = ctypes.get_errno()
    rest = len(end.value or b"")
    if rest == len(raw) or errno:
        lowered = num.lower()
        word = next((w for w in _PG_FLOAT_WORDS if lowered.startswith(w)), None)
        if word is not None:
            value, rest = float(word), len(raw) - len(word.encode())
        elif errno == _ERANGE and value != 0.0 and not math.isinf(value):
            pass    # a subnormal: PostgreSQL keeps it
        elif errno == _ERANGE:
            raise ValueError("out of range")
        else:
            raise ValueError("not a number")
    if raw[len(raw) - rest:].decode("utf-8", "replace").strip(_C_SPACE):
        raise ValueError("not a number")
    return value


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """`minx,miny,maxx,maxy` as PostgreSQL float8 text (spaces, exponents, NaN, Infinity); a
    fifth number is ignored as the legacy's split_part did; empty means no bbox."""
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) < 4:
        raise BadParameter("bbox must be minx,miny,maxx,maxy")
    numbers = []
    for part in parts[:4]:
        try:
            numbers.append(pg_float8(part))
        except ValueError as exc:
            raise BadParameter(f"bbox must be minx,miny,maxx,maxy; {part!r} is {exc}") from None
    minx, miny, maxx, maxy = numbers
    return minx, miny, maxx, maxy


def parse_limit(raw: str | None) -> int:
    """An integer literal 0..2147483647 (PostgreSQL integer); empty means the default."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not _PG_INTEGER.fullmatch(raw):
        raise BadParameter(f"limit must be an integer, got {raw!r}")
    try:
        value = int(raw)
    except ValueError:  # beyond Python's 4300 digits: out of range either way
        value = -1 if raw.strip().startswith("-") else _INT32_MAX + 1
    if value < 0:
        raise BadParameter("limit must not be negative")
    if value > _INT32_MAX:
        raise BadParameter(f"limit must be at most {_INT32_MAX}")
    return value


def feature_collection(conn: Reader, query: dict[str, str]) -> bytes:
    """The FeatureCollection bytes, built from PostGIS text without a dict per feature."""
    raw_id = query.get("source_id")
    source_id = parse_source_id(raw_id)
    if not queries.source_exists(conn, source_id):
        raise NotFound(f"Source with ID {raw_id} does not exist")
    bbox = parse_bbox(query.get("bbox"))
    limit = parse_limit(query.get("limit"))
    try:
        return feature_collection_from_copy(queries.feature_copy(conn, source_id, bbox, limit))
    except SlowPath:
        pass
    # Escaped top-level keys or non-object metadata: let PostgreSQL do the jsonb merge.
    rows = queries.feature_rows(conn, source_id, bbox, limit)
    parts: list[bytes] = [b'{"type":"FeatureCollection","features":[']
    template = '{"type":"Feature","id":%d,"geometry":%s,"properties":%s}'
    first = True
    for gid, geometry, properties in rows:
        if not first:
            parts.append(b",")
        first = False
        parts.append((template % (gid, geometry, jsonb_to_drf(properties))).encode())
    parts.append(b"]}")
    return b"".join(parts)


__all__ = ["feature_collection", "parse_bbox", "parse_limit", "parse_source_id", "Any"]
