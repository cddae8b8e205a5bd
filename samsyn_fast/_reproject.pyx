# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: extra_compile_args=-fopenmp
# distutils: extra_link_args=-fopenmp
"""Closed-form EPSG:4326 <-> EPSG:3857 (PROJ `webmerc`) kernels, nogil, OpenMP over points.

The arithmetic follows PROJ's pipeline step by step (unitconvert deg<->rad, `fwd_prepare`
latitude clamp and longitude checks, `adjlon`, spherical Mercator, `a` scaling), with the same
libm calls and no fast-math, so results are bit-identical to pyproj in practice (and well inside
1 mm / 1e-9 degree everywhere). Everything else goes through pyproj in `samsyn_fast.reproject`.
"""
import numpy as np

cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport HUGE_VAL, M_PI, asinh, atan, exp, fabs, floor, isfinite, log, tan

from samsyn_fast._status cimport Status

cnp.import_array()

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


cdef Status _forward(const double[:, ::1] xy, double[:, ::1] out, int nthreads) noexcept nogil:
    cdef Py_ssize_t i, n = xy.shape[0]
    cdef double lam, phi, t
    for i in prange(n, num_threads=nthreads, schedule="static"):
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
    return Status.OK


cdef Status _inverse(const double[:, ::1] xy, double[:, ::1] out, int nthreads) noexcept nogil:
    cdef Py_ssize_t i, n = xy.shape[0]
    cdef double x, y, e
    for i in prange(n, num_threads=nthreads, schedule="static"):
        x = xy[i, 0] * _RA
        y = xy[i, 1] * _RA
        out[i, 0] = _adjlon(x) * _RAD_TO_DEG
        # atan(sinh(y)) as PROJ, with sinh from one exp(): glibc sinh() costs about 3x more and
        # the cancellation near y = 0 stays far below 1e-9 degree.
        e = exp(y)
        out[i, 1] = atan(0.5 * (e - 1.0 / e)) * _RAD_TO_DEG
    return Status.OK


def webmerc(coords, bint inverse=False, int nthreads=2):
    """EPSG:4326 -> EPSG:3857 (or back with `inverse`) for finite (N, 2) float64 lon/lat or x/y.

    The caller (samsyn_fast.reproject) has checked shape, dtype, contiguity and finiteness.
    Returns a new (N, 2) float64 array; points PROJ rejects come back as inf, inf like pyproj.
    """
    cdef const double[:, ::1] xy = coords
    out_arr = np.empty((xy.shape[0], 2), dtype=np.float64)
    cdef double[:, ::1] out = out_arr
    cdef Status status
    if nthreads < 1:
        nthreads = 1
    with nogil:
        if inverse:
            status = _inverse(xy, out, nthreads)
        else:
            status = _forward(xy, out, nthreads)
    return out_arr
