# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Private .shp/.shx kernels: locate records, then parse shapes into the ragged buffers.

Every loop runs without the GIL over a bytes-like buffer (mmap, bytes or a chunk read with
pread) and returns a Status; the Python wrapper (samsyn_fast.shapefile) turns it into a
KernelError naming the file and the 1-based record. Integers in the header and the record
headers are big-endian, everything else little-endian (the host is checked at import).
"""
import sys

import numpy as np

cimport numpy as cnp
from libc.math cimport fabs, isfinite
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from samsyn_fast._status cimport Status

cnp.import_array()

if sys.byteorder != "little":  # pragma: no cover - the kernels read LE doubles with memcpy
    raise ImportError("samsyn_fast._shapefile needs a little-endian host")

# Shape types (ESRI whitepaper, table 1).
SHAPE_TYPES = {0: "Null", 1: "Point", 3: "PolyLine", 5: "Polygon", 8: "MultiPoint",
                   11: "PointZ", 13: "PolyLineZ", 15: "PolygonZ", 18: "MultiPointZ",
                   21: "PointM", 23: "PolyLineM", 25: "PolygonM", 28: "MultiPointM",
                   31: "MultiPatch"}


cdef inline int64_t _be_i32(const uint8_t* p) noexcept nogil:
    return <int32_t>((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16)
                     | (<uint32_t>p[2] << 8) | <uint32_t>p[3])


cdef inline int64_t _le_i32(const uint8_t* p) noexcept nogil:
    cdef int32_t v
    memcpy(&v, p, 4)
    return v


cdef inline double _le_f64(const uint8_t* p) noexcept nogil:
    cdef double v
    memcpy(&v, p, 8)
    return v


def read_header(const uint8_t[::1] buf):
    """Parse the 100-byte main header of a .shp or .shx.

    Returns:
        (status, shape_type, declared_file_length_bytes, bbox tuple of 8 doubles).
    """
    if buf.shape[0] < 100:
        return Status.TRUNCATED, -1, 0, None
    cdef const uint8_t* p = &buf[0]
    if _be_i32(p) != 9994 or _le_i32(p + 28) != 1000:
        return Status.BAD_MAGIC, -1, 0, None
    cdef int i
    bbox = []
    for i in range(8):
        bbox.append(_le_f64(p + 36 + 8 * i))
    bbox = tuple(bbox)
    return Status.OK, _le_i32(p + 32), _be_i32(p + 24) * 2, bbox


def index_from_shx(const uint8_t[::1] entries, int64_t shp_size):
    """Record offsets and content lengths (bytes) from .shx entries, checked against the .shp size.

    Args:
        entries: the 8-byte entries of the .shx (the bytes after its 100-byte header), or a
            run of them (streaming reads only the entries of one chunk).
        shp_size: size of the .shp in bytes.

    Returns:
        (status, bad_entry_index, offsets int64 (n,), lengths int64 (n,)).
    """
    cdef Py_ssize_t size = entries.shape[0]
    if size % 8 != 0:
        return Status.BAD_LENGTH, -1, None, None
    cdef Py_ssize_t n = size // 8
    offsets_arr = np.empty(n, dtype=np.int64)
    lengths_arr = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] offsets = offsets_arr
    cdef int64_t[::1] lengths = lengths_arr
    if n == 0:
        return Status.OK, -1, offsets_arr, lengths_arr
    cdef const uint8_t* p = &entries[0]
    cdef Py_ssize_t i = 0
    cdef int64_t off, ln
    cdef Status status = Status.OK
    with nogil:
        for i in range(n):
            off = _be_i32(p + 8 * i) * 2
            ln = _be_i32(p + 4 + 8 * i) * 2
            if off < 100 or ln < 4:
                status = Status.BAD_INDEX
                break
            if off + 8 + ln > shp_size:
                status = Status.BAD_INDEX
                break
            offsets[i] = off
            lengths[i] = ln
    if status != Status.OK:
        return status, i, None, None
    return Status.OK, -1, offsets_arr, lengths_arr


cdef Status _scan(const uint8_t* p, int64_t size, int64_t pos, int64_t maxn, bint partial,
                  int64_t base, int64_t* offsets, int64_t* lengths, int64_t* count,
                  int64_t* end) noexcept nogil:
    """Walk record headers from buffer position `pos`, at most `maxn` records (< 0: all).

    Fills offsets (file offsets = base + position) and lengths when they are not NULL. With
    `partial`, a record cut by the end of the buffer ends the walk (the caller reads more);
    without, it is TRUNCATED.
    """
    cdef int64_t n = 0
    cdef int64_t ln
    cdef Status status = Status.OK
    while pos < size and (maxn < 0 or n < maxn):
        if pos + 8 > size:
            if not partial:
                status = Status.TRUNCATED
            break
        ln = _be_i32(p + pos + 4) * 2
        if ln < 4:
            status = Status.BAD_LENGTH
            break
        if pos + 8 + ln > size:
            if not partial:
                status = Status.TRUNCATED
            break
        if offsets != NULL:
            offsets[n] = base + pos
            lengths[n] = ln
        n += 1
        pos += 8 + ln
    count[0] = n
    end[0] = base + pos
    return status


def index_by_scan(const uint8_t[::1] buf, int64_t base=0, int64_t start=100,
                  int64_t max_records=-1, bint partial=False):
    """Record offsets and lengths by walking the .shp sequentially (no .shx).

    Args:
        buf: .shp bytes from file offset `base` on.
        start: file offset of the first record header to read (100: the first record).
        max_records: stop after this many records (< 0: walk to the end of buf).
        partial: buf is not the end of the file; a record it cuts ends the walk quietly.

    Returns:
        (status, bad_record_index, offsets, lengths, end file offset of the last whole record).
    """
    cdef int64_t size = buf.shape[0]
    cdef int64_t n = 0, end = start
    cdef Status status
    if start < base or start - base > size:
        return Status.BAD_INPUT, -1, None, None, start
    if base == 0 and size < 100:
        return Status.TRUNCATED, -1, None, None, start
    cdef const uint8_t* p = &buf[0] if size else NULL
    if size:
        with nogil:
            status = _scan(p, size, start - base, max_records, partial, base, NULL, NULL, &n,
                           &end)
        if status != Status.OK:
            return status, n, None, None, end
    offsets_arr = np.empty(n, dtype=np.int64)
    lengths_arr = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] offsets = offsets_arr
    cdef int64_t[::1] lengths = lengths_arr
    status = Status.OK
    if n:
        with nogil:
            status = _scan(p, size, start - base, n, partial, base, &offsets[0], &lengths[0],
                           &n, &end)
    return status, -1, offsets_arr, lengths_arr, end


# ---------------------------------------------------------------- polygon ring grouping

cdef inline double _area2(const double* xy, int64_t n) noexcept nogil:
    """Twice the signed area, with pyshp's formula (signed_area(fast=True)) so signs agree."""
    cdef double s = 0.0
    cdef int64_t i
    # pyshp: xs.append(xs[1]); sum(xs[i] * (ys[i + 1] - ys[i - 1]) for i in 1..n-1)
    for i in range(1, n):
        if i + 1 < n:
            s += xy[2 * i] * (xy[2 * (i + 1) + 1] - xy[2 * (i - 1) + 1])
        else:
            s += xy[2 * i] * (xy[2 * 1 + 1] - xy[2 * (i - 1) + 1])
    return s


cdef bint _ring_contains_point(const double* xy, int64_t n, double tx, double ty) noexcept nogil:
    """Crossings test (MacMartin), the same arithmetic as pyshp.ring_contains_point."""
    cdef bint inside = False
    cdef double x0 = xy[0], y0 = xy[1], x1, y1
    cdef bint yflag0 = y0 >= ty, yflag1, xflag0
    cdef int64_t i
    for i in range(1, n):
        x1 = xy[2 * i]
        y1 = xy[2 * i + 1]
        yflag1 = y1 >= ty
        if yflag0 != yflag1:
            xflag0 = x0 >= tx
            if xflag0 == (x1 >= tx):
                if xflag0:
                    inside = not inside
            else:
                if (x1 - (y1 - ty) * (x0 - x1) / (y0 - y1)) >= tx:
                    inside = not inside
        yflag0 = yflag1
        x0 = x1
        y0 = y1
    return inside


cdef bint _ring_sample(const double* xy, int64_t n, bint ccw, double* sx, double* sy) noexcept nogil:
    """pyshp.ring_sample: centroid of the first vertex triplet that lies inside the ring."""
    cdef double tx[3]
    cdef double ty[3]
    cdef int k = 0, j
    cdef int64_t i, idx
    cdef bint dup, straight, tri_ccw
    cdef double a2, mx, my
    if n < 2:
        return False
    for i in range(n + 1):
        idx = i if i < n else 1
        dup = False
        for j in range(k):
            if tx[j] == xy[2 * idx] and ty[j] == xy[2 * idx + 1]:
                dup = True
        if not dup:
            tx[k] = xy[2 * idx]
            ty[k] = xy[2 * idx + 1]
            k += 1
        if k == 3:
            straight = ((ty[0] - ty[1]) * (tx[0] - tx[2])) == ((ty[0] - ty[2]) * (tx[0] - tx[1]))
            if not straight:
                # closed triplet [a, b, c, a] through the same area formula
                a2 = tx[1] * (ty[2] - ty[0]) + tx[2] * (ty[0] - ty[1]) + tx[0] * (ty[1] - ty[2])
                tri_ccw = not (a2 < 0)
                if ccw == tri_ccw:
                    mx = (tx[0] + tx[1] + tx[2]) / 3.0
                    my = (ty[0] + ty[1] + ty[2]) / 3.0
                    if _ring_contains_point(xy, n, mx, my):
                        sx[0] = mx
                        sy[0] = my
                        return True
            tx[0] = tx[1]
            ty[0] = ty[1]
            tx[1] = tx[2]
            ty[1] = ty[2]
            k = 2
    return False


cdef inline void _bbox(const double* xy, int64_t n, double* b) noexcept nogil:
    cdef int64_t i
    b[0] = xy[0]
    b[1] = xy[1]
    b[2] = xy[0]
    b[3] = xy[1]
    for i in range(1, n):
        if xy[2 * i] < b[0]:
            b[0] = xy[2 * i]
        if xy[2 * i] > b[2]:
            b[2] = xy[2 * i]
        if xy[2 * i + 1] < b[1]:
            b[1] = xy[2 * i + 1]
        if xy[2 * i + 1] > b[3]:
            b[3] = xy[2 * i + 1]


cdef struct Scratch:
    int64_t* start      # ring start (local vertex index), R + 1 entries
    double* area2
    double* bbox        # 4 per ring
    int64_t* parent     # for holes: the exterior ring index, -1 orphan; for exteriors: -2
    int64_t* order      # output ring order
    int64_t* poly_start # output: index into order where each polygon starts
    double* xy          # max_points * 2
    double* z           # max_points


cdef int64_t _group_rings(Scratch* s, const double* xy, int64_t nrings) noexcept nogil:
    """Order rings into polygons exactly as pyshp 3's organize_polygon_rings.

    Clockwise rings are exteriors, the others holes. One exterior takes every hole; with several,
    a hole goes to the exterior whose bbox strictly contains its bbox, then (if ambiguous) the one
    containing a sample point of the hole, then the smallest; a hole inside none ("orphan"),
    and every ring of a shape without exteriors, becomes a polygon of its own after the others.
    Returns the number of polygons; s.order / s.poly_start describe them.
    """
    cdef int64_t r, e, h, n_ext = 0, n_poly = 0, k = 0, ncand, best
    cdef double sx = 0.0, sy = 0.0, best_area
    cdef bint ok
    for r in range(nrings):
        s.area2[r] = _area2(xy + 2 * s.start[r], s.start[r + 1] - s.start[r])
        if s.area2[r] < 0:
            n_ext += 1
            s.parent[r] = -2
        else:
            s.parent[r] = -1
    if n_ext == 0:
        for r in range(nrings):
            s.poly_start[r] = r
            s.order[r] = r
        return nrings
    if n_ext == 1:
        s.poly_start[0] = 0
        for r in range(nrings):
            if s.parent[r] == -2:
                s.order[k] = r
                k += 1
        for r in range(nrings):
            if s.parent[r] != -2:
                s.order[k] = r
                k += 1
        return 1
    for r in range(nrings):
        _bbox(xy + 2 * s.start[r], s.start[r + 1] - s.start[r], s.bbox + 4 * r)
    for h in range(nrings):
        if s.parent[h] == -2:
            continue
        ncand = 0
        best = -1
        for e in range(nrings):
            if s.parent[e] != -2:
                continue
            if (s.bbox[4 * e] < s.bbox[4 * h] and s.bbox[4 * h + 2] < s.bbox[4 * e + 2]
                    and s.bbox[4 * e + 1] < s.bbox[4 * h + 1]
                    and s.bbox[4 * h + 3] < s.bbox[4 * e + 3]):
                ncand += 1
                if best < 0:
                    best = e
        if ncand > 1:
            ok = _ring_sample(xy + 2 * s.start[h], s.start[h + 1] - s.start[h],
                              not (s.area2[h] < 0), &sx, &sy)
            best = -1
            best_area = 0.0
            for e in range(nrings):
                if s.parent[e] != -2:
                    continue
                if not (s.bbox[4 * e] < s.bbox[4 * h] and s.bbox[4 * h + 2] < s.bbox[4 * e + 2]
                        and s.bbox[4 * e + 1] < s.bbox[4 * h + 1]
                        and s.bbox[4 * h + 3] < s.bbox[4 * e + 3]):
                    continue
                if ok and not _ring_contains_point(xy + 2 * s.start[e],
                                                   s.start[e + 1] - s.start[e], sx, sy):
                    continue
                # several left: the exterior with the smallest |area| (first one on ties)
                if best < 0 or fabs(s.area2[e]) < best_area:
                    best = e
                    best_area = fabs(s.area2[e])
        s.parent[h] = best      # -1: orphan
    for e in range(nrings):
        if s.parent[e] != -2:
            continue
        s.poly_start[n_poly] = k
        n_poly += 1
        s.order[k] = e
        k += 1
        for h in range(nrings):
            if s.parent[h] == e:
                s.order[k] = h
                k += 1
    for h in range(nrings):
        if s.parent[h] == -1:
            s.poly_start[n_poly] = k
            n_poly += 1
            s.order[k] = h
            k += 1
    return n_poly


# ---------------------------------------------------------------- shape parsing

cdef inline Status _check_header(const uint8_t* rec, int64_t length) noexcept nogil:
    # The record header repeats the content length; the index must agree with it.
    if _be_i32(rec + 4) * 2 != length:
        return Status.BAD_INDEX
    return Status.OK


# MultiPatch part types (ESRI whitepaper, table 6)
cdef enum:
    TRIANGLE_STRIP = 0
    TRIANGLE_FAN = 1
    OUTER_RING = 2
    INNER_RING = 3
    FIRST_RING = 4
    RING = 5


cdef Status _count_multipatch(const uint8_t* c, int64_t ln, int64_t* totals) noexcept nogil:
    """Sizes of a MultiPatch record as polygons: a triangle per strip/fan step (as GDAL's
    TIN), one polygon per outer/first ring with the inner/plain rings that follow it."""
    cdef int64_t np_, npts, need, j, start, stop, t, cnt = 0, nrings = 0
    cdef bint open_poly = False
    if ln < 44:
        return Status.BAD_LENGTH
    np_ = _le_i32(c + 36)
    npts = _le_i32(c + 40)
    if np_ < 0 or npts < 0:
        return Status.BAD_LENGTH
    if np_ == 0 or npts == 0:
        return Status.EMPTY_GEOMETRY
    need = 44 + 8 * np_ + 16 * npts + 16 + 8 * npts
    if need > ln:
        return Status.BAD_LENGTH
    for j in range(np_):
        start = _le_i32(c + 44 + 4 * j)
        stop = _le_i32(c + 44 + 4 * (j + 1)) if j + 1 < np_ else npts
        if (j == 0 and start != 0) or stop > npts or stop < start:
            return Status.BAD_OFFSETS
        if stop == start:
            return Status.EMPTY_GEOMETRY
        t = _le_i32(c + 44 + 4 * np_ + 4 * j)
        if t == TRIANGLE_STRIP or t == TRIANGLE_FAN:
            if stop - start < 3:
                return Status.EMPTY_GEOMETRY
            cnt += 4 * (stop - start - 2)
            nrings += stop - start - 2
            open_poly = False
        elif OUTER_RING <= t <= RING:
            cnt += stop - start
            nrings += 1
            open_poly = True
        else:
            return Status.BAD_SHAPE_TYPE
    totals[0] += cnt
    totals[1] += nrings
    if nrings > totals[2]:
        totals[2] = nrings
    if npts > totals[3]:
        totals[3] = npts
    return Status.OK


cdef inline void _put(const uint8_t* c, int64_t k, int64_t zoff, double* xy, double* z,
                      int64_t at) noexcept nogil:
    memcpy(xy + 2 * at, c + 44 + 16 * k, 16)     # c + 44 here already skips parts/types
    memcpy(z + at, c + zoff + 8 * k, 8)


cdef Status _fill_multipatch(const uint8_t* c, double* xy, double* z, int64_t* ring_off,
                             int64_t* poly_off, int64_t* nc, int64_t* nr,
                             int64_t* npoly) noexcept nogil:
    """Write one MultiPatch record (checked by _count_multipatch) as polygons with Z."""
    cdef int64_t np_ = _le_i32(c + 36), npts = _le_i32(c + 40)
    cdef const uint8_t* pts = c + 8 * np_       # so that pts + 44 is the first point
    cdef int64_t zoff = 44 + 16 * npts + 16
    cdef int64_t j, k, start, stop, t, at
    cdef bint open_poly = False
    cdef Status status
    for j in range(np_):
        start = _le_i32(c + 44 + 4 * j)
        stop = _le_i32(c + 44 + 4 * (j + 1)) if j + 1 < np_ else npts
        t = _le_i32(c + 44 + 4 * np_ + 4 * j)
        if t == TRIANGLE_STRIP or t == TRIANGLE_FAN:
            open_poly = False
            for k in range(start, stop - 2):
                at = nc[0]
                # strip: (k, k+1, k+2); fan: (start, k+1, k+2); closed like GDAL's triangles
                _put(pts, start if t == TRIANGLE_FAN else k, zoff, xy, z, at)
                _put(pts, k + 1, zoff, xy, z, at + 1)
                _put(pts, k + 2, zoff, xy, z, at + 2)
                _put(pts, start if t == TRIANGLE_FAN else k, zoff, xy, z, at + 3)
                nc[0] += 4
                nr[0] += 1
                ring_off[nr[0]] = nc[0]
                npoly[0] += 1
                poly_off[npoly[0]] = nr[0]
        else:
            for k in range(start, stop):
                _put(pts, k, zoff, xy, z, nc[0] + k - start)
            nc[0] += stop - start
            nr[0] += 1
            ring_off[nr[0]] = nc[0]
            if t == OUTER_RING or t == FIRST_RING or not open_poly:
                npoly[0] += 1
            open_poly = True
            poly_off[npoly[0]] = nr[0]
    return Status.OK


cdef Status _count(const uint8_t* buf, int64_t blen, int64_t base, const int64_t* offsets,
                   const int64_t* lengths, Py_ssize_t n, int file_type, int kind, bint has_z,
                   int64_t* totals, Py_ssize_t* bad) noexcept nogil:
    """First pass: check that every record lies inside the buffer and that its declared sizes
    fit its content; totals = coords, parts, max parts per record, max points per record."""
    cdef Py_ssize_t i
    cdef const uint8_t* rec
    cdef const uint8_t* c
    cdef int64_t ln, st, np_, npts, need
    cdef Status status
    for i in range(n):
        bad[0] = i
        ln = lengths[i]
        if offsets[i] < base or ln < 4 or offsets[i] - base + 8 + ln > blen:
            return Status.TRUNCATED
        rec = buf + (offsets[i] - base)
        status = _check_header(rec, ln)
        if status != Status.OK:
            return status
        c = rec + 8
        st = _le_i32(c)
        if st == 0:
            continue
        if st != file_type:
            return Status.BAD_SHAPE_TYPE
        if kind == 1:
            need = 20 + (8 if has_z else 0)
            if ln < need:
                return Status.BAD_LENGTH
            totals[0] += 1
        elif kind == 8:
            if ln < 40:
                return Status.BAD_LENGTH
            npts = _le_i32(c + 36)
            if npts < 0:
                return Status.BAD_LENGTH
            if npts == 0:
                return Status.EMPTY_GEOMETRY
            need = 40 + 16 * npts + ((16 + 8 * npts) if has_z else 0)
            if need > ln:
                return Status.BAD_LENGTH
            totals[0] += npts
            if npts > totals[3]:
                totals[3] = npts
        elif kind == 31:
            status = _count_multipatch(c, ln, totals)
            if status != Status.OK:
                return status
        else:
            if ln < 44:
                return Status.BAD_LENGTH
            np_ = _le_i32(c + 36)
            npts = _le_i32(c + 40)
            if np_ < 0 or npts < 0:
                return Status.BAD_LENGTH
            if np_ == 0 or npts == 0:
                return Status.EMPTY_GEOMETRY
            need = 44 + 4 * np_ + 16 * npts + ((16 + 8 * npts) if has_z else 0)
            if need > ln:
                return Status.BAD_LENGTH
            if np_ > npts:
                return Status.EMPTY_GEOMETRY
            totals[0] += npts
            totals[1] += np_
            if np_ > totals[2]:
                totals[2] = np_
            if npts > totals[3]:
                totals[3] = npts
    bad[0] = -1
    return Status.OK


cdef inline Status _check_finite(const double* xy, const double* z, int64_t n) noexcept nogil:
    cdef int64_t i
    for i in range(n):
        if not (isfinite(xy[2 * i]) and isfinite(xy[2 * i + 1])):
            return Status.NAN_COORD
    if z != NULL:
        for i in range(n):
            if not isfinite(z[i]):
                return Status.NAN_COORD
    return Status.OK


cdef Status _fill(const uint8_t* buf, int64_t base, const int64_t* offsets, Py_ssize_t n,
                  int kind, bint has_z, double* xy, double* z, int64_t* geom_off,
                  int64_t* ring_off, int64_t* poly_off, uint8_t* null, Scratch* s,
                  int64_t* n_polys_out, Py_ssize_t* bad) noexcept nogil:
    """Second pass: copy coordinates and build the offsets (sizes were checked by _count)."""
    cdef Py_ssize_t i
    cdef const uint8_t* c
    cdef int64_t st, np_, npts, j, r, q, k, nc = 0, nr = 0, npoly = 0, prev, cur, src, cnt
    cdef int64_t ngroups
    cdef bint identity
    cdef Status status
    geom_off[0] = 0
    ring_off[0] = 0
    poly_off[0] = 0
    for i in range(n):
        bad[0] = i
        c = buf + (offsets[i] - base) + 8
        st = _le_i32(c)
        if st == 0:
            null[i] = 1
            if kind == 1 or kind == 8:
                geom_off[i + 1] = nc
            elif kind == 3:
                geom_off[i + 1] = nr
            else:
                geom_off[i + 1] = npoly
            continue
        null[i] = 0
        if kind == 1:
            memcpy(xy + 2 * nc, c + 4, 16)
            if has_z:
                memcpy(z + nc, c + 20, 8)
            status = _check_finite(xy + 2 * nc, (z + nc) if has_z else NULL, 1)
            if status != Status.OK:
                return status
            nc += 1
            geom_off[i + 1] = nc
            continue
        if kind == 8:
            npts = _le_i32(c + 36)
            memcpy(xy + 2 * nc, c + 40, 16 * npts)
            if has_z:
                memcpy(z + nc, c + 40 + 16 * npts + 16, 8 * npts)
            status = _check_finite(xy + 2 * nc, (z + nc) if has_z else NULL, npts)
            if status != Status.OK:
                return status
            nc += npts
            geom_off[i + 1] = nc
            continue
        if kind == 31:
            k = nc
            _fill_multipatch(c, xy, z, ring_off, poly_off, &nc, &nr, &npoly)
            status = _check_finite(xy + 2 * k, z + k, nc - k)
            if status != Status.OK:
                return status
            geom_off[i + 1] = npoly
            continue
        np_ = _le_i32(c + 36)
        npts = _le_i32(c + 40)
        # parts: first index 0, strictly increasing, below npts
        prev = _le_i32(c + 44)
        if prev != 0:
            return Status.BAD_OFFSETS
        s.start[0] = 0
        for j in range(1, np_):
            cur = _le_i32(c + 44 + 4 * j)
            if cur < prev or cur >= npts:
                return Status.BAD_OFFSETS
            if cur == prev:
                return Status.EMPTY_GEOMETRY
            s.start[j] = cur
            prev = cur
        s.start[np_] = npts
        src = 44 + 4 * np_
        memcpy(xy + 2 * nc, c + src, 16 * npts)
        if has_z:
            memcpy(z + nc, c + src + 16 * npts + 16, 8 * npts)
        status = _check_finite(xy + 2 * nc, (z + nc) if has_z else NULL, npts)
        if status != Status.OK:
            return status
        if kind == 3:
            for j in range(np_):
                ring_off[nr + j + 1] = nc + s.start[j + 1]
            nr += np_
            nc += npts
            geom_off[i + 1] = nr
            continue
        # polygon: group rings, permute coordinates when the grouping reorders rings
        if np_ == 1:
            ngroups = 1
            s.order[0] = 0
            s.poly_start[0] = 0
        else:
            ngroups = _group_rings(s, xy + 2 * nc, np_)
        identity = True
        for j in range(np_):
            if s.order[j] != j:
                identity = False
                break
        if identity:
            for j in range(np_):
                ring_off[nr + j + 1] = nc + s.start[j + 1]
        else:
            memcpy(s.xy, xy + 2 * nc, 16 * npts)
            if has_z:
                memcpy(s.z, z + nc, 8 * npts)
            k = 0
            for j in range(np_):
                r = s.order[j]
                cnt = s.start[r + 1] - s.start[r]
                memcpy(xy + 2 * (nc + k), s.xy + 2 * s.start[r], 16 * cnt)
                if has_z:
                    memcpy(z + nc + k, s.z + s.start[r], 8 * cnt)
                k += cnt
                ring_off[nr + j + 1] = nc + k
        for q in range(ngroups):
            poly_off[npoly + q + 1] = nr + (s.poly_start[q + 1] if q + 1 < ngroups else np_)
        npoly += ngroups
        nr += np_
        nc += npts
        geom_off[i + 1] = npoly
    n_polys_out[0] = npoly
    bad[0] = -1
    return Status.OK


def parse_shapes(const uint8_t[::1] buf, int64_t base, const int64_t[::1] offsets,
                 const int64_t[::1] lengths, int file_type):
    """Parse the records at `offsets` (file offsets; `buf` starts at file offset `base`).

    Args:
        buf: the .shp bytes from file offset `base` on, covering every listed record.
        base: file offset of buf[0].
        offsets: (n,) int64 file offsets of the record headers, in output order.
        lengths: (n,) int64 content lengths in bytes (from the .shx or the scan).
        file_type: the shape type of the main header (not MultiPatch).

    Returns:
        (status, bad_index, result) where result is
        (coords, z or None, geom_offsets, ring_offsets, polygon_offsets, null) on success.
    """
    cdef Py_ssize_t n = offsets.shape[0]
    cdef int kind = (file_type % 10 if file_type != 31 else 31) if file_type != 0 else 1
    cdef bint has_z = 10 < file_type < 20 or file_type == 31
    cdef int64_t totals[4]
    cdef Py_ssize_t bad = -1, i
    cdef Status status = Status.OK
    cdef int64_t blen = buf.shape[0]
    if file_type not in (0, 1, 3, 5, 8, 11, 13, 15, 18, 21, 23, 25, 28, 31):
        return Status.BAD_SHAPE_TYPE, -1, None
    if lengths.shape[0] != n:
        return Status.BAD_INPUT, -1, None
    totals[0] = totals[1] = totals[2] = totals[3] = 0
    cdef const uint8_t* p = &buf[0] if blen > 0 else NULL
    if n:
        with nogil:
            status = _count(p, blen, base, &offsets[0], &lengths[0], n, file_type, kind, has_z,
                            totals, &bad)
        if status != Status.OK:
            return status, bad, None
    # Sizes are bounded by the buffer: every coordinate took >= 16 bytes of it.
    coords_arr = np.empty((totals[0], 2), dtype=np.float64)
    z_arr = np.empty(totals[0], dtype=np.float64) if has_z else None
    geom_arr = np.empty(n + 1, dtype=np.int64)
    ring_arr = np.empty(totals[1] + 1, dtype=np.int64)
    poly_arr = np.empty(totals[1] + 1, dtype=np.int64)
    null_arr = np.empty(n, dtype=np.bool_)
    cdef double[:, ::1] xy = coords_arr
    cdef double[::1] zv
    cdef double* zp = NULL
    if has_z:
        zv = z_arr
        if totals[0]:
            zp = &zv[0]
    cdef int64_t[::1] geom = geom_arr
    cdef int64_t[::1] ring = ring_arr
    cdef int64_t[::1] poly = poly_arr
    cdef uint8_t[::1] null = null_arr.view(np.uint8)
    cdef double* xyp = &xy[0, 0] if totals[0] else NULL
    cdef Scratch s
    cdef int64_t npolys = 0
    cdef int64_t maxr = totals[2] + 1
    cdef int64_t maxp = totals[3] + 1
    s.start = <int64_t*>malloc(sizeof(int64_t) * (maxr + 1))
    s.area2 = <double*>malloc(sizeof(double) * maxr)
    s.bbox = <double*>malloc(sizeof(double) * 4 * maxr)
    s.parent = <int64_t*>malloc(sizeof(int64_t) * maxr)
    s.order = <int64_t*>malloc(sizeof(int64_t) * maxr)
    s.poly_start = <int64_t*>malloc(sizeof(int64_t) * maxr)
    s.xy = <double*>malloc(sizeof(double) * 2 * maxp)
    s.z = <double*>malloc(sizeof(double) * maxp)
    try:
        if (s.start == NULL or s.area2 == NULL or s.bbox == NULL or s.parent == NULL
                or s.order == NULL or s.poly_start == NULL or s.xy == NULL or s.z == NULL):
            return Status.NO_MEMORY, -1, None
        with nogil:
            status = _fill(p, base, &offsets[0] if n else NULL, n, kind, has_z, xyp, zp,
                           &geom[0], &ring[0], &poly[0], &null[0] if n else NULL, &s,
                           &npolys, &bad)
    finally:
        free(s.start)
        free(s.area2)
        free(s.bbox)
        free(s.parent)
        free(s.order)
        free(s.poly_start)
        free(s.xy)
        free(s.z)
    if status != Status.OK:
        return status, bad, None
    if kind == 1 or kind == 8:
        ring_arr = np.zeros(1, dtype=np.int64)
    if kind != 5 and kind != 31:
        poly_arr = np.zeros(1, dtype=np.int64)
    elif npolys + 1 < poly_arr.shape[0]:
        poly_arr = poly_arr[: npolys + 1].copy()
    return Status.OK, -1, (coords_arr, z_arr, geom_arr, ring_arr, poly_arr, null_arr)
