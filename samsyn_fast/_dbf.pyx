# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Private DBF (dBase III/IV, FoxPro) column kernels.

Each kernel decodes one field of the selected records (`rows`, indices into the records of
`buf`, which starts at the first record) in one nogil loop and returns a Status plus the row
index that failed; samsyn_fast.shapefile turns that into a KernelError naming the file, the
1-based record and the field. Text is always returned as UTF-8 bytes + int64 offsets.
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport INT64_MIN, int64_t, uint8_t, uint64_t
from libc.stdlib cimport strtod
from libc.string cimport memcpy

from samsyn_fast._status cimport Status

cnp.import_array()

cdef int64_t NAT = INT64_MIN

# Exact powers of ten (10**22 is the largest exactly representable double).
cdef double POW10[23]
for _i in range(23):
    POW10[_i] = float(10 ** _i)


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


cdef inline bint _is_blank(uint8_t c) noexcept nogil:
    return c == 32 or c == 0 or c == 9 or c == 13 or c == 10


cdef inline void _trim(const uint8_t* f, int64_t size, int64_t* a, int64_t* b) noexcept nogil:
    """Number field: cut at the first NUL, strip blanks both sides."""
    cdef int64_t s = 0, e = 0
    while e < size and f[e] != 0:
        e += 1
    while s < e and _is_blank(f[s]):
        s += 1
    while e > s and _is_blank(f[e - 1]):
        e -= 1
    a[0] = s
    b[0] = e


cdef Status _parse_number(const uint8_t* f, int64_t size, bint as_int, double* dv,
                          int64_t* iv, bint* isnull) noexcept nogil:
    """Parse one N/F value: [sign] digits [. digits] [e [sign] digits], blanks around.

    Blank or all-'*' (QGIS/dBase overflow marker) is null. Doubles are correctly rounded:
    Clinger's fast path (<= 15 significant digits, |exp10| <= 22) else strtod (glibc rounds
    correctly), so results equal Python's float(text). Integers of a decimals=0 field with a
    fraction are truncated toward zero, as pyshp int(float(text)) and GDAL atoi do.
    """
    cdef int64_t a, b, i, nd = 0, frac = 0, e10 = 0, expv = 0
    cdef uint64_t m = 0
    cdef bint neg = False, any_digit = False, has_exp = False, exp_neg = False, dot = False
    cdef bint all_star = True
    cdef char tmp[400]
    cdef double v
    cdef uint8_t c
    _trim(f, size, &a, &b)
    isnull[0] = False
    if a == b:
        isnull[0] = True
        return Status.OK
    for i in range(a, b):
        if f[i] != 42:
            all_star = False
            break
    if all_star:
        isnull[0] = True
        return Status.OK
    i = a
    if f[i] == 43 or f[i] == 45:
        neg = f[i] == 45
        i += 1
    while i < b:
        c = f[i]
        if 48 <= c <= 57:
            any_digit = True
            if m == 0 and c == 48:
                if dot:
                    frac += 1
            else:
                if nd < 19:
                    m = m * 10 + (c - 48)
                    nd += 1
                    if dot:
                        frac += 1
                elif not dot:
                    e10 += 1     # digits beyond 19 before the point scale by ten
            i += 1
        elif c == 46 and not dot:
            dot = True
            i += 1
        else:
            break
    if not any_digit:
        return Status.BAD_NUMBER
    if i < b and (f[i] == 101 or f[i] == 69):
        has_exp = True
        i += 1
        if i < b and (f[i] == 43 or f[i] == 45):
            exp_neg = f[i] == 45
            i += 1
        if i >= b or not (48 <= f[i] <= 57):
            return Status.BAD_NUMBER
        while i < b and 48 <= f[i] <= 57:
            if expv < 100000:
                expv = expv * 10 + (f[i] - 48)
            i += 1
    if i != b:
        return Status.BAD_NUMBER
    if as_int and not dot and not has_exp and e10 == 0:
        # at most 18 digits fit: the field is <= 18 bytes wide
        iv[0] = -<int64_t>m if neg else <int64_t>m
        return Status.OK
    e10 -= frac
    if has_exp:
        e10 += -expv if exp_neg else expv
    if nd <= 15 and -22 <= e10 <= 22:
        v = <double>m
        if e10 < 0:
            v = v / POW10[-e10]
        else:
            v = v * POW10[e10]
    else:
        if b - a >= 399:
            return Status.BAD_NUMBER
        memcpy(tmp, f + a, b - a)
        tmp[b - a] = 0
        v = strtod(tmp, NULL)
        neg = False
    if neg:
        v = -v
    if as_int:
        if not (-9.2e18 < v < 9.2e18):
            return Status.OUT_OF_RANGE
        iv[0] = <int64_t>v
    else:
        dv[0] = v
    return Status.OK


def decode_numeric(const uint8_t[::1] buf, int64_t reclen, const int64_t[::1] rows,
                   int64_t offset, int64_t size, bint as_int):
    """Decode an N/F field of the records `rows`.

    Returns:
        (status, bad_row, values int64 or float64 (n,), null bool (n,)).
    """
    cdef Py_ssize_t n = rows.shape[0], i = 0
    vals = np.zeros(n, dtype=np.int64 if as_int else np.float64)
    null_arr = np.zeros(n, dtype=np.bool_)
    cdef uint8_t[::1] nl = null_arr.view(np.uint8)
    cdef int64_t[::1] iv
    cdef double[::1] dv
    cdef int64_t* ip = NULL
    cdef double* dp = NULL
    cdef int64_t dummy_i = 0
    cdef double dummy_d = 0.0
    cdef bint isnull = False
    cdef Status status = Status.OK
    if n == 0:
        return Status.OK, -1, vals, null_arr
    if as_int:
        iv = vals
        ip = &iv[0]
    else:
        dv = vals
        dp = &dv[0]
    cdef const uint8_t* p = &buf[0]
    with nogil:
        for i in range(n):
            if as_int:
                status = _parse_number(p + rows[i] * reclen + offset, size, True, &dummy_d,
                                       ip + i, &isnull)
            else:
                status = _parse_number(p + rows[i] * reclen + offset, size, False, dp + i,
                                       &dummy_i, &isnull)
            if status != Status.OK:
                break
            if isnull:
                nl[i] = 1
                if not as_int:
                    dp[i] = 0.0
                else:
                    ip[i] = 0
    if status != Status.OK:
        return status, i, None, None
    if not as_int:
        # null floats read as NaN, as pyogrio shows them
        vals[null_arr] = np.nan
    return Status.OK, -1, vals, null_arr


cdef inline int64_t _days_from_civil(int64_t y, int64_t m, int64_t d) noexcept nogil:
    # Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
    y -= 1 if m <= 2 else 0
    cdef int64_t era = (y if y >= 0 else y - 399) // 400
    cdef int64_t yoe = y - era * 400
    cdef int64_t doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def decode_date(const uint8_t[::1] buf, int64_t reclen, const int64_t[::1] rows,
                int64_t offset, int64_t size):
    """Decode a D field (YYYYMMDD) into days since the epoch; blank/zero dates are NaT.

    Returns:
        (status, bad_row, values datetime64[D] (n,)).
    """
    cdef Py_ssize_t n = rows.shape[0], i = 0
    cdef int64_t j, y, mo, d, md
    cdef const uint8_t* f
    cdef bint blank
    cdef Status status = Status.OK
    cdef int MDAYS[13]
    MDAYS[:] = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    if n == 0:
        return Status.OK, -1, out.view("datetime64[D]")
    if size < 8:
        return Status.BAD_LENGTH, 0, None
    cdef const uint8_t* p = &buf[0]
    with nogil:
        for i in range(n):
            f = p + rows[i] * reclen + offset
            # no official null: all NUL, blank or '0' (QGIS) means null, as pyshp reads it
            blank = True
            for j in range(size):
                if not (f[j] == 0 or f[j] == 32 or f[j] == 48):
                    blank = False
                    break
            if blank:
                o[i] = NAT
                continue
            for j in range(8):
                if not (48 <= f[j] <= 57):
                    status = Status.BAD_NUMBER
                    break
            if status != Status.OK:
                break
            for j in range(8, size):
                if not (f[j] == 0 or f[j] == 32):
                    status = Status.BAD_NUMBER
                    break
            if status != Status.OK:
                break
            y = (f[0] - 48) * 1000 + (f[1] - 48) * 100 + (f[2] - 48) * 10 + (f[3] - 48)
            mo = (f[4] - 48) * 10 + (f[5] - 48)
            d = (f[6] - 48) * 10 + (f[7] - 48)
            if y < 1 or mo < 1 or mo > 12 or d < 1:
                status = Status.BAD_NUMBER
                break
            md = MDAYS[mo]
            if mo == 2 and (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
                md = 29
            if d > md:
                status = Status.BAD_NUMBER
                break
            o[i] = _days_from_civil(y, mo, d)
    if status != Status.OK:
        return status, i, None
    return Status.OK, -1, out.view("datetime64[D]")


def decode_logical(const uint8_t[::1] buf, int64_t reclen, const int64_t[::1] rows,
                   int64_t offset):
    """Decode an L field: TtYy1 true, FfNn0 false, anything else ('?', blank) null (as pyshp).

    Returns:
        (values bool (n,), null bool (n,)).
    """
    cdef Py_ssize_t n = rows.shape[0], i
    vals = np.zeros(n, dtype=np.bool_)
    null_arr = np.zeros(n, dtype=np.bool_)
    cdef uint8_t[::1] v = vals.view(np.uint8)
    cdef uint8_t[::1] nl = null_arr.view(np.uint8)
    cdef uint8_t c
    if n == 0:
        return vals, null_arr
    cdef const uint8_t* p = &buf[0]
    with nogil:
        for i in range(n):
            c = p[rows[i] * reclen + offset]
            if c == 84 or c == 116 or c == 89 or c == 121 or c == 49:
                v[i] = 1
            elif c == 70 or c == 102 or c == 78 or c == 110 or c == 48:
                v[i] = 0
            else:
                nl[i] = 1
    return vals, null_arr


cdef inline int64_t _utf8_len(const uint8_t* s, int64_t n) noexcept nogil:
    """Validate strict UTF-8 (as Python's decoder: no overlongs, surrogates, > U+10FFFF)."""
    cdef int64_t i = 0, k
    cdef uint8_t b, lo, hi
    cdef int need
    while i < n:
        b = s[i]
        if b < 0x80:
            i += 1
            continue
        lo = 0x80
        hi = 0xBF
        if 0xC2 <= b <= 0xDF:
            need = 1
        elif b == 0xE0:
            need = 2
            lo = 0xA0
        elif (0xE1 <= b <= 0xEC) or b == 0xEE or b == 0xEF:
            need = 2
        elif b == 0xED:
            need = 2
            hi = 0x9F
        elif b == 0xF0:
            need = 3
            lo = 0x90
        elif 0xF1 <= b <= 0xF3:
            need = 3
        elif b == 0xF4:
            need = 3
            hi = 0x8F
        else:
            return -1
        if i + need >= n:
            return -1
        if not (lo <= s[i + 1] <= hi):
            return -1
        for k in range(2, need + 1):
            if not (0x80 <= s[i + k] <= 0xBF):
                return -1
        i += need + 1
    return n


cdef inline void _trim_text(const uint8_t* f, int64_t size, int64_t* e) noexcept nogil:
    # C values are padded with blanks (or NULs): strip them on the right, as pyshp and GDAL.
    cdef int64_t k = size
    while k > 0 and (f[k - 1] == 32 or f[k - 1] == 0):
        k -= 1
    e[0] = k


def decode_text(const uint8_t[::1] buf, int64_t reclen, const int64_t[::1] rows,
                int64_t offset, int64_t size, table=None):
    """Decode a C field into UTF-8 bytes + offsets, without a Python object per value.

    Args:
        table: None to validate the bytes as UTF-8 and copy them; else a (256, 4) uint8 table
            of a single-byte code page (column 0 = UTF-8 length, 0 if the byte is undefined;
            columns 1-3 = the UTF-8 bytes).

    Returns:
        (status, bad_row, offsets int64 (n + 1,), data uint8, null bool (n,)). A value that is
        empty after trimming is null (GDAL reads it as unset).
    """
    cdef Py_ssize_t n = rows.shape[0], i = 0
    cdef int64_t e, j, total = 0, ln, pos
    cdef const uint8_t* f
    cdef Status status = Status.OK
    cdef bint use_table = table is not None
    cdef const uint8_t[:, ::1] tab
    cdef uint8_t tb[256 * 4]
    if use_table:
        tab = np.ascontiguousarray(table, dtype=np.uint8)
        if tab.shape[0] != 256 or tab.shape[1] != 4:
            raise ValueError("table must be (256, 4) uint8")
        for j in range(256):
            tb[4 * j] = tab[j, 0]
            tb[4 * j + 1] = tab[j, 1]
            tb[4 * j + 2] = tab[j, 2]
            tb[4 * j + 3] = tab[j, 3]
    offsets_arr = np.empty(n + 1, dtype=np.int64)
    null_arr = np.zeros(n, dtype=np.bool_)
    cdef int64_t[::1] off = offsets_arr
    cdef uint8_t[::1] nl = null_arr.view(np.uint8)
    off[0] = 0
    if n == 0:
        return Status.OK, -1, offsets_arr, np.empty(0, dtype=np.uint8), null_arr
    cdef const uint8_t* p = &buf[0]
    with nogil:
        for i in range(n):
            f = p + rows[i] * reclen + offset
            _trim_text(f, size, &e)
            if e == 0:
                nl[i] = 1
            if use_table:
                ln = 0
                for j in range(e):
                    if tb[4 * f[j]] == 0:
                        status = Status.BAD_TEXT
                        break
                    ln += tb[4 * f[j]]
                if status != Status.OK:
                    break
            else:
                ln = _utf8_len(f, e)
                if ln < 0:
                    status = Status.BAD_TEXT
                    break
            total += ln
            off[i + 1] = total
    if status != Status.OK:
        return status, i, None, None, None
    data_arr = np.empty(total, dtype=np.uint8)
    cdef uint8_t[::1] data = data_arr
    cdef uint8_t* d = &data[0] if total else NULL
    with nogil:
        for i in range(n):
            f = p + rows[i] * reclen + offset
            pos = off[i]
            ln = off[i + 1] - pos
            if not use_table:
                if ln:
                    memcpy(d + pos, f, ln)
            else:
                _trim_text(f, size, &e)
                for j in range(e):
                    if tb[4 * f[j]] == 1:
                        d[pos] = tb[4 * f[j] + 1]
                        pos += 1
                    else:
                        memcpy(d + pos, &tb[4 * f[j] + 1], tb[4 * f[j]])
                        pos += tb[4 * f[j]]
    return Status.OK, -1, offsets_arr, data_arr, null_arr


def all_utf8(const uint8_t[::1] buf, int64_t reclen, int64_t n, const int64_t[::1] offsets,
             const int64_t[::1] sizes):
    """True when every listed text field of the n records is valid UTF-8 (encoding fallback)."""
    cdef int64_t i, k, e
    cdef Py_ssize_t nf = offsets.shape[0]
    cdef bint ok = True
    cdef const uint8_t* f
    if n == 0 or nf == 0:
        return True
    cdef const uint8_t* p = &buf[0]
    with nogil:
        for i in range(n):
            for k in range(nf):
                f = p + i * reclen + offsets[k]
                _trim_text(f, sizes[k], &e)
                if _utf8_len(f, e) < 0:
                    ok = False
                    break
            if not ok:
                break
    return ok
