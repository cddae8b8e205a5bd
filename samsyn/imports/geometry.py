"""Vectorised checks and selections over samsyn_fast.GeometryBuffers (numpy, no Python per row).

PostGIS refuses a line with one position and a polygon ring with fewer than four positions or
not closed; the kernels pass those through, so the pipelines drop them here with a reason.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from samsyn_fast import GeometryBuffers, reproject_buffers, simplify_buffers

REASONS = {
    1: "null or empty geometry",
    2: "line with fewer than 2 positions",
    3: "polygon ring with fewer than 4 positions",
    4: "polygon ring not closed",
    5: "coordinate not finite after reprojection",
}
# geometry_type text by (family, single part): what GDAL / shapely read from a shapefile.
TYPE_NAMES = [b"Point", b"MultiPoint", b"LineString", b"MultiLineString", b"Polygon",
              b"MultiPolygon"]


def _counts(off: np.ndarray) -> np.ndarray:
    return np.diff(np.asarray(off, dtype=np.int64))


def _owner(off: np.ndarray) -> np.ndarray:
    """For offsets into a child array: the parent index of every child."""
    c = _counts(off)
    return np.repeat(np.arange(c.shape[0], dtype=np.int64), c)


def _mark(codes: np.ndarray, which: np.ndarray, code: int) -> None:
    sel = which[codes[which] == 0]
    codes[sel] = code


def problems(b: GeometryBuffers) -> np.ndarray:
    """(G,) int8 reason code per geometry (0 = fine); see REASONS."""
    g = len(b)
    codes = np.zeros(g, dtype=np.int8)
    codes[np.asarray(b.null, dtype=bool)] = 1
    kind = b.geometry_type
    coords = b.coords
    if kind in ("Point", "MultiPoint"):
        coord_geom = _owner(b.geom_offsets)
        empty = _counts(b.geom_offsets) == 0
        _mark(codes, np.flatnonzero(empty), 1)
    elif kind == "MultiLineString":
        part_geom = _owner(b.geom_offsets)
        plen = _counts(b.ring_offsets)
        coord_geom = part_geom[_owner(b.ring_offsets)]
        _mark(codes, np.flatnonzero(_counts(b.geom_offsets) == 0), 1)
        _mark(codes, np.unique(part_geom[plen < 2]), 2)
    else:
        poly_geom = _owner(b.geom_offsets)
        ring_geom = poly_geom[_owner(b.polygon_offsets)]
        roff = np.asarray(b.ring_offsets, dtype=np.int64)
        rlen = np.diff(roff)
        coord_geom = ring_geom[_owner(roff)]
        _mark(codes, np.flatnonzero(_counts(b.geom_offsets) == 0), 1)
        _mark(codes, np.unique(ring_geom[rlen < 4]), 3)
        has = rlen > 0
        first = coords[roff[:-1][has]]
        last = coords[roff[1:][has] - 1]
        unclosed = np.zeros(rlen.shape[0], dtype=bool)
        unclosed[has] = (first != last).any(axis=1)
        _mark(codes, np.unique(ring_geom[unclosed]), 4)
    if coords.shape[0]:
        bad = ~np.isfinite(coords).all(axis=1)
        if bad.any():
            _mark(codes, np.unique(coord_geom[bad]), 5)
    return codes


def take(b: GeometryBuffers, keep: np.ndarray) -> GeometryBuffers:
    """The geometries where `keep` (G,) bool is True, as new buffers."""
    keep = np.asarray(keep, dtype=bool)
    kind = b.geometry_type
    goff = np.asarray(b.geom_offsets, dtype=np.int64)

    def rebase(counts: np.ndarray) -> np.ndarray:
        out = np.zeros(counts.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=out[1:])
        return out

    if kind in ("Point", "MultiPoint"):
        coord_keep = np.repeat(keep, _counts(goff))
        new_goff = rebase(_counts(goff)[keep])
        roff, poff = b.ring_offsets, b.polygon_offsets
    elif kind == "MultiLineString":
        part_keep = np.repeat(keep, _counts(goff))
        coord_keep = np.repeat(part_keep, _counts(b.ring_offsets))
        new_goff = rebase(_counts(goff)[keep])
        roff = rebase(_counts(b.ring_offsets)[part_keep])
        poff = b.polygon_offsets
    else:
        poly_keep = np.repeat(keep, _counts(goff))
        ring_keep = np.repeat(poly_keep, _counts(b.polygon_offsets))
        coord_keep = np.repeat(ring_keep, _counts(b.ring_offsets))
        new_goff = rebase(_counts(goff)[keep])
        poff = rebase(_counts(b.polygon_offsets)[poly_keep])
        roff = rebase(_counts(b.ring_offsets)[ring_keep])
    return GeometryBuffers(kind, np.ascontiguousarray(b.coords[coord_keep]),
                           None if b.z is None else b.z[coord_keep], new_goff, roff, poff,
                           np.asarray(b.null, dtype=bool)[keep])


def type_index(b: GeometryBuffers, single: bool = True) -> np.ndarray:
    """(G,) int8 index into TYPE_NAMES of each geometry as it is encoded (encode_ewkb single=)."""
    kind = b.geometry_type
    if kind == "Point":
        return np.zeros(len(b), dtype=np.int8)
    if kind == "MultiPoint":
        return np.ones(len(b), dtype=np.int8)
    base = 2 if kind == "MultiLineString" else 4
    multi = _counts(b.geom_offsets) != 1 if single else np.ones(len(b), dtype=bool)
    return (base + multi).astype(np.int8)


def is_wgs84(crs: Any) -> bool:
    """True when `crs` (a pyproj.CRS) is EPSG:4326 / OGC CRS84 lon/lat: coordinates stay as read."""
    if crs is None:
        return True
    try:
        epsg = crs.to_epsg(min_confidence=70)
    except Exception:  # noqa: BLE001 - pyproj: no EPSG match is not an error
        epsg = None
    if epsg == 4326:
        return True
    try:
        return bool(crs.to_authority() in (("OGC", "CRS84"),))
    except Exception:  # noqa: BLE001
        return False


def to_wgs84(b: GeometryBuffers, crs: Any, simplify: float | None) -> GeometryBuffers:
    """Reproject to EPSG:4326 (unless already there), then simplify with `simplify` degrees."""
    if not is_wgs84(crs) and len(b) and b.coords.shape[0]:
        b = reproject_buffers(b, crs, 4326)
    if simplify:
        b = simplify_buffers(b, float(simplify))
    if b.z is not None:
        b = dataclasses.replace(b, z=None)   # core_geometry is 2-D
    return b
