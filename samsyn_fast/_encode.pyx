# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Encoders: ragged buffers -> EWKB (for binary COPY), (E)WKB -> GeoJSON text as the legacy API sent it.

The GeoJSON writer reproduces `json.dumps(json.loads(ST_AsGeoJSON(geom)), separators=(",", ":"))`
with PostGIS 3.3 (maxdecimaldigits 9). Per coordinate that is two roundings:

1. PostGIS `lwprint_double`: the shortest round-trip digits of the double (ryu), then, if they
   have more than 9 decimals, rounded to 9 decimals half-to-even *on those digits*;
   scientific notation when |d| <= 1e-8 or >= 1e15; "0" for +-0; integral results print
   without a decimal point.
2. Python: an integral literal stays an int (printed as is); anything else becomes the float
   nearest to the text and is printed with repr (shortest round-trip, exponent outside
   1e-4 <= |x| < 1e16).

The fast path (1e-8 < |d| < 2^22, i.e. every lon/lat) does this exactly with one 128-bit
multiply; values near a rounding tie, larger values and exponent forms take the general path
(glibc snprintf/strtod, both correctly rounded).
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.math cimport signbit
from libc.string cimport memcpy, memset

from samsyn_fast._buffers cimport ByteBuf, buf_reserve, mem_free_unpooled
from samsyn_fast._status cimport Status

cnp.import_array()

cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>

    /* value = 0.d1 d2 ... dk x 10^decpt, digits without leading/trailing zeros */
    static int ss_py_repr(int neg, const char *dg, int k, int decpt, char *out)
    {
        int n = 0, i, e;
        if (neg) out[n++] = '-';
        if (decpt > -4 && decpt <= 16) {
            if (decpt <= 0) {
                out[n++] = '0'; out[n++] = '.';
                for (i = 0; i < -decpt; i++) out[n++] = '0';
                memcpy(out + n, dg, k); n += k;
            } else if (decpt >= k) {
                memcpy(out + n, dg, k); n += k;
                for (i = k; i < decpt; i++) out[n++] = '0';
                out[n++] = '.'; out[n++] = '0';
            } else {
                memcpy(out + n, dg, decpt); n += decpt;
                out[n++] = '.';
                memcpy(out + n, dg + decpt, k - decpt); n += k - decpt;
            }
            return n;
        }
        e = decpt - 1;
        out[n++] = dg[0];
        if (k > 1) { out[n++] = '.'; memcpy(out + n, dg + 1, k - 1); n += k - 1; }
        out[n++] = 'e';
        if (e < 0) { out[n++] = '-'; e = -e; } else out[n++] = '+';
        if (e >= 100) { out[n++] = '0' + e / 100; e %= 100; }
        out[n++] = '0' + e / 10; out[n++] = '0' + e % 10;
        return n;
    }

    /* Shortest round-trip digits of v > 0 (as Python's repr picks them): the closest
       15-, 16- or 17-digit decimal, whichever is first to read back as v. At most one
       15-digit decimal lies within half an ulp, so a 15-digit hit, zeros stripped, is the
       shortest; 16 and 17 digits are closest-first like dtoa. */
    static int ss_shortest(double v, char *dg, int *decpt)
    {
        char buf[40];
        int p, k = 0;
        const char *q;
        /* Subnormals have few significant bits: the short-cut from 15 digits does not hold. */
        uint64_t bits;
        int pow2, i;
        memcpy(&bits, &v, 8);
        /* At a power of two the gap below is half the gap above: the nearest decimal may
           miss while the next one up still reads back as v (and is the one dtoa picks). */
        pow2 = (bits & ((1ULL << 52) - 1)) == 0;
        for (p = v < 2.2250738585072014e-308 ? 1 : 15; p <= 17; p++) {
            snprintf(buf, sizeof buf, "%.*e", p - 1, v);
            if (p == 17 || strtod(buf, NULL) == v) break;
            if (pow2) {
                char up[40];
                char *e = strchr(buf, 'e');
                memcpy(up, buf, sizeof up);
                i = (int)(e - buf) - 1;
                while (i >= 0 && (up[i] == '9' || up[i] == '.')) { if (up[i] == '9') up[i] = '0'; i--; }
                if (i >= 0) {
                    up[i]++;
                    if (strtod(up, NULL) == v) { memcpy(buf, up, sizeof up); break; }
                }
            }
        }
        q = buf;
        dg[k++] = *q++;
        if (*q == '.') { q++; while (*q != 'e') dg[k++] = *q++; }
        *decpt = atoi(q + 1) + 1;
        while (k > 1 && dg[k - 1] == '0') k--;
        return k;
    }

    /* The same shortest digits with exact 128-bit integer arithmetic, for 1e-3 <= v < 2^53
       (every projected coordinate): the fewest decimals j such that some c * 10^-j lies in v's
       rounding interval (ends included iff the mantissa is even, as strtod rounds), then the
       c closest to v. Returns 0 outside that range. */
    static int ss_shortest_fast(double v, char *dg, int *decpt)
    {
        uint64_t bits, m, cv;
        int be, s, j, lo_j, hi_j, mid, inclusive, k, i;
        unsigned __int128 center, lo, hi, p10, L, H, mask, q, r, cmin, cmax, c, half;
        char t[24];
        if (!(v >= 1e-3 && v < 9007199254740992.0)) return 0;
        memcpy(&bits, &v, 8);
        be = (int)((bits >> 52) & 0x7ff);
        m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
        s = 1077 - be;                      /* v = 4m * 2^-s */
        center = (unsigned __int128)m << 2;
        hi = center + 2;
        lo = (m == (1ULL << 52)) ? center - 1 : center - 2;
        inclusive = (m & 1) == 0;
        mask = ((unsigned __int128)1 << s) - 1;
        lo_j = 0; hi_j = 20;
        while (lo_j < hi_j) {
            mid = (lo_j + hi_j) / 2;
            p10 = 1;
            for (i = 0; i < mid; i++) p10 *= 10;
            L = lo * p10; H = hi * p10;
            q = L >> s; r = L & mask;
            cmin = (r == 0 && inclusive) ? q : q + 1;
            q = H >> s; r = H & mask;
            cmax = (r == 0 && !inclusive) ? q - 1 : q;
            if (cmin <= cmax) hi_j = mid; else lo_j = mid + 1;
        }
        j = lo_j;
        p10 = 1;
        for (i = 0; i < j; i++) p10 *= 10;
        L = lo * p10; H = hi * p10;
        q = L >> s; r = L & mask;
        cmin = (r == 0 && inclusive) ? q : q + 1;
        q = H >> s; r = H & mask;
        cmax = (r == 0 && !inclusive) ? q - 1 : q;
        c = center * p10;
        q = c >> s; r = c & mask;
        half = (unsigned __int128)1 << (s - 1);
        c = q + (r > half || (r == half && (q & 1)));
        if (c < cmin) c = cmin;
        if (c > cmax) c = cmax;
        cv = (uint64_t)c;
        k = 0;
        do { t[k++] = '0' + (int)(cv % 10); cv /= 10; } while (cv);
        *decpt = k - j;
        for (i = 0; i < k; i++) dg[i] = t[k - 1 - i];
        while (k > 1 && dg[k - 1] == '0') k--;
        return k;
    }

    static int ss_shortest_any(double v, char *dg, int *decpt)
    {
        int k = ss_shortest_fast(v, dg, decpt);
        return k ? k : ss_shortest(v, dg, decpt);
    }

    /* The double nearest to 0.dg * 10^decpt (Clinger's exact fast path, else strtod). */
    static double ss_parse(const char *dg, int k, int decpt)
    {
        static const double p10[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
            1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        char buf[64];
        uint64_t c = 0;
        int i, x = decpt - k, n;
        for (i = 0; i < k; i++) c = c * 10 + (uint64_t)(dg[i] - '0');
        if (k <= 17 && c < (1ULL << 53)) {
            if (x < 0 && x >= -22) return (double)c / p10[-x];
            if (x >= 0 && x <= 22) return (double)c * p10[x];
        }
        buf[0] = '0'; buf[1] = '.';
        memcpy(buf + 2, dg, k);
        n = 2 + k;
        snprintf(buf + n, sizeof buf - n, "e%d", decpt);
        return strtod(buf, NULL);
    }

    /* Round digits to keep m of them, half to even on the digits (PostGIS's ryu trimming). */
    static int ss_round_digits(char *dg, int k, int m, int *decpt)
    {
        int up, i;
        if (m >= k) return k;
        if (m <= 0) return 0;
        if (dg[m] > '5') up = 1;
        else if (dg[m] < '5') up = 0;
        else {
            up = 0;
            for (i = m + 1; i < k; i++) if (dg[i] != '0') { up = 1; break; }
            if (!up) up = (dg[m - 1] - '0') & 1;
        }
        k = m;
        if (up) {
            i = k - 1;
            while (i >= 0 && dg[i] == '9') { dg[i] = '0'; i--; }
            if (i < 0) { dg[0] = '1'; k = 1; *decpt += 1; }
            else dg[i]++;
        }
        while (k > 1 && dg[k - 1] == '0') k--;
        return k;
    }

    /* Exact N = round_half_even(|v| * 1e9) for 1e-8 < |v| < 2^22; 0 when |v| lies within
       half an ulp of a rounding tie (PostGIS rounds the shortest digits, which may then
       fall on the other side: the general path decides). */
    static int ss_fast9(double v, uint64_t *ip, uint32_t *fp)
    {
        uint64_t bits, m;
        int be, s;
        unsigned __int128 X, q, rem, half, diff;
        memcpy(&bits, &v, 8);
        be = (int)((bits >> 52) & 0x7ff);
        if (be == 0) return 0;
        m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
        s = 1075 - be;
        if (s < 31 || s > 120) return 0;
        X = (unsigned __int128)m * 1000000000u;
        q = X >> s;
        rem = X - (q << s);
        half = (unsigned __int128)1 << (s - 1);
        diff = rem > half ? rem - half : half - rem;
        if (diff <= 500000000u) return 0;
        if (rem > half) q += 1;
        *ip = (uint64_t)(q / 1000000000u);
        *fp = (uint32_t)(q % 1000000000u);
        return 1;
    }

    static int ss_utoa(uint64_t v, char *out)
    {
        char t[24];
        int n = 0, i;
        do { t[n++] = '0' + (int)(v % 10); v /= 10; } while (v);
        for (i = 0; i < n; i++) out[i] = t[n - 1 - i];
        return n;
    }

    /* One coordinate as json.dumps(json.loads(<PostGIS text>)) writes it. */
    static int ss_number(double v, char *out)
    {
        char dg[48], buf[64];
        int k, decpt, n = 0, neg, i, m, k2, decpt2;
        double a, w;
        uint64_t ip;
        uint32_t fp;
        if (isnan(v)) { memcpy(out, "NaN", 3); return 3; }
        if (isinf(v)) {
            if (v < 0) { memcpy(out, "-Infinity", 9); return 9; }
            memcpy(out, "Infinity", 8); return 8;
        }
        if (v == 0.0) { out[0] = '0'; return 1; }
        neg = v < 0;
        a = fabs(v);
        if (a > 1e-8 && a < 4194304.0 && ss_fast9(a, &ip, &fp)) {
            if (fp == 0) {                       /* integral: PostGIS prints an int literal */
                if (neg) out[n++] = '-';
                return n + ss_utoa(ip, out + n);
            }
            if (ip) {
                k = ss_utoa(ip, dg);
                decpt = k;
            } else {
                k = 0;
                decpt = 0;
            }
            /* nine fraction digits, leading zeros only matter after an integer part */
            for (i = 8; i >= 0; i--) { buf[i] = '0' + (int)(fp % 10); fp /= 10; }
            i = 0;
            if (!ip) { while (buf[i] == '0') { i++; decpt--; } }
            for (; i < 9; i++) dg[k++] = buf[i];
            while (dg[k - 1] == '0') k--;
            return ss_py_repr(neg, dg, k, decpt, out);
        }
        /* General path. 1: PostGIS's text, as digits + decimal point position. */
        k = ss_shortest_any(a, dg, &decpt);
        decpt2 = decpt;
        if (a <= 1e-8 || a >= 1e15) {
            k2 = ss_round_digits(dg, k, 10, &decpt2);   /* d.ddddddddd e+-x */
        } else {
            m = decpt + 9;                              /* keep 9 decimals */
            k2 = ss_round_digits(dg, k, m, &decpt2);
            if (k2 <= decpt2) {                         /* integral: int literal */
                if (neg) out[n++] = '-';
                memcpy(out + n, dg, k2); n += k2;
                for (i = k2; i < decpt2; i++) out[n++] = '0';
                return n;
            }
        }
        /* 2: Python's float of that text, printed by repr. */
        if (k2 == k && decpt2 == decpt)
            return ss_py_repr(neg, dg, k, decpt, out);  /* nothing was rounded: it is v */
        w = ss_parse(dg, k2, decpt2);
        if (isinf(w)) {                                 /* e.g. 1.797693135e+308 */
            n = 0;
            if (neg) out[n++] = '-';
            memcpy(out + n, "Infinity", 8);
            return n + 8;
        }
        k = ss_shortest_any(w, dg, &decpt);
        return ss_py_repr(neg, dg, k, decpt, out);
    }

    /* Python repr(v) for v > 0, finite (test hook for the shortest-digit paths). */
    static int ss_repr_pos(double v, int fast, char *out)
    {
        char dg[48];
        int k, decpt;
        k = fast ? ss_shortest_fast(v, dg, &decpt) : ss_shortest(v, dg, &decpt);
        if (!k) return 0;
        return ss_py_repr(0, dg, k, decpt, out);
    }
    """
    int ss_number(double v, char* out) nogil
    int ss_repr_pos(double v, int fast, char* out) nogil
    int ss_utoa(uint64_t v, char* out) nogil


cdef int python_float_repr(double v, char* out) noexcept nogil:
    """repr(v) for a finite v, as Python's json prints a float it parsed."""
    if v == 0.0:
        if signbit(v):
            memcpy(out, b"-0.0", 4)
            return 4
        memcpy(out, b"0.0", 3)
        return 3
    cdef int sign = 0
    if v < 0:
        out[0] = b'-'
        sign = 1
        v = -v
    cdef int n = ss_repr_pos(v, 1, out + sign)   # the exact-integer path, when it applies
    if n == 0:
        n = ss_repr_pos(v, 0, out + sign)
    return sign + n


cdef size_t geojson_worst_case(Py_ssize_t wkb_bytes) noexcept nogil:
    """Bytes `_geojson` may write for one geometry of `wkb_bytes` (E)WKB bytes: per input
    byte a double (8 bytes) prints as <= 24 characters + a separator; plus the type and
    closing text of the top level."""
    return 8 * <size_t>wkb_bytes + 160


def format_number(double v):
    """One coordinate as the legacy API printed it (see the module docstring); for tests."""
    cdef char buf[64]
    cdef int n = ss_number(v, buf)
    return buf[:n]


def repr_positive(double v, bint fast):
    """repr(v) of a finite v > 0 by the exact-integer (fast) or the snprintf shortest path; for tests."""
    cdef char buf[64]
    cdef int n = ss_repr_pos(v, fast, buf)
    return buf[:n] if n else None


# ----------------------------------------------------------------------------- EWKB encoder

cdef uint32_t _EWKB_Z = 0x80000000U
cdef uint32_t _EWKB_SRID = 0x20000000U


cdef inline uint8_t* _put_u32(uint8_t* p, uint32_t v) noexcept nogil:
    memcpy(p, &v, 4)
    return p + 4


cdef inline uint8_t* _put_header(uint8_t* p, uint32_t wkb_type, bint z, bint with_srid,
                                 int32_t srid) noexcept nogil:
    p[0] = 1
    if z:
        wkb_type |= _EWKB_Z
    if with_srid:
        wkb_type |= _EWKB_SRID
    p = _put_u32(p + 1, wkb_type)
    if with_srid:
        memcpy(p, &srid, 4)
        p += 4
    return p


cdef inline uint8_t* _put_points(uint8_t* p, const double* xy, const double* zs, int64_t first,
                                 int64_t last, bint z) noexcept nogil:
    cdef int64_t i
    if not z:
        memcpy(p, xy + 2 * first, 16 * (last - first))
        return p + 16 * (last - first)
    for i in range(first, last):
        memcpy(p, xy + 2 * i, 16)
        memcpy(p + 16, zs + i, 8)
        p += 24
    return p


cdef Status _ewkb(int kind, const double* xy, const double* zs, bint z, int32_t srid,
                  const int64_t[::1] goff, const int64_t[::1] roff, const int64_t[::1] poff,
                  const uint8_t[::1] null, int64_t[::1] out_off, uint8_t* out,
                  Py_ssize_t* where, bint single) noexcept nogil:
    """kind 1 Point, 4 MultiPoint, 5 MultiLineString, 6 MultiPolygon. out == NULL: sizes only.
    single: a one-part MultiLineString / MultiPolygon is written as a LineString / Polygon."""
    cdef Py_ssize_t g, ngeoms = goff.shape[0] - 1
    cdef int64_t size, i, j, r, pt = 16 + 8 * z, total = 0
    cdef uint8_t* p = out
    for g in range(ngeoms):
        where[0] = g
        if null[g]:
            if out == NULL:
                out_off[g + 1] = total
            continue
        if single and (kind == 5 or kind == 6) and goff[g + 1] - goff[g] == 1:
            i = goff[g]
            if kind == 5:
                size = 9 + 4 + (roff[i + 1] - roff[i]) * pt
            else:
                size = 9 + 4
                for j in range(poff[i], poff[i + 1]):
                    size += 4 + (roff[j + 1] - roff[j]) * pt
            if out == NULL:
                total += size
                out_off[g + 1] = total
                continue
            p = out + out_off[g]
            if kind == 5:
                p = _put_header(p, 2, z, True, srid)
                p = _put_u32(p, <uint32_t> (roff[i + 1] - roff[i]))
                p = _put_points(p, xy, zs, roff[i], roff[i + 1], z)
            else:
                p = _put_header(p, 3, z, True, srid)
                p = _put_u32(p, <uint32_t> (poff[i + 1] - poff[i]))
                for r in range(poff[i], poff[i + 1]):
                    p = _put_u32(p, <uint32_t> (roff[r + 1] - roff[r]))
                    p = _put_points(p, xy, zs, roff[r], roff[r + 1], z)
            continue
        size = 9                                   # byte order, type, srid
        if kind == 1:
            size += 2 * 8 + 8 * z                  # an empty point is NaN NaN, as PostGIS
        elif kind == 4:
            size += 4 + (goff[g + 1] - goff[g]) * (5 + pt)
        elif kind == 5:
            size += 4
            for i in range(goff[g], goff[g + 1]):
                size += 9 + (roff[i + 1] - roff[i]) * pt
        else:
            size += 4
            for i in range(goff[g], goff[g + 1]):
                size += 9
                for j in range(poff[i], poff[i + 1]):
                    size += 4 + (roff[j + 1] - roff[j]) * pt
        if out == NULL:
            total += size
            out_off[g + 1] = total
            continue
        p = out + out_off[g]
        p = _put_header(p, <uint32_t> kind, z, True, srid)
        if kind == 1:
            if goff[g + 1] > goff[g]:
                p = _put_points(p, xy, zs, goff[g], goff[g] + 1, z)
            else:
                _put_nan(p, 2 + z)
        elif kind == 4:
            p = _put_u32(p, <uint32_t> (goff[g + 1] - goff[g]))
            for i in range(goff[g], goff[g + 1]):
                p = _put_header(p, 1, z, False, 0)
                p = _put_points(p, xy, zs, i, i + 1, z)
        elif kind == 5:
            p = _put_u32(p, <uint32_t> (goff[g + 1] - goff[g]))
            for i in range(goff[g], goff[g + 1]):
                p = _put_header(p, 2, z, False, 0)
                p = _put_u32(p, <uint32_t> (roff[i + 1] - roff[i]))
                p = _put_points(p, xy, zs, roff[i], roff[i + 1], z)
        else:
            p = _put_u32(p, <uint32_t> (goff[g + 1] - goff[g]))
            for i in range(goff[g], goff[g + 1]):
                p = _put_header(p, 3, z, False, 0)
                p = _put_u32(p, <uint32_t> (poff[i + 1] - poff[i]))
                for r in range(poff[i], poff[i + 1]):
                    p = _put_u32(p, <uint32_t> (roff[r + 1] - roff[r]))
                    p = _put_points(p, xy, zs, roff[r], roff[r + 1], z)
    return Status.OK


cdef inline void _put_nan(uint8_t* p, int n) noexcept nogil:
    cdef uint64_t nan_bits = 0x7FF8000000000000ULL
    cdef int i
    for i in range(n):
        memcpy(p + 8 * i, &nan_bits, 8)


def encode_ewkb(int kind, coords, z, geom_offsets, ring_offsets, polygon_offsets, null,
                int srid, bint single=False):
    """EWKB (little endian, SRID flag) of every geometry; (status, where, data, offsets).

    The caller (samsyn_fast.encode) has validated and normalised every array. A null
    geometry spans zero bytes.
    """
    cdef const double[:, ::1] xy = coords
    cdef const double[::1] zv
    cdef const int64_t[::1] goff = geom_offsets
    cdef const int64_t[::1] roff = ring_offsets
    cdef const int64_t[::1] poff = polygon_offsets
    cdef const uint8_t[::1] nul = null
    cdef bint has_z = z is not None
    cdef const double* zp = NULL
    cdef const double* xyp = &xy[0, 0] if xy.shape[0] > 0 else NULL
    if has_z:
        zv = z
        if zv.shape[0] > 0:
            zp = &zv[0]
    offsets_arr = np.zeros(goff.shape[0], dtype=np.int64)
    cdef int64_t[::1] off = offsets_arr
    cdef Py_ssize_t where = -1
    cdef Status status
    with nogil:
        status = _ewkb(kind, xyp, zp, has_z, srid, goff, roff, poff, nul, off, NULL, &where, single)
    if status != Status.OK:
        return status, where, None, None
    data_arr = np.empty(off[off.shape[0] - 1], dtype=np.uint8)
    cdef uint8_t[::1] data = data_arr
    cdef uint8_t* dp = &data[0] if data.shape[0] > 0 else NULL
    if dp != NULL:
        with nogil:
            status = _ewkb(kind, xyp, zp, has_z, srid, goff, roff, poff, nul, off, dp, &where, single)
    return status, where, data_arr, offsets_arr


def pgcopy_fields(data, offsets):
    """Frame each value for PGCOPY binary: int32 big-endian length + bytes, -1 for zero bytes.

    Returns (framed uint8 array, (G + 1,) int64 offsets of each framed field).
    """
    cdef const uint8_t[::1] src = data
    cdef const int64_t[::1] off = offsets
    cdef Py_ssize_t g, n = off.shape[0] - 1
    out_off_arr = np.empty(n + 1, dtype=np.int64)
    cdef int64_t[::1] out_off = out_off_arr
    out_off[0] = 0
    for g in range(n):
        out_off[g + 1] = out_off[g] + 4 + (off[g + 1] - off[g])
    out_arr = np.empty(out_off[n], dtype=np.uint8)
    cdef uint8_t[::1] out = out_arr
    cdef int64_t length
    cdef uint32_t be
    with nogil:
        for g in range(n):
            length = off[g + 1] - off[g]
            be = <uint32_t> (-1 if length == 0 else length)
            be = ((be >> 24) & 0xff) | ((be >> 8) & 0xff00) | ((be << 8) & 0xff0000) | (be << 24)
            memcpy(&out[out_off[g]], &be, 4)
            if length:
                memcpy(&out[out_off[g] + 4], &src[off[g]], length)
    return out_arr, out_off_arr


# --------------------------------------------------------------------------- GeoJSON writer

cdef inline uint32_t _bswap32(uint32_t v) noexcept nogil:
    return ((v >> 24) & 0xff) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)


cdef inline Status _u32(_Reader* r, uint32_t* v) noexcept nogil:
    if r.end - r.p < 4:
        return Status.TRUNCATED
    memcpy(v, r.p, 4)
    if r.swap:
        v[0] = _bswap32(v[0])
    r.p += 4
    return Status.OK


cdef inline double _f64(const uint8_t* p, bint swap) noexcept nogil:
    cdef uint64_t b
    cdef double d
    memcpy(&b, p, 8)
    if swap:
        b = (((b & 0xffULL) << 56) | ((b & 0xff00ULL) << 40) | ((b & 0xff0000ULL) << 24)
             | ((b & 0xff000000ULL) << 8) | ((b >> 8) & 0xff000000ULL)
             | ((b >> 24) & 0xff0000ULL) | ((b >> 40) & 0xff00ULL) | (b >> 56))
    memcpy(&d, &b, 8)
    return d


cdef inline char* _lit(char* o, const char* s, int n) noexcept nogil:
    memcpy(o, s, n)
    return o + n


cdef struct _Header:
    uint32_t base       # 1..7
    int ndims           # doubles per point in the input
    bint hasz
    bint has_srid
    int32_t srid


cdef Status _header(_Reader* r, _Header* h) noexcept nogil:
    cdef uint32_t t
    cdef Status st
    if r.end - r.p < 5:
        return Status.TRUNCATED
    if r.p[0] > 1:
        return Status.BAD_MAGIC
    r.swap = r.p[0] == 0           # the host is little endian (checked by the wrapper)
    r.p += 1
    st = _u32(r, &t)
    if st != Status.OK:
        return st
    h.hasz = (t & 0x80000000U) != 0
    cdef bint hasm = (t & 0x40000000U) != 0
    h.has_srid = (t & 0x20000000U) != 0
    t &= 0x0fffffffU
    if t >= 1000 and t < 4000:     # ISO WKB: 1000 Z, 2000 M, 3000 ZM
        h.hasz = h.hasz or (t // 1000) in (1, 3)
        hasm = hasm or (t // 1000) in (2, 3)
        t = t % 1000
    if t < 1 or t > 7:
        return Status.BAD_SHAPE_TYPE
    h.base = t
    h.ndims = 2 + h.hasz + hasm
    h.srid = 0
    if h.has_srid:
        st = _u32(r, <uint32_t*> &h.srid)
        if st != Status.OK:
            return st
    return Status.OK


cdef inline char* _point(char* o, const uint8_t* p, _Header* h, bint swap) noexcept nogil:
    o[0] = b'['
    o += 1
    o += ss_number(_f64(p, swap), o)
    o[0] = b','
    o += 1
    o += ss_number(_f64(p + 8, swap), o)
    if h.hasz:
        o[0] = b','
        o += 1
        o += ss_number(_f64(p + 16, swap), o)
    o[0] = b']'
    return o + 1


cdef Status _points(_Reader* r, _Header* h, char** o) noexcept nogil:
    """A counted point array: [[x,y],...]."""
    cdef uint32_t n, i
    cdef Status st = _u32(r, &n)
    if st != Status.OK:
        return st
    if <uint64_t> (r.end - r.p) < <uint64_t> n * 8 * h.ndims:
        return Status.TRUNCATED
    cdef char* out = o[0]
    out[0] = b'['
    out += 1
    for i in range(n):
        if i:
            out[0] = b','
            out += 1
        out = _point(out, r.p, h, r.swap)
        r.p += 8 * h.ndims
    out[0] = b']'
    o[0] = out + 1
    return Status.OK


cdef const char* _TYPES[8]
_TYPES[0] = b""
_TYPES[1] = b'{"type":"Point",'
_TYPES[2] = b'{"type":"LineString",'
_TYPES[3] = b'{"type":"Polygon",'
_TYPES[4] = b'{"type":"MultiPoint",'
_TYPES[5] = b'{"type":"MultiLineString",'
_TYPES[6] = b'{"type":"MultiPolygon",'
_TYPES[7] = b'{"type":"GeometryCollection",'

cdef enum:
    _MAX_DEPTH = 32


cdef struct _Frame:
    uint32_t remaining
    bint is_gc
    bint is_object


cdef int _crs_name(int32_t srid, const int32_t[::1] srids, const uint8_t[::1] names,
                   const int64_t[::1] name_off, char* o) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = srids.shape[0], mid
    cdef int n
    while lo < hi:
        mid = (lo + hi) // 2
        if srids[mid] < srid:
            lo = mid + 1
        else:
            hi = mid
    if lo < srids.shape[0] and srids[lo] == srid:
        n = <int> (name_off[lo + 1] - name_off[lo])
        memcpy(o, &names[name_off[lo]], n)
        return n
    memcpy(o, b"EPSG:", 5)
    if srid < 0:
        o[5] = b'-'
        return 6 + ss_utoa(<uint64_t> (-<int64_t> srid), o + 6)
    return 5 + ss_utoa(<uint64_t> srid, o + 5)


cdef Status _skip(_Reader* r, uint64_t nbytes) noexcept nogil:
    if <uint64_t> (r.end - r.p) < nbytes:
        return Status.TRUNCATED
    r.p += nbytes
    return Status.OK


cdef Status _scan(_Reader r, const uint8_t** stop, bint* empty) noexcept nogil:
    """Find where the geometry at r.p ends and whether it is empty as PostGIS sees it
    (no coordinates anywhere: NaN points, 0 points, polygons without a shell point)."""
    cdef uint32_t remaining[_MAX_DEPTH]
    cdef int depth = 0
    cdef _Header h
    cdef Status st
    cdef uint32_t n, nr, i
    empty[0] = True
    while True:
        st = _header(&r, &h)
        if st != Status.OK:
            return st
        if h.base == 1:
            if r.end - r.p < 8 * h.ndims:
                return Status.TRUNCATED
            if not (_f64(r.p, r.swap) != _f64(r.p, r.swap)
                    and _f64(r.p + 8, r.swap) != _f64(r.p + 8, r.swap)):
                empty[0] = False
            r.p += 8 * h.ndims
        elif h.base == 2:
            st = _u32(&r, &n)
            if st == Status.OK:
                st = _skip(&r, <uint64_t> n * 8 * h.ndims)
            if st != Status.OK:
                return st
            if n:
                empty[0] = False
        elif h.base == 3:
            st = _u32(&r, &nr)
            if st != Status.OK:
                return st
            for i in range(nr):
                st = _u32(&r, &n)
                if st == Status.OK:
                    st = _skip(&r, <uint64_t> n * 8 * h.ndims)
                if st != Status.OK:
                    return st
                if i == 0 and n:
                    empty[0] = False
        else:
            st = _u32(&r, &n)
            if st != Status.OK:
                return st
            if n:
                if depth == _MAX_DEPTH:
                    return Status.BAD_RECORD
                remaining[depth] = n
                depth += 1
                continue
        while depth > 0:
            remaining[depth - 1] -= 1
            if remaining[depth - 1] > 0:
                break
            depth -= 1
        if depth == 0:
            stop[0] = r.p
            return Status.OK


cdef Status _geojson(_Reader* r, char** o, const int32_t[::1] srids, const uint8_t[::1] names,
                     const int64_t[::1] name_off) noexcept nogil:
    """One top-level geometry, iteratively (collections keep a frame stack, no recursion)."""
    cdef _Frame frames[_MAX_DEPTH]
    cdef int depth = 0
    cdef _Header h
    cdef Status st
    cdef uint32_t n, i
    cdef bint is_object, done, empty
    cdef char* out = o[0]
    cdef int tl
    cdef _Reader start
    cdef const uint8_t* stop = NULL
    while True:
        start = r[0]
        st = _header(r, &h)
        if st != Status.OK:
            return st
        is_object = depth == 0 or frames[depth - 1].is_gc
        empty = False
        if is_object:
            # PostGIS writes any empty geometry (a collection of empties too) as an empty
            # array, and refuses a collection inside a non-empty collection.
            st = _scan(start, &stop, &empty)
            if st != Status.OK:
                return st
            if h.base == 7 and depth > 0:
                return Status.BAD_SHAPE_TYPE
            tl = 0
            while _TYPES[h.base][tl]:
                tl += 1
            out = _lit(out, _TYPES[h.base], tl)
            if depth == 0 and h.has_srid and h.srid != 0 and h.srid != 4326:
                out = _lit(out, b'"crs":{"type":"name","properties":{"name":"', 43)
                out += _crs_name(h.srid, srids, names, name_off, out)
                out = _lit(out, b'"}},', 4)
            if h.base == 7:
                out = _lit(out, b'"geometries":', 13)
            else:
                out = _lit(out, b'"coordinates":', 14)
        done = True
        if empty:
            out = _lit(out, b"[]", 2)
            r.p = stop
        elif h.base == 1:
            if r.end - r.p < 8 * h.ndims:
                return Status.TRUNCATED
            empty = _f64(r.p, r.swap) != _f64(r.p, r.swap) and _f64(r.p + 8, r.swap) != _f64(r.p + 8, r.swap)
            if empty:
                out = _lit(out, b"[]", 2)
            else:
                out = _point(out, r.p, &h, r.swap)
            r.p += 8 * h.ndims
        elif h.base == 2:
            o[0] = out
            st = _points(r, &h, o)
            out = o[0]
            if st != Status.OK:
                return st
        elif h.base == 3:
            st = _u32(r, &n)
            if st != Status.OK:
                return st
            out[0] = b'['
            out += 1
            for i in range(n):
                if i:
                    out[0] = b','
                    out += 1
                o[0] = out
                st = _points(r, &h, o)
                out = o[0]
                if st != Status.OK:
                    return st
            out[0] = b']'
            out += 1
        else:
            st = _u32(r, &n)
            if st != Status.OK:
                return st
            out[0] = b'['
            out += 1
            if n == 0:
                out[0] = b']'
                out += 1
            else:
                if depth == _MAX_DEPTH:
                    return Status.BAD_RECORD
                frames[depth].remaining = n
                frames[depth].is_gc = h.base == 7
                frames[depth].is_object = is_object
                depth += 1
                done = False
        if done:
            if is_object:
                out[0] = b'}'
                out += 1
            # Close every container this geometry was the last member of.
            while depth > 0:
                frames[depth - 1].remaining -= 1
                if frames[depth - 1].remaining > 0:
                    out[0] = b','
                    out += 1
                    break
                depth -= 1
                out[0] = b']'
                out += 1
                if frames[depth].is_object:
                    out[0] = b'}'
                    out += 1
            if depth == 0:
                o[0] = out
                return Status.OK


def wkb_to_geojson(data, offsets, srids, names, name_offsets):
    """GeoJSON geometry text of every (E)WKB value; (status, where, text, text_offsets).

    A value spanning zero bytes (SQL NULL) gives zero bytes of text. `srids` (sorted int32),
    `names`/`name_offsets` map SRIDs to their "crs" names (default "EPSG:<srid>").
    """
    cdef const uint8_t[::1] src = data
    cdef const int64_t[::1] off = offsets
    cdef const int32_t[::1] sr = srids
    cdef const uint8_t[::1] nm = names
    cdef const int64_t[::1] nmo = name_offsets
    cdef Py_ssize_t g, n = off.shape[0] - 1
    cdef int64_t longest_name = 0
    for g in range(nmo.shape[0] - 1):
        longest_name = max(longest_name, nmo[g + 1] - nmo[g])
    # One growing buffer, started at a typical size. Before each geometry it is made large
    # enough for that geometry's worst case: per input byte, a double (8 bytes) prints as <= 24
    # characters + separator and an empty collection member (9 bytes) as
    # '{"type":"GeometryCollection","geometries":[]},'; plus the type, crs and closing text of
    # the top level.
    cdef ByteBuf out
    memset(&out, 0, sizeof(ByteBuf))
    if buf_reserve(&out, 3 * src.shape[0] + 64 * n + 4096) != 0:
        raise MemoryError()
    out_off_arr = np.zeros(n + 1, dtype=np.int64)
    cdef int64_t[::1] out_off = out_off_arr
    cdef char* o
    cdef _Reader r
    cdef Status st = Status.OK
    cdef Py_ssize_t where = -1
    with nogil:
        for g in range(n):
            if off[g + 1] < off[g] or off[g + 1] > src.shape[0]:
                st = Status.BAD_OFFSETS
                where = g
                break
            if off[g + 1] > off[g]:
                if buf_reserve(&out, geojson_worst_case(off[g + 1] - off[g]) + longest_name) != 0:
                    st = Status.NO_MEMORY
                    where = g
                    break
                r.p = &src[0] + off[g]
                r.end = &src[0] + off[g + 1]
                o = out.data + out.length
                st = _geojson(&r, &o, sr, nm, nmo)
                if st != Status.OK:
                    where = g
                    break
                out.length = o - out.data
            out_off[g + 1] = out.length
    try:
        if st != Status.OK:
            return st, where, None, None
        return Status.OK, -1, out.data[:out.length], out_off_arr
    finally:
        # The text is copied into bytes at once (API responses): keep no freed mapping.
        mem_free_unpooled(out.data, out.cap)


def pgcopy_rows(columns, Py_ssize_t nrows):
    """A whole PGCOPY binary stream (header, rows, trailer) from framed columns.

    Args:
        columns: [(framed uint8, (nrows + 1,) int64 offsets), ...] as pgcopy_fields returns.
        nrows: number of rows.
    """
    cdef Py_ssize_t ncols = len(columns), row
    if ncols > 32767:
        raise ValueError("too many columns")
    cols = [(np.ascontiguousarray(f, dtype=np.uint8), np.ascontiguousarray(o, dtype=np.int64))
            for f, o in columns]
    for _, o in cols:
        if o.shape[0] != nrows + 1:
            raise ValueError("every column needs nrows + 1 offsets")
    # Row r starts at row_start[r]: a 2-byte field count, then each column's field.
    row_size = np.full(nrows, 2, dtype=np.int64)
    for _, o in cols:
        row_size += np.diff(o)
    row_start_arr = np.empty(nrows + 1, dtype=np.int64)
    row_start_arr[0] = 19
    np.cumsum(row_size, out=row_start_arr[1:])
    row_start_arr[1:] += 19
    cdef int64_t[::1] row_start = row_start_arr
    out_arr = np.empty(row_start_arr[nrows] + 2, dtype=np.uint8)
    cdef uint8_t[::1] out = out_arr
    memcpy(&out[0], b"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00", 19)
    cursor_arr = row_start_arr[:nrows] + 2
    cdef int64_t[::1] cursor = cursor_arr
    cdef uint16_t nbe = <uint16_t> (((ncols & 0xff) << 8) | ((ncols >> 8) & 0xff))
    cdef const uint8_t[::1] data
    cdef const int64_t[::1] off
    cdef int64_t length
    with nogil:
        for row in range(nrows):
            memcpy(&out[row_start[row]], &nbe, 2)
    for framed, framed_off in cols:
        data = framed
        off = framed_off
        with nogil:
            for row in range(nrows):
                length = off[row + 1] - off[row]
                if length:
                    memcpy(&out[cursor[row]], &data[off[row]], length)
                    cursor[row] += length
    out[out.shape[0] - 2] = 0xff
    out[out.shape[0] - 1] = 0xff
    return out_arr
