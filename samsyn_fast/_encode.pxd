# The encoders' C-level API for the other kernels (samsyn_fast._features writes API responses
# with the same GeoJSON geometry writer and number printing).
from libc.stdint cimport int32_t, int64_t, uint8_t

from samsyn_fast._status cimport Status


cdef struct _Reader:
    const uint8_t* p
    const uint8_t* end
    bint swap


cdef Status _geojson(_Reader* r, char** o, const int32_t[::1] srids, const uint8_t[::1] names,
                     const int64_t[::1] name_off) noexcept nogil
cdef int python_float_repr(double v, char* out) noexcept nogil
cdef size_t geojson_worst_case(Py_ssize_t wkb_bytes) noexcept nogil
