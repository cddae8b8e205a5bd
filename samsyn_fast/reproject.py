"""Reprojection of ragged coordinate buffers.

Closed form for 4326 <-> 3857, pyproj on 2 threads otherwise.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
import pyproj

from samsyn_fast import _reproject
from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.errors import KernelError, Status

CrsLike = int | str | pyproj.CRS

_THREADS = 2
# Below this many points a thread hand-off costs more than it saves.
_MIN_PARALLEL = 50_000
_GEOGRAPHIC = frozenset({4326})
# EPSG:3857 and its historical aliases; PROJ defines all three as the same +proj=webmerc.
_WEB_MERCATOR = frozenset({3857, 900913, 3785})

_local = threading.local()


@functools.lru_cache(maxsize=64)
def _epsg_of(crs: CrsLike) -> int | None:
    """The EPSG code of `crs` when it has an exact one, else None."""
    if isinstance(crs, (int, np.integer)):
        return int(crs)
    if isinstance(crs, str):
        auth, _, code = crs.strip().partition(":")
        if auth.upper() == "EPSG" and code.isdigit():
            return int(code)
    return pyproj.CRS.from_user_input(crs).to_epsg(min_confidence=100)


def _crs(crs: CrsLike) -> pyproj.CRS:
    if isinstance(crs, (int, np.integer)):
        return pyproj.CRS.from_epsg(int(crs))
    return pyproj.CRS.from_user_input(crs)


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    # Created on first use (never at import): workers fork after import.
    return ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="samsyn-reproject")


# A forked child inherits the parent's pool object but not its threads: start afresh there.
os.register_at_fork(after_in_child=_pool.cache_clear)


def _transformer(src: CrsLike, dst: CrsLike) -> pyproj.Transformer:
    # One Transformer per thread and CRS pair: a PROJ object must not be shared across threads.
    cache = getattr(_local, "transformers", None)
    if cache is None:
        cache = _local.transformers = {}
    key = (
        src if not isinstance(src, pyproj.CRS) else src.to_wkt(),
        dst if not isinstance(dst, pyproj.CRS) else dst.to_wkt(),
    )
    tr = cache.get(key)
    if tr is None:
        tr = cache[key] = pyproj.Transformer.from_crs(_crs(src), _crs(dst), always_xy=True)
    return tr


def _as_coords(coords: np.ndarray) -> np.ndarray:
    xy = np.ascontiguousarray(coords, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coords must be (N, 2), got shape {xy.shape}")
    return xy


def _check_finite(xy: np.ndarray) -> None:
    bad = _reproject.first_nonfinite(xy)
    if bad >= 0:
        raise KernelError(Status.NAN_COORD, where=f"coords[{bad}]")


def _webmerc(xy: np.ndarray, inverse: bool) -> np.ndarray:
    n = xy.shape[0]
    out = np.empty((n, 2), dtype=np.float64)
    if n < _MIN_PARALLEL:
        bad = [_reproject.webmerc_into(xy, out, 0, n, inverse)]
    else:
        # Several slices per core (a core slowed by other work does not hold up the end);
        # the kernel loop runs without the GIL.
        bounds = np.linspace(0, n, 4 * _THREADS + 1).astype(np.int64)
        jobs = [
            _pool().submit(_reproject.webmerc_into, xy, out, int(lo), int(hi), inverse)
            for lo, hi in pairwise(bounds)
        ]
        bad = [job.result() for job in jobs]
    bad = [b for b in bad if b >= 0]
    if bad:
        raise KernelError(Status.NAN_COORD, where=f"coords[{min(bad)}]")
    return out


def _pyproj_transform(xy: np.ndarray, src: CrsLike, dst: CrsLike) -> np.ndarray:
    n = xy.shape[0]
    out = np.empty((n, 2), dtype=np.float64)

    def run(lo: int, hi: int) -> None:
        # pyproj wants separate contiguous x and y buffers; the column copies and the
        # write-back run in the worker too (numpy and PROJ both release the GIL).
        x = xy[lo:hi, 0].copy()
        y = xy[lo:hi, 1].copy()
        _transformer(src, dst).transform(x, y, inplace=True, errcheck=False)
        out[lo:hi, 0] = x
        out[lo:hi, 1] = y

    if n < _MIN_PARALLEL:
        run(0, n)
    else:
        # Several chunks per thread so a busy core does not leave the other idle at the end.
        bounds = np.linspace(0, n, 4 * _THREADS + 1).astype(np.int64)
        futures = [_pool().submit(run, int(lo), int(hi)) for lo, hi in pairwise(bounds) if hi > lo]
        for f in futures:
            f.result()
    return out


def reproject(coords: np.ndarray, src_crs: CrsLike, dst_crs: CrsLike) -> np.ndarray:
    """Transform (N, 2) float64 x/y (lon/lat for geographic CRSs) from `src_crs` to `dst_crs`.

    Axis order is always x/y as pyproj's `always_xy=True`. EPSG:4326 <-> EPSG:3857 (and the
    900913/3785 aliases) run a closed-form nogil kernel on both cores; every other pair runs
    pyproj on two threads. Points PROJ rejects come back as inf, as pyproj reports them.

    Args:
        coords: (N, 2) float64 coordinates; never modified.
        src_crs: EPSG code, "EPSG:xxxx" string or pyproj.CRS of the input.
        dst_crs: the same for the output.

    Returns:
        A new (N, 2) float64 C-contiguous array.

    Raises:
        KernelError: NAN_COORD when an input coordinate is NaN or infinite (`where` names the row).
        ValueError: when `coords` is not (N, 2).
    """
    xy = _as_coords(coords)
    src, dst = _epsg_of(src_crs), _epsg_of(dst_crs)
    if src in _GEOGRAPHIC and dst in _WEB_MERCATOR:
        return _webmerc(xy, inverse=False)
    if src in _WEB_MERCATOR and dst in _GEOGRAPHIC:
        return _webmerc(xy, inverse=True)
    _check_finite(xy)
    if src is not None and src == dst:
        return xy.copy()
    return _pyproj_transform(
        xy, src if src is not None else src_crs, dst if dst is not None else dst_crs
    )


def reproject_buffers(
    buffers: GeometryBuffers, src_crs: CrsLike, dst_crs: CrsLike
) -> GeometryBuffers:
    """The same buffers with `coords` reprojected (offsets, z and nulls shared, not copied)."""
    return dataclasses.replace(buffers, coords=reproject(buffers.coords, src_crs, dst_crs))
