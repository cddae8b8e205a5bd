# The kernels' one growable buffer and the allocator under it (samsyn_fast/_buffers.pyx).
#
# ByteBuf holds bytes, or int64 / float64 / uint8 values pushed one by one; it grows by
# doubling from 4 KiB through mem_resize. The helpers here are inline (every kernel compiles
# them); mem_resize / mem_free are compiled once in _buffers.pyx, so the whole process shares
# one pool of freed big mappings and one limit (set_pool_limit). They are only called when a
# buffer grows or is freed.
#
# It replaces three buffers that differed only in their start and their allocator: the CSV
# tokenizer's and the GeoJSON flattener's (4 KiB, mem_resize) and the feature writer's
# (256 B or 64 KiB, plain realloc, and a sticky `failed` flag so it checks once per feature;
# ByteBuf keeps that flag). The WKB -> GeoJSON encoder's hand-grown output buffer is one too.
from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memcpy


cdef struct ByteBuf:
    char* data
    Py_ssize_t length    # bytes used
    Py_ssize_t cap       # bytes reserved: always mem_capacity() of what was asked for
    bint failed          # sticky: an allocation failed (for writers that check once, late)


cdef inline size_t mem_capacity(size_t need) noexcept nogil:
    """The capacity mem_resize really gives for `need` bytes."""
    if need < (1 << 20):
        return need
    return (need + (2 << 20) - 1) & ~(<size_t>(2 << 20) - 1)


# Grow p (capacity old_cap, NULL when 0) to capacity mem_capacity(new_cap); NULL on failure (p
# is then still valid). Contents beyond old_cap are undefined (not zeroed).
cdef void* mem_resize(void* p, size_t old_cap, size_t new_cap) noexcept nogil
# Free p (capacity cap); a big mapping goes to the pool for the next buffer.
cdef void mem_free(void* p, size_t cap) noexcept nogil
# Free p without pooling it: for outputs copied into a Python object at once (API responses),
# so a process that serves them keeps no freed memory.
cdef void mem_free_unpooled(void* p, size_t cap) noexcept nogil
# Hand a mem_resize'd block to a numpy array without copying; *pp is NULL afterwards.
cdef object to_numpy(void** pp, Py_ssize_t nbytes, size_t cap, object dtype)


cdef inline int buf_reserve(ByteBuf* b, Py_ssize_t extra) noexcept nogil:
    """Room for `extra` more bytes: 0, or -1 when out of memory (b is unchanged, b.failed set)."""
    cdef Py_ssize_t need = b.length + extra
    cdef Py_ssize_t cap
    cdef char* p
    if need <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap > 0 else 4096
    while cap < need:
        cap *= 2
    p = <char*>mem_resize(b.data, b.cap, cap)
    if p == NULL:
        b.failed = True
        return -1
    b.data = p
    b.cap = mem_capacity(cap)
    return 0


cdef inline int buf_append(ByteBuf* b, const void* src, Py_ssize_t n) noexcept nogil:
    """Append src[0:n]: 0, or -1 when out of memory."""
    if n <= 0:
        return 0
    if b.length + n > b.cap and buf_reserve(b, n) != 0:
        return -1
    memcpy(b.data + b.length, src, n)
    b.length += n
    return 0


cdef inline int buf_push_i64(ByteBuf* b, int64_t v) noexcept nogil:
    return buf_append(b, &v, 8)


cdef inline int buf_push_f64(ByteBuf* b, double v) noexcept nogil:
    return buf_append(b, &v, 8)


cdef inline int buf_push_u8(ByteBuf* b, uint8_t v) noexcept nogil:
    if b.length + 1 > b.cap and buf_reserve(b, 1) != 0:
        return -1
    b.data[b.length] = <char>v
    b.length += 1
    return 0


cdef inline void buf_free(ByteBuf* b) noexcept nogil:
    mem_free(b.data, b.cap)
    b.data = NULL
    b.length = 0
    b.cap = 0


cdef inline object buf_to_numpy(ByteBuf* b, object dtype):
    """The buffer's contents as a numpy array of `dtype` (no copy); the buffer is empty after."""
    cdef Py_ssize_t n = b.length
    b.length = 0
    cdef size_t cap = b.cap
    b.cap = 0
    return to_numpy(<void**>&b.data, n, cap, dtype)
