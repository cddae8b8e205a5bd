"""The GeoJSON FeatureCollection of one source (the legacy GeometryApi view).

Parameters keep the legacy semantics for every request the legacy answered; what it answered
with a 500 (no bbox, malformed numbers) is decided in DESIGN.md §1.1: a bbox-less request
works and malformed parameters get a 400 {"error": ...}.
"""
from __future__ import annotations

import math
import re
from typing import Any


from samsyn.api.compat.wire import jsonb_to_drf
from samsyn.db.reads import Reader
from samsyn_fast.features import SlowPath, feature_collection_from_copy
from samsyn.domain.geometries import queries

DEFAULT_LIMIT = 10_000
_INT32_MAX = 2**31 - 1
_PG_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")
_PG_FLOAT_SPECIAL = {"nan": math.nan, "infinity": math.inf, "+infinity": math.inf,
                     "-infinity": -math.inf, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf}
_PG_FLOAT = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")


class WfsError(Exception):
    """A request the view answers with {"error": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_source_id(raw: str | None) -> int:
    """Django's int() lookup semantics: '0001' and '+1' are 1; anything else is a 400."""
    if raw is None or raw == "":
        raise WfsError(400, "source_id parameter is required")
    try:
        value = int(raw)
    except ValueError:
        raise WfsError(400, f"source_id must be an integer, got {raw!r}") from None
    if not -(2**63) <= value < 2**63:
        raise WfsError(404, f"Source with ID {raw} does not exist")
    return value


def _pg_float(text: str) -> float:
    special = _PG_FLOAT_SPECIAL.get(text.strip().lower())
    if special is not None:
        return special
    if not _PG_FLOAT.fullmatch(text):
        raise ValueError(text)
    return float(text)


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """`minx,miny,maxx,maxy` as PostgreSQL float8 text (spaces, exponents, NaN, Infinity); a
    fifth number is ignored as the legacy's split_part did; empty means no bbox."""
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) < 4:
        raise WfsError(400, "bbox must be minx,miny,maxx,maxy")
    try:
        minx, miny, maxx, maxy = (_pg_float(p) for p in parts[:4])
    except ValueError as exc:
        raise WfsError(400, f"bbox must be minx,miny,maxx,maxy; {str(exc)!r} is not a number") from None
    return minx, miny, maxx, maxy


def parse_limit(raw: str | None) -> int:
    """An integer literal 0..2147483647 (PostgreSQL integer); empty means the default."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not _PG_INTEGER.fullmatch(raw):
        raise WfsError(400, f"limit must be an integer, got {raw!r}")
    value = int(raw)
    if value < 0:
        raise WfsError(400, "limit must not be negative")
    if value > _INT32_MAX:
        raise WfsError(400, f"limit must be at most {_INT32_MAX}")
    return value


def feature_collection(conn: Reader, query: dict[str, str]) -> bytes:
    """The FeatureCollection bytes, built from PostGIS text without a dict per feature."""
    raw_id = query.get("source_id")
    source_id = parse_source_id(raw_id)
    if not queries.source_exists(conn, source_id):
        raise WfsError(404, f"Source with ID {raw_id} does not exist")
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


__all__ = ["WfsError", "feature_collection", "parse_bbox", "parse_limit", "parse_source_id", "Any"]
