"""Douglas-Peucker over ragged buffers.

Identical to shapely.simplify(..., preserve_topology=False).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
import shapely
from shapely import GeometryType

from samsyn_fast import _simplify
from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.errors import KernelError, Status, raise_for_status

_THREADS = 2
# Below this many vertices a thread hand-off costs more than it saves.
_MIN_PARALLEL = 100_000


def _coords(coords: np.ndarray) -> np.ndarray:
    xy = np.ascontiguousarray(coords, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coords must be (N, 2), got shape {xy.shape}")
    return xy


def _offsets(offsets: np.ndarray, name: str) -> np.ndarray:
    off = np.ascontiguousarray(offsets, dtype=np.int64)
    if off.ndim != 1 or off.shape[0] < 1:
        raise ValueError(f"{name} must be 1-D with at least one entry")
    return off


def _tolerance(tolerance: float) -> float:
    tol = float(tolerance)
    if not tol >= 0.0 or tol == float("inf"):
        raise ValueError(f"tolerance must be finite and >= 0, got {tolerance!r}")
    return tol


def simplify_lines(
    coords: np.ndarray, offsets: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Douglas-Peucker every line part, exactly as GEOS (shapely.simplify, preserve_topology=False).

    Each part keeps both endpoints (also when closed); a vertex survives iff its distance to the
    current section is > `tolerance`, the first farthest vertex splitting a section. Parts are
    spread over both cores.

    Args:
        coords: (N, 2) float64.
        offsets: (P + 1,) int64, part p is coords[offsets[p]:offsets[p + 1]].
        tolerance: >= 0, in coordinate units.

    Returns:
        New (coords, offsets) with the same number of parts.

    Raises:
        KernelError: BAD_OFFSETS when offsets are not monotonic from 0 to N.
        ValueError: on a bad shape or a negative/NaN tolerance.
    """
    xy = _coords(coords)
    off = _offsets(offsets, "offsets")
    tol = _tolerance(tolerance)
    status, longest = _simplify.check_offsets(off, xy.shape[0])
    raise_for_status(status, where="offsets")
    nparts = off.shape[0] - 1
    keep = np.empty(xy.shape[0], dtype=np.uint8)
    counts = np.zeros(nparts + 1, dtype=np.int64)
    # Parts cut into runs of about equal vertex counts, several per core so that a core
    # slowed by other work does not hold up the end; two threads (the loops hold no GIL).
    runs = 4 * _THREADS if xy.shape[0] >= _MIN_PARALLEL else 1
    cuts = np.searchsorted(off, np.linspace(0, xy.shape[0], runs + 1)[1:-1])
    ranges = list(pairwise([0, *(int(c) for c in cuts), nparts]))

    def mark(lo_hi: tuple[int, int]) -> None:
        stack = np.empty(2 * longest + 4, dtype=np.int64)
        _simplify.mark_lines(xy, off, lo_hi[0], lo_hi[1], tol, keep, counts, stack)

    _run(mark, ranges)
    out_off = np.cumsum(counts)
    out = np.empty((int(out_off[-1]), 2), dtype=np.float64)
    _run(lambda lo_hi: _simplify.compact_lines(xy, off, keep, out_off, out, *lo_hi), ranges)
    return out, out_off


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    # Created on first use (never at import): workers fork after import.
    return ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="samsyn-simplify")


# A forked child inherits the parent's pool object but not its threads: start afresh there.
os.register_at_fork(after_in_child=_pool.cache_clear)


def _run(fn, ranges: list[tuple[int, int]]) -> None:
    if len(ranges) == 1:
        fn(ranges[0])
    else:
        for _ in _pool().map(fn, ranges):
            pass


def _polygon_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-empty polygons of each geometry, collections flattened, with their geometry index.

    GEOS can return a GeometryCollection here (a polygon plus the rings of a collapsed shell's
    holes as lines, when that collection passes its validity check); the polygon buffers hold
    only its polygons.
    """
    parts, index = shapely.get_parts(geoms, return_index=True)
    while True:
        nested = shapely.get_type_id(parts) >= 4  # Multi* and GeometryCollection
        if not nested.any():
            break
        sub, sub_index = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        index = np.concatenate([index[~nested], index[nested][sub_index]])
        order = np.argsort(index, kind="stable")
        parts, index = parts[order], index[order]
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    return parts[keep], index[keep]


def _repair(coords, ring_offsets, polygon_offsets, geom_offsets, tol, result):
    """Hand the geometries GEOS would buffer(0) (invalid after DP) to GEOS itself."""
    out, roff, poff, goff, suspect = result
    rough = shapely.from_ragged_array(GeometryType.MULTIPOLYGON, out, (roff, poff, goff))
    redo = np.flatnonzero(suspect.view(bool) | ~shapely.is_valid(rough))
    if redo.size == 0:
        return out, roff, poff, goff
    original = shapely.from_ragged_array(
        GeometryType.MULTIPOLYGON, coords, (ring_offsets, polygon_offsets, geom_offsets)
    )
    fixed = shapely.simplify(original[redo], tol, preserve_topology=False)
    # GEOS may answer a Polygon, a MultiPolygon or an empty geometry: store all as multipolygons.
    parts, index = _polygon_parts(fixed)
    as_multi = np.array(
        [shapely.multipolygons(parts[index == i]) for i in range(redo.size)], dtype=object
    )
    rough[redo] = as_multi
    _, out, (roff, poff, goff) = shapely.to_ragged_array(rough)
    return np.ascontiguousarray(out, dtype=np.float64), roff, poff, goff


def simplify_polygons(
    coords: np.ndarray,
    ring_offsets: np.ndarray,
    polygon_offsets: np.ndarray,
    tolerance: float,
    geom_offsets: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Douglas-Peucker polygons exactly as GEOS (shapely.simplify, preserve_topology=False).

    Rings are simplified as rings (the start vertex may go), rings left with < 4 points are
    dropped (a collapsed shell drops its polygon), and a geometry whose simplified form is
    invalid gets GEOS's own result (GEOS repairs it with buffer(0), which may split or reorder
    it). Geometries are polygons by default, or multipolygons grouped by `geom_offsets`.

    Args:
        coords: (N, 2) float64.
        ring_offsets: (R + 1,) int64 into coords.
        polygon_offsets: (P + 1,) int64 into rings (ring 0 of a polygon is its shell).
        tolerance: >= 0.
        geom_offsets: optional (G + 1,) int64 into polygons; default: each polygon alone.

    Returns:
        New (coords, ring_offsets, polygon_offsets, geom_offsets): geometry g is polygons
        geom_offsets[g]:geom_offsets[g + 1], zero of them when it collapsed (GEOS: EMPTY),
        several when GEOS's repair split it. Geometries stay aligned with the input.

    Raises:
        KernelError: BAD_OFFSETS on inconsistent offsets.
    """
    xy = _coords(coords)
    roff = _offsets(ring_offsets, "ring_offsets")
    poff = _offsets(polygon_offsets, "polygon_offsets")
    goff = (
        np.arange(poff.shape[0], dtype=np.int64)
        if geom_offsets is None
        else _offsets(geom_offsets, "geom_offsets")
    )
    tol = _tolerance(tolerance)
    status, *result = _simplify.simplify_polygons(xy, roff, poff, goff, tol)
    raise_for_status(status, where="offsets")
    return _repair(xy, roff, poff, goff, tol, result)


def simplify_buffers(buffers: GeometryBuffers, tolerance: float) -> GeometryBuffers:
    """Simplify a GeometryBuffers batch; points are returned unchanged, z is dropped.

    MultiLineString parts are simplified one by one (no part disappears); MultiPolygon
    geometries follow simplify_polygons with their geom_offsets.
    """
    kind = buffers.geometry_type
    if kind in ("Point", "MultiPoint"):
        return buffers
    if kind == "MultiLineString":
        coords, ring_offsets = simplify_lines(buffers.coords, buffers.ring_offsets, tolerance)
        return dataclasses.replace(buffers, coords=coords, ring_offsets=ring_offsets, z=None)
    if kind == "MultiPolygon":
        coords, roff, poff, goff = simplify_polygons(
            buffers.coords,
            buffers.ring_offsets,
            buffers.polygon_offsets,
            tolerance,
            geom_offsets=buffers.geom_offsets,
        )
        return dataclasses.replace(
            buffers,
            coords=coords,
            ring_offsets=roff,
            polygon_offsets=poff,
            geom_offsets=goff,
            z=None,
        )
    raise KernelError(Status.BAD_SHAPE_TYPE, where=f"geometry_type {kind!r}")


__all__ = ["simplify_buffers", "simplify_lines", "simplify_polygons"]
