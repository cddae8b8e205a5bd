# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: extra_compile_args=-ffp-contract=off
"""Douglas-Peucker kernels with the exact rules of GEOS DouglasPeuckerSimplifier (GEOS 3.14).

* distances are computed with the arithmetic of GEOS `Distance::pointToSegment` (same
  operations in the same order, no FMA contraction), so every comparison and every tie breaks
  as in GEOS: a vertex is kept iff its distance is > tolerance, the split vertex is the first
  farthest one;
* lines (closed or not) keep both endpoints;
* polygon rings are simplified as rings: after DP, the start/end vertex itself is dropped when
  it lies within tolerance of the segment joining its kept neighbours (JTS/GEOS
  `simplifyRingEndpoint`), the ring then restarting at the next kept vertex;
* a ring left with < 4 points disappears: a hole is skipped, a shell takes its polygon with it.

Validity repair (GEOS buffers invalid simplified polygons by 0) is not done here: the wrapper
in samsyn_fast.simplify checks validity and defers those few geometries to GEOS.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport fabs, sqrt
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc

from samsyn_fast._status cimport Status

cnp.import_array()


cdef inline double _point_dist(double px, double py, double ax, double ay) noexcept nogil:
    cdef double dx = px - ax
    cdef double dy = py - ay
    return sqrt(dx * dx + dy * dy)


cdef inline double _seg_dist(double px, double py, double ax, double ay,
                             double bx, double by) noexcept nogil:
    # Operation for operation GEOS Distance::pointToSegment, so equal inputs give equal doubles.
    cdef double len2, r, s
    if ax == bx and ay == by:
        return _point_dist(px, py, ax, ay)
    len2 = (bx - ax) * (bx - ax) + (by - ay) * (by - ay)
    r = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2
    if r <= 0.0:
        return _point_dist(px, py, ax, ay)
    if r >= 1.0:
        return _point_dist(px, py, bx, by)
    s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2
    return fabs(s) * sqrt(len2)


cdef Status _mark_section(const double* xy, int64_t first, int64_t last, double tolerance,
                          uint8_t* keep, int64_t* stack) noexcept nogil:
    """Set keep[first..last] (indices into xy) by DP; `stack` holds >= 2 * (last - first + 1)."""
    cdef int64_t top = 0, i, j, k, imax
    cdef double ax, ay, bx, by, dx, dy, len2, sl, r, s, d, dmax, px, py, num, lo_g, hi_g
    for k in range(first, last + 1):
        keep[k] = 1
    if last - first < 2:
        return Status.OK
    stack[0] = first
    stack[1] = last
    top = 2
    while top > 0:
        top -= 2
        i = stack[top]
        j = stack[top + 1]
        if i + 1 >= j:
            continue
        ax = xy[2 * i]
        ay = xy[2 * i + 1]
        bx = xy[2 * j]
        by = xy[2 * j + 1]
        dmax = -1.0
        imax = i
        if ax == bx and ay == by:
            for k in range(i + 1, j):
                d = _point_dist(xy[2 * k], xy[2 * k + 1], ax, ay)
                if d > dmax:
                    dmax = d
                    imax = k
        else:
            # _seg_dist inlined with the section's constant terms hoisted: same doubles.
            dx = bx - ax
            dy = by - ay
            len2 = dx * dx + dy * dy
            sl = sqrt(len2)
            # GEOS's r = num / len2 only picks the branch. When num is clearly inside
            # (len2 * 1e-300, len2 * (1 - 4ulp)), r is surely in (0, 1) (no underflow to 0, no
            # rounding up to 1; NaN/inf fail both tests), so the division is skipped there:
            # 25% faster, same doubles.
            lo_g = len2 * 1e-300
            hi_g = len2 * (1.0 - 4.5e-16)
            for k in range(i + 1, j):
                px = xy[2 * k]
                py = xy[2 * k + 1]
                num = (px - ax) * dx + (py - ay) * dy
                if num > lo_g and num < hi_g:
                    s = ((ay - py) * dx - (ax - px) * dy) / len2
                    d = fabs(s) * sl
                    if d > dmax:
                        dmax = d
                        imax = k
                    continue
                r = num / len2
                if r <= 0.0:
                    d = _point_dist(px, py, ax, ay)
                elif r >= 1.0:
                    d = _point_dist(px, py, bx, by)
                else:
                    s = ((ay - py) * dx - (ax - px) * dy) / len2
                    d = fabs(s) * sl
                if d > dmax:
                    dmax = d
                    imax = k
        if dmax <= tolerance:
            for k in range(i + 1, j):
                keep[k] = 0
        else:
            # Both halves are independent: the order they are done in changes nothing.
            stack[top] = imax
            stack[top + 1] = j
            stack[top + 2] = i
            stack[top + 3] = imax
            top += 4
    return Status.OK


cdef Status _check_offsets(const int64_t[::1] off, int64_t n, int64_t* longest) noexcept nogil:
    cdef Py_ssize_t p
    cdef int64_t m = 0
    if off.shape[0] < 1 or off[0] != 0 or off[off.shape[0] - 1] != n:
        return Status.BAD_OFFSETS
    for p in range(off.shape[0] - 1):
        if off[p + 1] < off[p]:
            return Status.BAD_OFFSETS
        if off[p + 1] - off[p] > m:
            m = off[p + 1] - off[p]
    longest[0] = m
    return Status.OK


def check_offsets(offsets, int64_t n):
    """(status, longest part) for (P + 1,) int64 offsets that must run monotonically 0..n."""
    cdef const int64_t[::1] off = offsets
    cdef int64_t longest = 0
    cdef Status status
    with nogil:
        status = _check_offsets(off, n, &longest)
    return status, longest


def mark_lines(coords, offsets, Py_ssize_t p_lo, Py_ssize_t p_hi, double tolerance,
               keep_mask, counts, stack):
    """DP parts p_lo..p_hi-1: set keep_mask over their vertices, counts[p + 1] = kept in part p.

    Arrays as checked by samsyn_fast.simplify (offsets by check_offsets, `stack` int64 of
    >= 2 * longest + 4); slices of one batch run on two threads, the loop holds no GIL.
    """
    cdef const double[:, ::1] xy = coords
    cdef const int64_t[::1] off = offsets
    cdef uint8_t[::1] keep = keep_mask
    cdef int64_t[::1] cnt = counts
    cdef int64_t[::1] stk = stack
    cdef const double* src = &xy[0, 0] if xy.shape[0] > 0 else NULL
    cdef uint8_t* kp = &keep[0] if keep.shape[0] > 0 else NULL
    cdef Py_ssize_t p
    cdef int64_t k, c
    with nogil:
        for p in range(p_lo, p_hi):
            _mark_section(src, off[p], off[p + 1] - 1, tolerance, kp, &stk[0])
            c = 0
            for k in range(off[p], off[p + 1]):
                c += kp[k]
            cnt[p + 1] = c


def compact_lines(coords, offsets, keep_mask, out_offsets, out_coords, Py_ssize_t p_lo,
                  Py_ssize_t p_hi):
    """Copy the kept vertices of parts p_lo..p_hi-1 to out_coords[out_offsets[p]:...]."""
    cdef const double[:, ::1] xy = coords
    cdef const int64_t[::1] off = offsets
    cdef const uint8_t[::1] keep = keep_mask
    cdef const int64_t[::1] out_off = out_offsets
    cdef double[:, ::1] out = out_coords
    cdef Py_ssize_t p
    cdef int64_t k, w
    with nogil:
        for p in range(p_lo, p_hi):
            w = out_off[p]
            for k in range(off[p], off[p + 1]):
                if keep[k]:
                    out[w, 0] = xy[k, 0]
                    out[w, 1] = xy[k, 1]
                    w += 1


cdef int64_t _ring(const double* xy, int64_t first, int64_t last, double tolerance,
                   uint8_t* keep, int64_t* stack, double* out) noexcept nogil:
    """DP one polygon ring into `out`; returns the number of points written (< 4: collapsed)."""
    cdef int64_t n = last - first + 1, m = 0, k
    cdef double d
    _mark_section(xy, first, last, tolerance, keep, stack)
    for k in range(first, last + 1):
        if keep[k]:
            out[2 * m] = xy[2 * k]
            out[2 * m + 1] = xy[2 * k + 1]
            m += 1
    # GEOS simplifyRingEndpoint: only for a closed input ring and an output of >= 4 points.
    if (n >= 4 and xy[2 * first] == xy[2 * last] and xy[2 * first + 1] == xy[2 * last + 1]
            and m >= 4):
        d = _seg_dist(out[0], out[1], out[2 * (m - 2)], out[2 * (m - 2) + 1], out[2], out[3])
        if d <= tolerance:
            # Drop the first and last point, then close on the new first point unless the
            # new last one already equals it (CoordinateList.closeRing skips repeats).
            for k in range(m - 2):
                out[2 * k] = out[2 * (k + 1)]
                out[2 * k + 1] = out[2 * (k + 1) + 1]
            m -= 2
            if not (out[2 * (m - 1)] == out[0] and out[2 * (m - 1) + 1] == out[1]):
                out[2 * m] = out[0]
                out[2 * m + 1] = out[1]
                m += 1
    return m


def simplify_polygons(coords, ring_offsets, polygon_offsets, geom_offsets, double tolerance):
    """DP a ragged multipolygon batch ring by ring with GEOS's collapse rules.

    Returns (status, coords, ring_offsets, polygon_offsets, geom_offsets, suspect) where
    `suspect[g]` is 1 when geometry g needs GEOS itself (a shell collapsed while a hole
    survived: GEOS then hands a non-polygon to buffer(0)).
    """
    cdef const double[:, ::1] xy = coords
    cdef const int64_t[::1] roff = ring_offsets
    cdef const int64_t[::1] poff = polygon_offsets
    cdef const int64_t[::1] goff = geom_offsets
    cdef int64_t n = xy.shape[0]
    cdef int64_t nrings = roff.shape[0] - 1, npolys = poff.shape[0] - 1
    cdef Py_ssize_t ngeoms = goff.shape[0] - 1
    cdef int64_t longest = 0, unused = 0
    cdef Status status = _check_offsets(roff, n, &longest)
    if status == Status.OK:
        status = _check_offsets(poff, nrings, &unused)
    if status == Status.OK:
        status = _check_offsets(goff, npolys, &unused)
    if status != Status.OK:
        return status, None, None, None, None, None
    keep_arr = np.empty(n, dtype=np.uint8)
    # A ring never grows (closing re-uses a dropped endpoint's slot), so N points suffice.
    out_arr = np.empty((n, 2), dtype=np.float64)
    out_roff_arr = np.zeros(nrings + 1, dtype=np.int64)
    out_poff_arr = np.zeros(npolys + 1, dtype=np.int64)
    out_goff_arr = np.zeros(ngeoms + 1, dtype=np.int64)
    suspect_arr = np.zeros(ngeoms, dtype=np.uint8)
    cdef uint8_t[::1] keep = keep_arr
    cdef double[:, ::1] out = out_arr
    cdef int64_t[::1] out_roff = out_roff_arr
    cdef int64_t[::1] out_poff = out_poff_arr
    cdef int64_t[::1] out_goff = out_goff_arr
    cdef uint8_t[::1] suspect = suspect_arr
    cdef const double* src = &xy[0, 0] if n > 0 else NULL
    cdef double* dst = &out[0, 0] if n > 0 else NULL
    cdef uint8_t* kp = &keep[0] if n > 0 else NULL
    cdef int64_t* stack = <int64_t*> malloc((2 * longest + 4) * sizeof(int64_t))
    if stack == NULL:
        return Status.NO_MEMORY, None, None, None, None, None
    cdef Py_ssize_t g
    cdef int64_t p, r, m, w = 0, nr = 0, np_ = 0
    with nogil:
        for g in range(ngeoms):
            for p in range(goff[g], goff[g + 1]):
                if poff[p + 1] == poff[p]:
                    continue                      # a polygon without rings is empty: dropped
                r = poff[p]
                m = 0
                if roff[r + 1] > roff[r]:
                    m = _ring(src, roff[r], roff[r + 1] - 1, tolerance, kp, stack, dst + 2 * w)
                if m < 4:
                    # The shell collapsed, so the polygon goes. If a hole survives, GEOS hands
                    # the leftover rings to buffer(0): flag the geometry for the wrapper.
                    for r in range(poff[p] + 1, poff[p + 1]):
                        if roff[r + 1] > roff[r] and _ring(src, roff[r], roff[r + 1] - 1,
                                                           tolerance, kp, stack, dst + 2 * w) >= 4:
                            suspect[g] = 1
                    continue
                w += m
                nr += 1
                out_roff[nr] = w
                for r in range(poff[p] + 1, poff[p + 1]):
                    m = 0
                    if roff[r + 1] > roff[r]:
                        m = _ring(src, roff[r], roff[r + 1] - 1, tolerance, kp, stack, dst + 2 * w)
                    if m >= 4:                    # a collapsed hole is skipped
                        w += m
                        nr += 1
                        out_roff[nr] = w
                np_ += 1
                out_poff[np_] = nr
            out_goff[g + 1] = np_
    free(stack)
    return (Status.OK, out_arr[:w].copy(), out_roff_arr[:nr + 1].copy(),
            out_poff_arr[:np_ + 1].copy(), out_goff_arr, suspect_arr)
