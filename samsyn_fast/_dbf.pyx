# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Private DBF (dBase III/IV, FoxPro) column kernels.

Each kernel decodes one field of the selected records (`rows`, indices into the records of
`buf`, which starts at the first record) in one nogil loop and returns a Status plus the row
index that failed; samsyn_fast.shapefile turns that into a KernelError naming the file, the
1-based record and the field. Text is always returned as UTF-8 bytes + int64 offsets.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport NAN
from libc.stdint cimport INT64_MIN, int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memchr, memcpy

from samsyn_fast._decimal cimport Decimal, decimal_value, scan_decimal
from samsyn_fast._status cimport Status
from samsyn_fast._utf8 cimport utf8_invalid_at

cnp.import_array()

cdef int64_t NAT = INT64_MIN


def deleted_flags(const uint8_t[::1] buf, int64_t reclen, int64_t n):
    """(n,) bool: True where the record's deletion flag is '*' (dBase spec; GDAL does the same)."""
    out = np.zeros(n, dtype=np.bool_)
    cdef uint8_t[::1] o = out.view(np.uint8)
    cdef int64_t i
    if n == 0:
        return out
    if buf.shape[0] < n * reclen:
        raise ValueError("buffer shorter than the records")
    cdef const uint8_t* p = &buf[0]
    with nogil:
        for i in range(n):
            o[i] = p[i * reclen] == 42
    return out


cdef inline bint _is_space(uint8_t c) noexcept nogil:
    return c == 32 or c == 9 or c == 13 or c == 10


cdef Status _parse_number(const uint8_t* f, int64_t size, bint as_int, double* dv,
                          int64_t* iv, bint* isnull) noexcept nogil:
    """Parse one N/F value: blanks, [sign] digits [. digits] [e [sign] digits], blanks.

    As pyshp: the value ends at the first NUL; blank or all-'*' (QGIS/dBase overflow marker)
    is null. Doubles are correctly rounded (samsyn_fast._decimal), so results equal Python's
    float(text). An integer field holding a fraction is truncated toward zero, as pyshp's
    int(float(text)) and GDAL's atoi do. One forward scan, no copies on the fast path.
    """
    cdef int64_t i = 0, a, k
    cdef Decimal d
    cdef double v
    isnull[0] = False
    while i < size and _is_space(f[i]):
        i += 1
    if i == size or f[i] == 0:
        isnull[0] = True
        return Status.OK
    if f[i] == 42:
        while i < size and f[i] != 0:
            if not (f[i] == 42 or _is_space(f[i])):
                return Status.BAD_NUMBER
            i += 1
        isnull[0] = True
        return Status.OK
    a = i
    k = scan_decimal(<const char*>f + a, size - a, &d)
    if k < 0:
        return Status.BAD_NUMBER
    i = a + k
    while i < size and f[i] != 0:
        if not _is_space(f[i]):
            return Status.BAD_NUMBER
        i += 1
    if as_int and d.integer and d.ndigits <= 18:
        # integer fields are <= 18 bytes wide, so this is the common case
        iv[0] = -<int64_t>d.digits if d.neg else <int64_t>d.digits
        return Status.OK
    if decimal_value(<const char*>f + a, k, &d, &v) != 0:
        return Status.NO_MEMORY
    if as_int:
        if not (-9.2e18 < v < 9.2e18):
            return Status.OUT_OF_RANGE
        iv[0] = <int64_t>v
    else:
        dv[0] = v
    return Status.OK


cdef inline int64_t _days_from_civil(int64_t y, int64_t m, int64_t d) noexcept nogil:
    # Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
    y -= 1 if m <= 2 else 0
    cdef int64_t era = (y if y >= 0 else y - 399) // 400
    cdef int64_t yoe = y - era * 400
    cdef int64_t doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef inline void _trim_text(const uint8_t* f, int64_t size, int64_t* e) noexcept nogil:
    # A C value ends at its first NUL, as GDAL reads it (a C string; the legacy read shapefiles
    # with geopandas over GDAL, and PostgreSQL text cannot hold a NUL), and is padded with
    # blanks: strip them on the right, as pyshp and GDAL.
    cdef const uint8_t* nul = <const uint8_t*>memchr(f, 0, size)
    cdef int64_t k = size if nul == NULL else nul - f
    while k > 0 and f[k - 1] == 32:
        k -= 1
    e[0] = k


def all_utf8(const uint8_t[::1] buf, int64_t reclen, int64_t n, const int64_t[::1] offsets,
             const int64_t[::1] sizes):
    """True when every listed text field of the n records is valid UTF-8 (encoding fallback)."""
    cdef int64_t i, k, e
    cdef Py_ssize_t nf = offsets.shape[0]
    cdef bint ok = True
    cdef const uint8_t* f
    if n == 0 or nf == 0:
        return True
    if buf.shape[0] < n * reclen:
        raise ValueError("buffer shorter than the records")
    for k in range(nf):
        if offsets[k] < 0 or sizes[k] < 0 or offsets[k] + sizes[k] > reclen:
            raise ValueError("field outside the record")
    cdef const uint8_t* p = &buf[0]
    with nogil:
        for i in range(n):
            for k in range(nf):
                f = p + i * reclen + offsets[k]
                _trim_text(f, sizes[k], &e)
                if utf8_invalid_at(f, e) >= 0:
                    ok = False
                    break
            if not ok:
                break
    return ok


# ---------------------------------------------------------------- all fields in one pass

cdef enum Kind:
    K_SKIP = 0
    K_INT = 1
    K_FLOAT = 2
    K_DATE = 3
    K_LOGICAL = 4
    K_TEXT = 5


cdef struct Spec:
    int kind
    int64_t offset
    int64_t size
    int64_t* ival        # K_INT, K_DATE
    double* dval         # K_FLOAT
    uint8_t* bval        # K_LOGICAL
    uint8_t* null
    int64_t* toff        # K_TEXT: n + 1 offsets
    uint8_t* tdata       # K_TEXT: upper-bound sized, trimmed by the caller
    int64_t tpos


cdef int MDAYS[13]
MDAYS[:] = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


cdef inline Status _date(const uint8_t* f, int64_t size, int64_t* out) noexcept nogil:
    """YYYYMMDD -> days since 1970-01-01; all NUL/blank/'0' (no official null; QGIS writes
    zeros) is NaT, as pyshp reads it; anything else that is not a valid date is BAD_NUMBER."""
    cdef int64_t j, y, mo, d, md
    for j in range(size):
        if not (f[j] == 0 or f[j] == 32 or f[j] == 48):
            break
    else:
        out[0] = NAT
        return Status.OK
    if size < 8:
        return Status.BAD_NUMBER
    for j in range(8):
        if not (48 <= f[j] <= 57):
            return Status.BAD_NUMBER
    for j in range(8, size):
        if not (f[j] == 0 or f[j] == 32):
            return Status.BAD_NUMBER
    y = (f[0] - 48) * 1000 + (f[1] - 48) * 100 + (f[2] - 48) * 10 + (f[3] - 48)
    mo = (f[4] - 48) * 10 + (f[5] - 48)
    d = (f[6] - 48) * 10 + (f[7] - 48)
    if y < 1 or mo < 1 or mo > 12 or d < 1:
        return Status.BAD_NUMBER
    md = MDAYS[mo]
    if mo == 2 and (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
        md = 29
    if d > md:
        return Status.BAD_NUMBER
    out[0] = _days_from_civil(y, mo, d)
    return Status.OK


cdef Status _decode_rows(const uint8_t* p, int64_t reclen, const int64_t* rows, Py_ssize_t n,
                         Spec* specs, Py_ssize_t nf, const uint8_t* table,
                         Py_ssize_t* bad_row, Py_ssize_t* bad_field) noexcept nogil:
    """Row-major: each record is touched once (the whole DBF streams through cache once)."""
    cdef Py_ssize_t i, k
    cdef int64_t j, e, ln
    cdef const uint8_t* rec
    cdef const uint8_t* f
    cdef Spec* sp
    cdef Status status
    cdef bint isnull
    cdef double dummy_d
    cdef int64_t dummy_i
    cdef uint8_t c
    for i in range(n):
        rec = p + (rows[i] if rows != NULL else i) * reclen
        for k in range(nf):
            sp = &specs[k]
            f = rec + sp.offset
            if sp.kind == K_INT:
                status = _parse_number(f, sp.size, True, &dummy_d, sp.ival + i, &isnull)
                if isnull:
                    sp.ival[i] = 0
                    sp.null[i] = 1
            elif sp.kind == K_FLOAT:
                status = _parse_number(f, sp.size, False, sp.dval + i, &dummy_i, &isnull)
                if isnull:
                    sp.dval[i] = NAN    # null floats read as NaN, as pyogrio shows them
                    sp.null[i] = 1
            elif sp.kind == K_DATE:
                status = _date(f, sp.size, sp.ival + i)
                if sp.ival[i] == NAT:
                    sp.null[i] = 1
            elif sp.kind == K_LOGICAL:
                status = Status.OK
                c = f[0] if sp.size > 0 else 32
                # TtYy1 true, FfNn0 false, anything else ('?', blank) null, as pyshp
                if c == 84 or c == 116 or c == 89 or c == 121 or c == 49:
                    sp.bval[i] = 1
                elif c == 70 or c == 102 or c == 78 or c == 110 or c == 48:
                    sp.bval[i] = 0
                else:
                    sp.bval[i] = 0
                    sp.null[i] = 1
            elif sp.kind == K_TEXT:
                status = Status.OK
                _trim_text(f, sp.size, &e)
                if e == 0:
                    sp.null[i] = 1
                if table == NULL:
                    if utf8_invalid_at(f, e) >= 0:
                        status = Status.BAD_TEXT
                    else:
                        memcpy(sp.tdata + sp.tpos, f, e)
                        sp.tpos += e
                else:
                    for j in range(e):
                        ln = table[4 * f[j]]
                        if ln == 1:
                            sp.tdata[sp.tpos] = table[4 * f[j] + 1]
                            sp.tpos += 1
                        elif ln == 0:
                            status = Status.BAD_TEXT
                            break
                        else:
                            memcpy(sp.tdata + sp.tpos, table + 4 * f[j] + 1, ln)
                            sp.tpos += ln
                sp.toff[i + 1] = sp.tpos
            else:
                status = Status.OK
            if status != Status.OK:
                bad_row[0] = i
                bad_field[0] = k
                return status
    return Status.OK


def decode_fields(const uint8_t[::1] buf, int64_t reclen, const int64_t[::1] rows,
                  const int32_t[::1] kinds, const int64_t[::1] offsets,
                  const int64_t[::1] sizes, table=None, Py_ssize_t nrows=-1):
    """Decode every field of the records `rows` in one row-major nogil pass.

    Args:
        buf: the records (record r at r * reclen; byte 0 of a record is the deletion flag).
        rows: the records to decode, or None for records 0 .. nrows - 1 (no index array).
        kinds: per field 0 skip, 1 int64 (N/F, decimals 0, width <= 18), 2 float64 (N/F),
            3 date (D), 4 logical (L), 5 text (C).
        offsets, sizes: byte offset and width of each field inside a record.
        table: None to validate text as UTF-8 and copy it; else a (256, 4) uint8 table of a
            single-byte code page (column 0 = UTF-8 length, 0 = undefined byte; 1-3 = bytes).

    Returns:
        (status, bad_row, bad_field, outputs): outputs[k] is None (skip), (values, null) for
        int/float/date/logical, or (offsets int64 (n + 1,), data uint8, null) for text. Text
        empty after trimming trailing blanks/NULs is null (GDAL reads it as unset).
    """
    cdef Py_ssize_t n = rows.shape[0] if rows is not None else nrows
    cdef Py_ssize_t nf = kinds.shape[0], i, k
    cdef int64_t lo = 0, hi = -1, width = 1
    cdef const uint8_t[:, ::1] tab
    cdef uint8_t tb[1024]
    cdef const uint8_t* tp = NULL
    if offsets.shape[0] != nf or sizes.shape[0] != nf:
        raise ValueError("kinds, offsets and sizes differ in length")
    if reclen < 1:
        raise ValueError("record length must be >= 1")
    for k in range(nf):
        if offsets[k] < 0 or sizes[k] < 0 or offsets[k] + sizes[k] > reclen:
            raise ValueError(f"field {k} lies outside the {reclen}-byte record")
    if rows is None:
        if n < 0:
            raise ValueError("nrows is required without rows")
        lo, hi = 0, n - 1
    else:
        for i in range(n):
            if i == 0 or rows[i] < lo:
                lo = rows[i]
            if rows[i] > hi:
                hi = rows[i]
    if n and (lo < 0 or (hi + 1) * reclen > buf.shape[0]):
        raise ValueError("a row lies outside the buffer")
    if table is not None:
        tab = np.ascontiguousarray(table, dtype=np.uint8)
        if tab.shape[0] != 256 or tab.shape[1] != 4:
            raise ValueError("table must be (256, 4) uint8")
        for i in range(256):
            for k in range(4):
                tb[4 * i + k] = tab[i, k]
            if tb[4 * i] > 3:
                raise ValueError("table lengths must be <= 3")
            if tb[4 * i] > width:
                width = tb[4 * i]
        tp = tb
    outputs = []
    keep = []           # the numpy arrays behind the raw pointers
    cdef Spec* specs = <Spec*>malloc(sizeof(Spec) * (nf if nf else 1))
    if specs == NULL:
        raise MemoryError()
    cdef int64_t[::1] iv
    cdef double[::1] dv
    cdef uint8_t[::1] bv
    cdef uint8_t[::1] nv
    cdef int64_t[::1] ov
    cdef uint8_t[::1] tv
    cdef Status status = Status.OK
    cdef Py_ssize_t bad_row = -1, bad_field = -1
    try:
        for k in range(nf):
            specs[k].kind = kinds[k]
            specs[k].offset = offsets[k]
            specs[k].size = sizes[k]
            specs[k].ival = NULL
            specs[k].dval = NULL
            specs[k].bval = NULL
            specs[k].null = NULL
            specs[k].toff = NULL
            specs[k].tdata = NULL
            specs[k].tpos = 0
            if kinds[k] == K_SKIP:
                outputs.append(None)
                continue
            if not K_INT <= kinds[k] <= K_TEXT:
                raise ValueError(f"unknown field kind {kinds[k]}")
            null = np.zeros(n, dtype=np.bool_)
            nv = null.view(np.uint8)
            if n:
                specs[k].null = &nv[0]
            if kinds[k] == K_INT or kinds[k] == K_DATE:
                vals = np.empty(n, dtype=np.int64)
                iv = vals
                if n:
                    specs[k].ival = &iv[0]
                outputs.append([vals, null])
            elif kinds[k] == K_FLOAT:
                vals = np.empty(n, dtype=np.float64)
                dv = vals
                if n:
                    specs[k].dval = &dv[0]
                outputs.append([vals, null])
            elif kinds[k] == K_LOGICAL:
                vals = np.zeros(n, dtype=np.bool_)
                bv = vals.view(np.uint8)
                if n:
                    specs[k].bval = &bv[0]
                outputs.append([vals, null])
            else:
                toff = np.empty(n + 1, dtype=np.int64)
                ov = toff
                ov[0] = 0
                specs[k].toff = &ov[0]
                # upper bound: every byte of the field may widen to `width` UTF-8 bytes
                data = np.empty(max(n * sizes[k] * width, 1), dtype=np.uint8)
                tv = data
                specs[k].tdata = &tv[0]
                outputs.append([toff, data, null])
        if n and nf:
            with nogil:
                status = _decode_rows(&buf[0], reclen, &rows[0] if rows is not None else NULL,
                                      n, specs, nf, tp,
                                      &bad_row, &bad_field)
        if status != Status.OK:
            return status, bad_row, bad_field, None
        for k in range(nf):
            if kinds[k] == K_TEXT:
                data = outputs[k][1]
                # shrink in place (realloc); nothing else references the array yet
                data.resize(specs[k].tpos, refcheck=False)
            elif kinds[k] == K_DATE:
                outputs[k][0] = outputs[k][0].view("datetime64[D]")
    finally:
        free(specs)
    return Status.OK, -1, -1, [None if o is None else tuple(o) for o in outputs]
