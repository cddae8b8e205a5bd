"""Encoders over ragged buffers: EWKB + PGCOPY framing for loads, (E)WKB -> GeoJSON for the API."""

from __future__ import annotations

import sys
from collections.abc import Mapping

import numpy as np

from samsyn_fast import _encode
from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.errors import KernelError, Status, raise_for_status

if sys.byteorder != "little":  # pragma: no cover - the kernels memcpy little-endian values
    raise ImportError("samsyn_fast.encode needs a little-endian host")

_KINDS = {"Point": 1, "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6}
_EMPTY_I64 = np.zeros(1, dtype=np.int64)


def _i64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def encode_ewkb(
    buffers: GeometryBuffers, srid: int = 4326, include_z: bool = False, single: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Little-endian EWKB with the SRID flag for every geometry of `buffers`.

    Point, MultiPoint, MultiLineString and MultiPolygon are written as the buffers hold them
    (a Point without coordinates as POINT EMPTY, i.e. NaN NaN, as PostGIS writes it). Null
    shapes span zero bytes: write them as SQL NULL (pgcopy_fields does).

    Args:
        buffers: the batch.
        srid: SRID stored in every geometry.
        include_z: write Z (requires buffers.z) instead of dropping it.
        single: write a one-part MultiLineString as a LineString and a one-polygon
            MultiPolygon as a Polygon (what GDAL and shapely read from a shapefile).

    Returns:
        (data (B,) uint8, offsets (G + 1,) int64): geometry g is data[offsets[g]:offsets[g + 1]].

    Raises:
        KernelError: BAD_SHAPE_TYPE for another geometry type, BAD_OFFSETS for bad offsets.
    """
    kind = _KINDS.get(buffers.geometry_type)
    if kind is None:
        raise KernelError(Status.BAD_SHAPE_TYPE, where=f"geometry_type {buffers.geometry_type!r}")
    coords = np.ascontiguousarray(buffers.coords, dtype=np.float64).reshape(-1, 2)
    z = None
    if include_z:
        if buffers.z is None:
            raise ValueError("include_z=True but the buffers have no z")
        z = np.ascontiguousarray(buffers.z, dtype=np.float64)
    goff, roff, poff = (
        _i64(buffers.geom_offsets),
        _i64(buffers.ring_offsets),
        _i64(buffers.polygon_offsets),
    )
    null = np.ascontiguousarray(buffers.null, dtype=bool).view(np.uint8)
    _check_offsets(kind, coords.shape[0], goff, roff, poff, null)
    status, where, data, offsets = _encode.encode_ewkb(
        kind, coords, z, goff, roff, poff, null, int(srid), bool(single)
    )
    raise_for_status(status, where=f"geometry {where}")
    return data, offsets


def _check_offsets(kind, n, goff, roff, poff, null) -> None:
    # The kernel trusts its offsets; check them here once, vectorised.
    def monotonic(off, end, name):
        if (
            off.ndim != 1
            or off.shape[0] < 1
            or off[0] != 0
            or off[-1] > end
            or np.any(np.diff(off) < 0)
        ):
            raise KernelError(Status.BAD_OFFSETS, where=name)

    if null.shape[0] != goff.shape[0] - 1:
        raise KernelError(Status.BAD_OFFSETS, where="null")
    if kind in (1, 4):
        monotonic(goff, n, "geom_offsets")
    elif kind == 5:
        monotonic(goff, roff.shape[0] - 1, "geom_offsets")
        monotonic(roff, n, "ring_offsets")
    else:
        monotonic(goff, poff.shape[0] - 1, "geom_offsets")
        monotonic(poff, roff.shape[0] - 1, "polygon_offsets")
        monotonic(roff, n, "ring_offsets")


def pgcopy_fields(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame values for a PGCOPY binary stream.

    Each value is an int32 big-endian length and its bytes; -1 (NULL) for an empty span.
    """
    return _encode.pgcopy_fields(np.ascontiguousarray(data, dtype=np.uint8), _i64(offsets))


def pgcopy_binary(columns: list[tuple[np.ndarray, np.ndarray]], nrows: int) -> np.ndarray:
    """A complete PGCOPY binary stream (for `COPY t (cols) FROM STDIN (FORMAT binary)`).

    Args:
        columns: per column, framed fields as returned by pgcopy_fields, in table column order.
        nrows: number of rows (every column has nrows + 1 offsets).
    """
    return _encode.pgcopy_rows(list(columns), int(nrows))


def _crs_table(crs_names: Mapping[int, str] | None):
    if not crs_names:
        return np.zeros(0, np.int32), np.zeros(0, np.uint8), _EMPTY_I64
    items = sorted((int(k), v.encode()) for k, v in crs_names.items())
    srids = np.array([k for k, _ in items], dtype=np.int32)
    names = np.frombuffer(b"".join(v for _, v in items), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum([len(v) for _, v in items])]).astype(np.int64)
    return srids, np.ascontiguousarray(names), offsets


def wkb_to_geojson(
    wkb, offsets: np.ndarray, crs_names: Mapping[int, str] | None = None
) -> tuple[bytes, np.ndarray]:
    """GeoJSON geometry objects for concatenated (E)WKB values, as the legacy API rendered them.

    Byte-identical to `json.dumps(json.loads(ST_AsGeoJSON(geom)), separators=(",", ":"))` on
    PostGIS 3.3 (9 decimals, integral values without ".0", Python float repr), including the
    "crs" member PostGIS adds for an EWKB SRID other than 0/4326, Z kept, M dropped, empties.
    ISO WKB and EWKB, little and big endian. (PostGIS writes an empty point inside a
    MultiPoint as nothing, which is not JSON; here it is `[]`.)

    Args:
        wkb: bytes-like holding the values back to back.
        offsets: (G + 1,) int64; a zero-byte span (SQL NULL) gives zero bytes of text.
        crs_names: SRID -> "auth:code" as spatial_ref_sys names it (default "EPSG:<srid>").

    Returns:
        (text, offsets (G + 1,) int64): geometry g is text[offsets[g]:offsets[g + 1]].

    Raises:
        KernelError: TRUNCATED, BAD_MAGIC, BAD_SHAPE_TYPE (curves, TIN, ...), BAD_OFFSETS,
            BAD_RECORD (collections nested deeper than 32); `where` names the geometry.
    """
    data = np.frombuffer(wkb, dtype=np.uint8) if not isinstance(wkb, np.ndarray) else wkb
    data = np.ascontiguousarray(data, dtype=np.uint8)
    if data.shape[0] == 0:
        data = np.zeros(1, dtype=np.uint8)[:0].copy()
    off = _i64(offsets)
    if off.ndim != 1 or off.shape[0] < 1:
        raise KernelError(Status.BAD_OFFSETS, where="offsets")
    srids, names, name_offsets = _crs_table(crs_names)
    status, where, text, text_offsets = _encode.wkb_to_geojson(
        data if data.shape[0] else np.zeros(1, np.uint8), off, srids, names, name_offsets
    )
    raise_for_status(status, where=f"geometry {where}")
    return text, text_offsets


def buffers_to_geojson(
    buffers: GeometryBuffers, srid: int = 4326, crs_names: Mapping[int, str] | None = None
) -> tuple[bytes, np.ndarray]:
    """GeoJSON of GeometryBuffers, formatted as wkb_to_geojson (null shapes give zero bytes)."""
    data, offsets = encode_ewkb(buffers, srid=srid, include_z=buffers.z is not None)
    return wkb_to_geojson(data, offsets, crs_names)


__all__ = ["buffers_to_geojson", "encode_ewkb", "pgcopy_binary", "pgcopy_fields", "wkb_to_geojson"]
