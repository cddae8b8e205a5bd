# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Closed-form EPSG:4326 <-> EPSG:3857 (PROJ `webmerc`) kernels: one nogil loop over a row range.

The arithmetic follows PROJ's pipeline step by step (unitconvert deg<->rad, `fwd_prepare`
latitude clamp and longitude checks, `adjlon`, spherical Mercator, `a` scaling) with no
fast-math. Near the poles (|lat| >= 89.5 deg, where dy/dlat explodes) y is PROJ's own
asinh(tan(phi)) with the same libm, so bit-identical to pyproj; elsewhere the cheaper
log(tan(pi/4 + phi/2)) (AVX2 libmvec when available) stays within 3e-7 m of pyproj, and the
inverse within 1e-13 degree. No OpenMP: samsyn_fast.reproject runs row ranges of one call on
two Python threads (libgomp deadlocks in forked workers). Other CRS pairs go through pyproj.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport HUGE_VAL, M_PI, asinh, atan, exp, fabs, floor, isfinite, log, tan

from samsyn_fast._status cimport Status

cnp.import_array()

cdef extern from *:
    """
    #include <dlfcn.h>
    #include <immintrin.h>
    #include <math.h>

    /* glibc's libmvec (>= 2.35) AVX2 tan/log/exp/atan, looked up at run time so the module
       still imports (scalar only) on older glibc or CPUs without AVX2. Each is within 4 ulp,
       i.e. < 1e-7 m in y and < 1e-12 degree, where they are used (|lat| < 89.5 deg, no wrap). */
    typedef __m256d (*ss_v4)(__m256d);
    static ss_v4 ss_vtan, ss_vlog, ss_vexp, ss_vatan;
    static int ss_simd = 0;

    static int ss_simd_init(void)
    {
        void *h;
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx2")) return 0;
        h = dlopen("libmvec.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!h) return 0;
        ss_vtan = (ss_v4)dlsym(h, "_ZGVdN4v_tan");
        ss_vlog = (ss_v4)dlsym(h, "_ZGVdN4v_log");
        ss_vexp = (ss_v4)dlsym(h, "_ZGVdN4v_exp");
        ss_vatan = (ss_v4)dlsym(h, "_ZGVdN4v_atan");
        ss_simd = ss_vtan && ss_vlog && ss_vexp && ss_vatan;
        return ss_simd;
    }

    /* Four points forward if all are plain (finite, |lon| < 180 deg, |lat| < 89.5 deg);
       same operations as the scalar kernel, tan/log 4 at a time. 0: caller does them. */
    __attribute__((target("avx2")))
    static int ss_fwd4(const double *xy, double *out, double deg2rad, double a,
                       double fortpi, double fastlat)
    {
        __m256d p0 = _mm256_loadu_pd(xy), p1 = _mm256_loadu_pd(xy + 4);
        __m256d lon = _mm256_unpacklo_pd(p0, p1), lat = _mm256_unpackhi_pd(p0, p1);
        __m256d lam = _mm256_mul_pd(lon, _mm256_set1_pd(deg2rad));
        __m256d phi = _mm256_mul_pd(lat, _mm256_set1_pd(deg2rad));
        __m256d sign = _mm256_set1_pd(-0.0);
        __m256d ok = _mm256_and_pd(
            _mm256_cmp_pd(_mm256_andnot_pd(sign, lam), _mm256_set1_pd(M_PI), _CMP_LT_OQ),
            _mm256_cmp_pd(_mm256_andnot_pd(sign, phi), _mm256_set1_pd(fastlat), _CMP_LT_OQ));
        __m256d va, x, y;
        if (_mm256_movemask_pd(ok) != 0xF) return 0;
        va = _mm256_set1_pd(a);
        x = _mm256_mul_pd(va, lam);
        y = _mm256_add_pd(_mm256_set1_pd(fortpi), _mm256_mul_pd(_mm256_set1_pd(0.5), phi));
        y = _mm256_mul_pd(va, ss_vlog(ss_vtan(y)));
        _mm256_storeu_pd(out, _mm256_unpacklo_pd(x, y));
        _mm256_storeu_pd(out + 4, _mm256_unpackhi_pd(x, y));
        return 1;
    }

    /* Four points inverse if all are plain (finite, |x| < pi a, |y| < 700 a). */
    __attribute__((target("avx2")))
    static int ss_inv4(const double *xy, double *out, double ra, double rad2deg)
    {
        __m256d p0 = _mm256_loadu_pd(xy), p1 = _mm256_loadu_pd(xy + 4);
        __m256d x = _mm256_mul_pd(_mm256_unpacklo_pd(p0, p1), _mm256_set1_pd(ra));
        __m256d y = _mm256_mul_pd(_mm256_unpackhi_pd(p0, p1), _mm256_set1_pd(ra));
        __m256d sign = _mm256_set1_pd(-0.0);
        __m256d ok = _mm256_and_pd(
            _mm256_cmp_pd(_mm256_andnot_pd(sign, x), _mm256_set1_pd(M_PI), _CMP_LT_OQ),
            _mm256_cmp_pd(_mm256_andnot_pd(sign, y), _mm256_set1_pd(700.0), _CMP_LT_OQ));
        __m256d e, lon, lat, r2d = _mm256_set1_pd(rad2deg);
        if (_mm256_movemask_pd(ok) != 0xF) return 0;
        lon = _mm256_mul_pd(x, r2d);
        e = ss_vexp(y);
        lat = _mm256_mul_pd(_mm256_set1_pd(0.5), _mm256_sub_pd(e, _mm256_div_pd(_mm256_set1_pd(1.0), e)));
        lat = _mm256_mul_pd(ss_vatan(lat), r2d);
        _mm256_storeu_pd(out, _mm256_unpacklo_pd(lon, lat));
        _mm256_storeu_pd(out + 4, _mm256_unpackhi_pd(lon, lat));
        return 1;
    }
    """
    int ss_simd_init() nogil
    int ss_fwd4(const double* xy, double* out, double deg2rad, double a, double fortpi,
                double fastlat) nogil
    int ss_inv4(const double* xy, double* out, double ra, double rad2deg) nogil

cdef int _simd = ss_simd_init()

# PROJ constants (proj_internal.h / units.cpp) so every step rounds as PROJ's does.
cdef double _DEG_TO_RAD = 0.017453292519943296
cdef double _RAD_TO_DEG = 57.295779513082321
cdef double _A = 6378137.0          # WGS84 semi-major axis used by +proj=webmerc
cdef double _RA = 1.0 / 6378137.0   # PROJ multiplies by P->ra on the inverse
cdef double _HALFPI = 1.5707963267948966
cdef double _TWOPI = 6.283185307179586
cdef double _EPS_LAT = 1e-12        # PJ_EPS_LAT: latitude overshoot PROJ clamps instead of rejecting
cdef double _FORTPI = 0.78539816339744833
# Below this |latitude| (radians, 89.5 deg) log(tan(pi/4 + phi/2)) is within 1e-6 m of PROJ's
# asinh(tan(phi)) and about 3x cheaper; closer to the pole dy/dphi explodes, so use PROJ's form.
cdef double _FAST_LAT = 1.562069680534925


cdef inline double _adjlon(double lam) noexcept nogil:
    # PROJ adjlon(): leave a slight overshoot alone, otherwise wrap into [-pi, pi).
    if fabs(lam) < M_PI + 1e-12:
        return lam
    lam += M_PI
    lam -= _TWOPI * floor(lam / _TWOPI)
    lam -= M_PI
    return lam


cdef Py_ssize_t _first_nonfinite(const double[:, ::1] xy) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(xy.shape[0]):
        if not (isfinite(xy[i, 0]) and isfinite(xy[i, 1])):
            return i
    return -1


def first_nonfinite(coords):
    """Index of the first row of `coords` ((N, 2) float64) holding NaN or inf, or -1."""
    cdef const double[:, ::1] xy = coords
    cdef Py_ssize_t found
    with nogil:
        found = _first_nonfinite(xy)
    return found


cdef Py_ssize_t _forward_scalar(const double[:, ::1] xy, double[:, ::1] out, Py_ssize_t lo,
                         Py_ssize_t hi) noexcept nogil:
    """Rows lo..hi-1; returns the first row holding NaN/inf (checked here, not in a separate
    pass over the input), or -1."""
    cdef Py_ssize_t i
    cdef double lam, phi, t
    for i in range(lo, hi):
        if not (isfinite(xy[i, 0]) and isfinite(xy[i, 1])):
            return i
        lam = xy[i, 0] * _DEG_TO_RAD
        phi = xy[i, 1] * _DEG_TO_RAD
        t = fabs(phi) - _HALFPI
        if t > _EPS_LAT or lam > 10.0 or lam < -10.0:
            # PROJ rejects the point; pyproj (errcheck=False) reports it as inf, inf.
            out[i, 0] = HUGE_VAL
            out[i, 1] = HUGE_VAL
            continue
        if phi > _HALFPI:
            phi = _HALFPI
        elif phi < -_HALFPI:
            phi = -_HALFPI
        lam = _adjlon(_adjlon(lam))     # fwd_prepare wraps before and after removing lon_0 = 0
        out[i, 0] = _A * lam
        if fabs(phi) < _FAST_LAT:
            out[i, 1] = _A * log(tan(_FORTPI + 0.5 * phi))
        else:
            out[i, 1] = _A * asinh(tan(phi))
    return -1


cdef Py_ssize_t _inverse_scalar(const double[:, ::1] xy, double[:, ::1] out, Py_ssize_t lo,
                         Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i
    cdef double x, y, e
    for i in range(lo, hi):
        if not (isfinite(xy[i, 0]) and isfinite(xy[i, 1])):
            return i
        x = xy[i, 0] * _RA
        y = xy[i, 1] * _RA
        out[i, 0] = _adjlon(x) * _RAD_TO_DEG
        # atan(sinh(y)) as PROJ, with sinh from one exp(): glibc sinh() costs about 3x more and
        # the cancellation near y = 0 stays far below 1e-9 degree.
        e = exp(y)
        out[i, 1] = atan(0.5 * (e - 1.0 / e)) * _RAD_TO_DEG
    return -1


cdef Py_ssize_t _forward(const double[:, ::1] xy, double[:, ::1] out, Py_ssize_t lo,
                         Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i = lo, bad
    if _simd:
        while i + 4 <= hi:
            if not ss_fwd4(&xy[i, 0], &out[i, 0], _DEG_TO_RAD, _A, _FORTPI, _FAST_LAT):
                bad = _forward_scalar(xy, out, i, i + 4)
                if bad >= 0:
                    return bad
            i += 4
    return _forward_scalar(xy, out, i, hi)


cdef Py_ssize_t _inverse(const double[:, ::1] xy, double[:, ::1] out, Py_ssize_t lo,
                         Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i = lo, bad
    if _simd:
        while i + 4 <= hi:
            if not ss_inv4(&xy[i, 0], &out[i, 0], _RA, _RAD_TO_DEG):
                bad = _inverse_scalar(xy, out, i, i + 4)
                if bad >= 0:
                    return bad
            i += 4
    return _inverse_scalar(xy, out, i, hi)


def simd_enabled():
    """True when the AVX2 libmvec path is in use (else everything runs the scalar kernel)."""
    return bool(_simd)


def webmerc_into(coords, out_coords, Py_ssize_t lo, Py_ssize_t hi, bint inverse):
    """Rows lo..hi-1 of EPSG:4326 -> EPSG:3857 (or back with `inverse`) into `out_coords`.

    Both arrays are (N, 2) float64 C-contiguous (checked by samsyn_fast.reproject, which runs
    slices of one call on two threads: the loop holds no GIL). Points PROJ rejects come out
    as inf, inf like pyproj. Returns the first row holding NaN/inf, or -1.
    """
    cdef const double[:, ::1] xy = coords
    cdef double[:, ::1] out = out_coords
    cdef Py_ssize_t bad
    if out.shape[0] != xy.shape[0] or lo < 0 or hi > xy.shape[0] or lo > hi:
        raise ValueError("bad output array or row range")
    with nogil:
        if inverse:
            bad = _inverse(xy, out, lo, hi)
        else:
            bad = _forward(xy, out, lo, hi)
    return bad
