# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""GeoJSON coordinates kernel: one nogil pass over the raw JSON coordinate arrays of every feature.

msgspec has already decoded and validated the document (samsyn_fast.geojson); the coordinate
members stay msgspec.Raw bytes and are flattened here into the ragged GeometryBuffers layout,
one builder per geometry family (points, lines, polygons).
"""
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from libc.math cimport isfinite, NAN
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset

from samsyn_fast._buffers cimport (ByteBuf, buf_append, buf_free, buf_push_f64, buf_push_i64,
                                   buf_push_u8, buf_to_numpy)
from samsyn_fast._decimal cimport parse_decimal
from samsyn_fast._status cimport Status
from samsyn_fast._utf8 cimport utf8_invalid_at

import numpy as np

# Geometry codes (the wrapper maps GeoJSON type names to these).
cpdef enum GeomCode:
    NULL_GEOMETRY = 0
    POINT = 1
    MULTIPOINT = 2
    LINESTRING = 3
    MULTILINESTRING = 4
    POLYGON = 5
    MULTIPOLYGON = 6
    FAM_POINTS = 0
    FAM_LINES = 1
    FAM_POLYGONS = 2

cpdef enum Problem:
    PROBLEM_NONE = 0
    PROBLEM_NESTING = 1      # an array where a number belongs, or the reverse
    PROBLEM_NOT_NUMBER = 2   # a string / true / null inside coordinates
    PROBLEM_SHORT_POSITION = 3
    PROBLEM_NONFINITE = 4
    PROBLEM_MISSING = 5      # no coordinates member
    PROBLEM_TRAILING = 6
    PROBLEM_INVALID_UTF8 = 7     # text (properties) that is not UTF-8
    PROBLEM_NUL_ESCAPE = 8       # \u0000: PostgreSQL text and jsonb cannot hold it
    PROBLEM_LONE_SURROGATE = 9   # \uD800-\uDFFF not in a high + low pair: jsonb rejects it


cdef inline int64_t _count(ByteBuf* a) noexcept nogil:
    return a.length // 8


cdef struct Family:
    ByteBuf xy        # doubles x, y
    ByteBuf z         # doubles (NaN where the position had no third number)
    ByteBuf geom      # int64 offsets (G + 1)
    ByteBuf ring      # int64 offsets (R + 1), lines and polygons
    ByteBuf poly      # int64 offsets (P + 1), polygons only
    ByteBuf feature   # int64 feature index per geometry
    ByteBuf null      # uint8 per geometry
    bint has_z
    bint all_points   # points family: only Point geometries so far


cdef struct Cursor:
    const char* p
    const char* end
    int problem


cdef inline void _ws(Cursor* c) noexcept nogil:
    while c.p < c.end and (c.p[0] == 32 or c.p[0] == 10 or c.p[0] == 13 or c.p[0] == 9):
        c.p += 1


cdef inline bint _peek(Cursor* c, char ch) noexcept nogil:
    _ws(c)
    return c.p < c.end and c.p[0] == ch


cdef Status _fail(Cursor* c, int problem, Status s) noexcept nogil:
    c.problem = problem
    return s


cdef Status _number(Cursor* c, double* out) noexcept nogil:
    cdef const char* s
    cdef unsigned char ch
    cdef int rc
    _ws(c)
    if c.p >= c.end:
        return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
    ch = <unsigned char>c.p[0]
    if ch == 91:   # '['
        return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
    s = c.p
    while c.p < c.end:
        ch = <unsigned char>c.p[0]
        if (48 <= ch <= 57) or ch == 45 or ch == 43 or ch == 46 or ch == 101 or ch == 69:
            c.p += 1
        else:
            break
    if c.p == s:
        return _fail(c, PROBLEM_NOT_NUMBER, Status.BAD_NUMBER)
    rc = parse_decimal(s, c.p - s, out)
    if rc == 2:
        return Status.NO_MEMORY
    if rc != 0:
        return _fail(c, PROBLEM_NOT_NUMBER, Status.BAD_NUMBER)
    if not isfinite(out[0]):
        return _fail(c, PROBLEM_NONFINITE, Status.NAN_COORD)
    return Status.OK


cdef Status _position(Cursor* c, Family* f) noexcept nogil:
    """[x, y(, z(, ...))]: x, y and z kept; later members (M) are read and dropped."""
    cdef double v[3]
    cdef double extra
    cdef int k = 0
    cdef Status s
    if not _peek(c, 91):
        return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
    c.p += 1
    if _peek(c, 93):
        return _fail(c, PROBLEM_SHORT_POSITION, Status.EMPTY_GEOMETRY)
    while True:
        if k < 3:
            s = _number(c, &v[k])
        else:
            s = _number(c, &extra)
        if s != Status.OK:
            return s
        k += 1
        _ws(c)
        if c.p < c.end and c.p[0] == 44:   # ','
            c.p += 1
            continue
        if c.p < c.end and c.p[0] == 93:   # ']'
            c.p += 1
            break
        return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
    if k < 2:
        return _fail(c, PROBLEM_SHORT_POSITION, Status.EMPTY_GEOMETRY)
    if k >= 3:
        f.has_z = True
    else:
        v[2] = NAN
    if buf_append(&f.xy, v, 16) != 0 or buf_push_f64(&f.z, v[2]) != 0:
        return Status.NO_MEMORY
    return Status.OK


cdef enum:
    ARRAY_EMPTY = 0       # "[]" consumed
    ARRAY_ITEMS = 1       # "[" consumed, items follow
    ARRAY_NEXT = 1        # "," consumed, another item follows
    ARRAY_CLOSED = 2      # "]" consumed
    ARRAY_BAD = -1


cdef inline int _open_array(Cursor* c) noexcept nogil:
    if not _peek(c, 91):                       # '['
        return ARRAY_BAD
    c.p += 1
    if _peek(c, 93):                           # ']'
        c.p += 1
        return ARRAY_EMPTY
    return ARRAY_ITEMS


cdef inline int _after_item(Cursor* c) noexcept nogil:
    _ws(c)
    if c.p < c.end and c.p[0] == 44:           # ','
        c.p += 1
        return ARRAY_NEXT
    if c.p < c.end and c.p[0] == 93:           # ']'
        c.p += 1
        return ARRAY_CLOSED
    return ARRAY_BAD


cdef Status _positions(Cursor* c, Family* f) noexcept nogil:
    """[position, ...] (possibly empty)."""
    cdef Status s
    cdef int k = _open_array(c)
    if k == ARRAY_BAD:
        return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
    while k != ARRAY_EMPTY and k != ARRAY_CLOSED:
        s = _position(c, f)
        if s != Status.OK:
            return s
        k = _after_item(c)
        if k == ARRAY_BAD:
            return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
    return Status.OK


cdef Status _rings(Cursor* c, Family* f) noexcept nogil:
    """[[position, ...], ...]: each inner array closes one ring (line part)."""
    cdef Status s
    cdef int k = _open_array(c)
    if k == ARRAY_BAD:
        return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
    while k != ARRAY_EMPTY and k != ARRAY_CLOSED:
        s = _positions(c, f)
        if s != Status.OK:
            return s
        if buf_push_i64(&f.ring, _count(&f.xy) // 2) != 0:
            return Status.NO_MEMORY
        k = _after_item(c)
        if k == ARRAY_BAD:
            return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
    return Status.OK


cdef Status _polygons(Cursor* c, Family* f) noexcept nogil:
    """[[[position, ...], ...], ...]: each middle array closes one polygon."""
    cdef Status s
    cdef int k = _open_array(c)
    if k == ARRAY_BAD:
        return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
    while k != ARRAY_EMPTY and k != ARRAY_CLOSED:
        s = _rings(c, f)
        if s != Status.OK:
            return s
        if buf_push_i64(&f.poly, _count(&f.ring) - 1) != 0:
            return Status.NO_MEMORY
        k = _after_item(c)
        if k == ARRAY_BAD:
            return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
    return Status.OK


cdef Status _geometry(Cursor* c, int code, Family* f) noexcept nogil:
    cdef Status s
    cdef int64_t before
    cdef const char* save
    if code == POINT:
        # [x, y] or [] (an empty point)
        if not _peek(c, 91):
            return _fail(c, PROBLEM_NESTING, Status.BAD_RECORD)
        save = c.p
        c.p += 1
        if _peek(c, 93):
            c.p += 1
        else:
            c.p = save
            s = _position(c, f)
            if s != Status.OK:
                return s
        return Status.OK if buf_push_i64(&f.geom, _count(&f.xy) // 2) == 0 else Status.NO_MEMORY
    if code == MULTIPOINT:
        f.all_points = False
        s = _positions(c, f)
        if s != Status.OK:
            return s
        return Status.OK if buf_push_i64(&f.geom, _count(&f.xy) // 2) == 0 else Status.NO_MEMORY
    if code == LINESTRING:
        before = _count(&f.xy)
        s = _positions(c, f)
        if s != Status.OK:
            return s
        if _count(&f.xy) != before and buf_push_i64(&f.ring, _count(&f.xy) // 2) != 0:
            return Status.NO_MEMORY
        return Status.OK if buf_push_i64(&f.geom, _count(&f.ring) - 1) == 0 else Status.NO_MEMORY
    if code == MULTILINESTRING:
        s = _rings(c, f)
        if s != Status.OK:
            return s
        return Status.OK if buf_push_i64(&f.geom, _count(&f.ring) - 1) == 0 else Status.NO_MEMORY
    if code == POLYGON:
        before = _count(&f.ring)
        s = _rings(c, f)
        if s != Status.OK:
            return s
        if _count(&f.ring) != before and buf_push_i64(&f.poly, _count(&f.ring) - 1) != 0:
            return Status.NO_MEMORY
        return Status.OK if buf_push_i64(&f.geom, _count(&f.poly) - 1) == 0 else Status.NO_MEMORY
    if code == MULTIPOLYGON:
        s = _polygons(c, f)
        if s != Status.OK:
            return s
        return Status.OK if buf_push_i64(&f.geom, _count(&f.poly) - 1) == 0 else Status.NO_MEMORY
    return Status.BAD_SHAPE_TYPE


cdef Status _null(Family* f, int fam) noexcept nogil:
    # A null geometry spans nothing: repeat the last offset.
    if fam == FAM_POINTS:
        return Status.OK if buf_push_i64(&f.geom, _count(&f.xy) // 2) == 0 else Status.NO_MEMORY
    if fam == FAM_LINES:
        return Status.OK if buf_push_i64(&f.geom, _count(&f.ring) - 1) == 0 else Status.NO_MEMORY
    return Status.OK if buf_push_i64(&f.geom, _count(&f.poly) - 1) == 0 else Status.NO_MEMORY


def flatten(list coordinates, const uint8_t[::1] codes, int null_family):
    """Flatten the raw coordinate members of every feature.

    Args:
        coordinates: per feature a bytes-like JSON array (msgspec.Raw), or None for nulls.
        codes: per feature its GeomCode (NULL_GEOMETRY for null).
        null_family: the family (FAM_*) that takes the null geometries.

    Returns:
        (families, status, feature, problem, byte offset): families is a list of three dicts
        (or None when the family is unused) with the ragged arrays; status 0 when all went well.
    """
    cdef Py_ssize_t n = len(coordinates)
    cdef Py_ssize_t i
    cdef Py_buffer* bufs
    cdef const char** ptrs
    cdef Py_ssize_t* lens
    cdef Family fams[3]
    cdef Family* f
    cdef Cursor cur
    cdef Status s = Status.OK
    cdef int code, fam
    cdef int64_t zero = 0
    cdef int64_t fi
    cdef Py_ssize_t failed_at = -1
    cdef Py_ssize_t err_offset = 0
    cdef bint used[3]
    if codes.shape[0] != n:
        raise ValueError("one code per feature")
    bufs = <Py_buffer*>calloc(max(n, 1), sizeof(Py_buffer))
    ptrs = <const char**>calloc(max(n, 1), sizeof(char*))
    lens = <Py_ssize_t*>calloc(max(n, 1), sizeof(Py_ssize_t))
    if bufs == NULL or ptrs == NULL or lens == NULL:
        free(bufs)
        free(ptrs)
        free(lens)
        raise MemoryError()
    memset_families(fams)
    used[0] = used[1] = used[2] = False
    cur.problem = 0
    try:
        for i in range(n):
            obj = coordinates[i]
            if codes[i] != NULL_GEOMETRY and obj is not None:
                PyObject_GetBuffer(obj, &bufs[i], PyBUF_SIMPLE)
                ptrs[i] = <const char*>bufs[i].buf
                lens[i] = bufs[i].len
        with nogil:
            for fam in range(3):
                f = &fams[fam]
                f.all_points = True
                if buf_push_i64(&f.geom, zero) != 0 or buf_push_i64(&f.ring, zero) != 0 or \
                        buf_push_i64(&f.poly, zero) != 0:
                    s = Status.NO_MEMORY
            for i in range(n):
                if s != Status.OK:
                    break
                code = codes[i]
                if code == NULL_GEOMETRY:
                    fam = null_family
                elif code <= MULTIPOINT:
                    fam = FAM_POINTS
                elif code <= MULTILINESTRING:
                    fam = FAM_LINES
                else:
                    fam = FAM_POLYGONS
                f = &fams[fam]
                used[fam] = True
                fi = i
                if buf_push_i64(&f.feature, fi) != 0:
                    s = Status.NO_MEMORY
                    break
                if code == NULL_GEOMETRY:
                    s = _null(f, fam)
                    if s == Status.OK and buf_push_u8(&f.null, 1) != 0:
                        s = Status.NO_MEMORY
                    continue
                if buf_push_u8(&f.null, 0) != 0:
                    s = Status.NO_MEMORY
                    break
                if ptrs[i] == NULL:
                    s = _fail(&cur, PROBLEM_MISSING, Status.EMPTY_GEOMETRY)
                    failed_at = i
                    break
                cur.p = ptrs[i]
                cur.end = ptrs[i] + lens[i]
                s = _geometry(&cur, code, f)
                if s == Status.OK:
                    _ws(&cur)
                    if cur.p != cur.end:
                        s = _fail(&cur, PROBLEM_TRAILING, Status.BAD_RECORD)
                if s != Status.OK:
                    failed_at = i
                    err_offset = cur.p - ptrs[i]
                    break
        if s != Status.OK:
            return None, int(s), failed_at, cur.problem, err_offset
        out = []
        for fam in range(3):
            f = &fams[fam]
            if not used[fam]:
                out.append(None)
                continue
            # The buffers become the arrays (no copy); free_families frees what is left.
            xy = buf_to_numpy(&f.xy, np.float64).reshape(-1, 2)
            z = buf_to_numpy(&f.z, np.float64) if f.has_z else None
            out.append({
                "coords": xy,
                "z": z,
                "geom_offsets": buf_to_numpy(&f.geom, np.int64),
                "ring_offsets": buf_to_numpy(&f.ring, np.int64) if fam else np.zeros(1, np.int64),
                "polygon_offsets": buf_to_numpy(&f.poly, np.int64) if fam == FAM_POLYGONS
                else np.zeros(1, np.int64),
                "feature": buf_to_numpy(&f.feature, np.int64),
                "null": buf_to_numpy(&f.null, np.uint8).view(bool),
                "all_points": bool(f.all_points),
            })
        return out, 0, -1, 0, 0
    finally:
        for i in range(n):
            if ptrs[i] != NULL:
                PyBuffer_Release(&bufs[i])
        free(bufs)
        free(ptrs)
        free(lens)
        free_families(fams)


cdef void memset_families(Family* fams) noexcept:
    cdef int k
    memset(fams, 0, 3 * sizeof(Family))
    for k in range(3):
        fams[k].all_points = True


cdef void free_families(Family* fams) noexcept:
    cdef int k
    cdef Family* f
    for k in range(3):
        f = &fams[k]
        buf_free(&f.xy)
        buf_free(&f.z)
        buf_free(&f.geom)
        buf_free(&f.ring)
        buf_free(&f.poly)
        buf_free(&f.feature)
        buf_free(&f.null)


cdef inline int _hex4(const unsigned char* p) noexcept nogil:
    """The value of four hex digits, or -1."""
    cdef int v = 0, i, c
    for i in range(4):
        c = p[i]
        if 48 <= c <= 57:
            c -= 48
        elif 97 <= c <= 102:
            c -= 87
        elif 65 <= c <= 70:
            c -= 55
        else:
            return -1
        v = v * 16 + c
    return v


cdef int _text_problem(const unsigned char* s, Py_ssize_t n, Py_ssize_t* at) noexcept nogil:
    """What PostgreSQL's jsonb input would refuse in s[0:n] (valid JSON): bytes that are not
    UTF-8, a \\u0000 escape, a surrogate escape outside a high + low pair. 0 when none."""
    cdef Py_ssize_t i = utf8_invalid_at(s, n)
    cdef int u, lo
    if i >= 0:
        at[0] = i
        return PROBLEM_INVALID_UTF8
    i = 0
    while i < n:
        if s[i] != 92:          # a backslash only ever starts an escape in valid JSON
            i += 1
            continue
        if i + 1 < n and s[i + 1] == 117 and i + 6 <= n:    # \uXXXX
            u = _hex4(s + i + 2)
            if u == 0:
                at[0] = i
                return PROBLEM_NUL_ESCAPE
            if 0xDC00 <= u <= 0xDFFF:
                at[0] = i
                return PROBLEM_LONE_SURROGATE
            if 0xD800 <= u <= 0xDBFF:
                lo = _hex4(s + i + 8) if (i + 12 <= n and s[i + 6] == 92
                                          and s[i + 7] == 117) else -1
                if not (0xDC00 <= lo <= 0xDFFF):
                    at[0] = i
                    return PROBLEM_LONE_SURROGATE
                i += 12
                continue
            i += 6
        else:
            i += 2
    return 0


def check_text(list members):
    """Find the first member PostgreSQL could not store as jsonb / text.

    Args:
        members: bytes-like JSON texts (msgspec.Raw of each feature's properties).

    Returns:
        (index, problem, byte offset): index -1 when every member is storable.
    """
    cdef Py_ssize_t n = len(members), i, found = -1, at = 0
    cdef int problem = 0
    cdef Py_buffer* bufs = <Py_buffer*>calloc(max(n, 1), sizeof(Py_buffer))
    cdef Py_ssize_t got = 0
    if bufs == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            PyObject_GetBuffer(members[i], &bufs[i], PyBUF_SIMPLE)
            got = i + 1
        with nogil:
            for i in range(n):
                problem = _text_problem(<const unsigned char*>bufs[i].buf, bufs[i].len, &at)
                if problem:
                    found = i
                    break
        return found, problem, at
    finally:
        for i in range(got):
            PyBuffer_Release(&bufs[i])
        free(bufs)


def deepest(const uint8_t[::1] doc):
    """(depth, offset) of the first place the JSON text doc reaches its deepest nesting of
    arrays and objects (strings skipped), so a decoder's depth limit can be reported."""
    cdef Py_ssize_t n = doc.shape[0], i = 0, pos = 0
    cdef int64_t depth = 0, best = 0
    cdef uint8_t c
    with nogil:
        while i < n:
            c = doc[i]
            if c == 34:                         # a string: skip it, escapes included
                i += 1
                while i < n and doc[i] != 34:
                    i += 2 if doc[i] == 92 else 1
            elif c == 91 or c == 123:
                depth += 1
                if depth > best:
                    best = depth
                    pos = i
            elif c == 93 or c == 125:
                depth -= 1
            i += 1
    return best, pos
