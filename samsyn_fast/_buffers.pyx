# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The kernels' allocator for growable buffers (declared with ByteBuf in _buffers.pxd).

Compiled once so the process has one pool of freed big mappings and one limit for it.
"""
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy

import numpy as np

# Big output buffers come straight from mmap, so growing them is an mremap (no copy) and
# freeing them returns the memory at once (glibc's dynamic mmap threshold would otherwise move
# repeated big allocations onto the heap, where realloc copies). No transparent huge pages:
# many partly used buffers each rounded up to 2 MiB zeroed more memory than they saved in
# faults. Small buffers use malloc. Capacities must be passed back exactly.
cdef extern from "<sys/mman.h>" nogil:
    void* mmap(void* addr, size_t length, int prot, int flags, int fd, long offset)
    int munmap(void* addr, size_t length)
    void* mremap(void* old_address, size_t old_size, size_t new_size, int flags, ...)
    int PROT_READ
    int PROT_WRITE
    int MAP_PRIVATE
    int MAP_ANONYMOUS
    int MREMAP_MAYMOVE
    void* MAP_FAILED


cdef extern from *:
    """
    /* The process's pool of freed big mappings (already faulted in): the next parse reuses
       them instead of taking ~30k page faults per 100 MB again. Bounded; a spinlock guards it
       because parse threads allocate concurrently. */
    #define SAMSYN_POOL_SLOTS 256
    static void* samsyn_pool_p[SAMSYN_POOL_SLOTS];
    static size_t samsyn_pool_cap[SAMSYN_POOL_SLOTS];
    static int samsyn_pool_n = 0;
    static size_t samsyn_pool_bytes = 0;
    static size_t samsyn_pool_limit = (size_t)256 << 20;
    static char samsyn_pool_lock = 0;
    static void samsyn_pool_acquire(void) { while (__atomic_test_and_set(&samsyn_pool_lock, __ATOMIC_ACQUIRE)) {} }
    static void samsyn_pool_release(void) { __atomic_clear(&samsyn_pool_lock, __ATOMIC_RELEASE); }
    /* A pooled mapping of at least cap bytes, trimmed to exactly cap, or NULL. */
    static void* samsyn_pool_take(size_t cap) {
        void* p = NULL; size_t have = 0; int best = -1, i;
        samsyn_pool_acquire();
        for (i = 0; i < samsyn_pool_n; i++)
            if (samsyn_pool_cap[i] >= cap && (best < 0 || samsyn_pool_cap[i] < samsyn_pool_cap[best]))
                best = i;
        if (best >= 0) {
            p = samsyn_pool_p[best]; have = samsyn_pool_cap[best];
            samsyn_pool_n--;
            samsyn_pool_p[best] = samsyn_pool_p[samsyn_pool_n];
            samsyn_pool_cap[best] = samsyn_pool_cap[samsyn_pool_n];
            samsyn_pool_bytes -= have;
        }
        samsyn_pool_release();
        if (p != NULL && have > cap) munmap((char*)p + cap, have - cap);
        return p;
    }
    /* Keep the mapping for reuse; 0 when the pool is full (the caller unmaps). */
    static int samsyn_pool_put(void* p, size_t cap) {
        int ok = 0;
        samsyn_pool_acquire();
        if (samsyn_pool_n < SAMSYN_POOL_SLOTS && samsyn_pool_bytes + cap <= samsyn_pool_limit) {
            samsyn_pool_p[samsyn_pool_n] = p; samsyn_pool_cap[samsyn_pool_n] = cap;
            samsyn_pool_n++; samsyn_pool_bytes += cap; ok = 1;
        }
        samsyn_pool_release();
        return ok;
    }
    /* Set the byte limit and unmap what no longer fits; returns the bytes still pooled. */
    static size_t samsyn_pool_set_limit(size_t limit) {
        size_t left;
        samsyn_pool_acquire();
        samsyn_pool_limit = limit;
        while (samsyn_pool_n > 0 && samsyn_pool_bytes > limit) {
            samsyn_pool_n--;
            munmap(samsyn_pool_p[samsyn_pool_n], samsyn_pool_cap[samsyn_pool_n]);
            samsyn_pool_bytes -= samsyn_pool_cap[samsyn_pool_n];
        }
        left = samsyn_pool_bytes;
        samsyn_pool_release();
        return left;
    }
    """
    void* samsyn_pool_take(size_t cap) noexcept nogil
    int samsyn_pool_put(void* p, size_t cap) noexcept nogil
    size_t samsyn_pool_set_limit(size_t limit) noexcept nogil


cdef void* mem_resize(void* p, size_t old_cap, size_t new_cap) noexcept nogil:
    cdef void* r
    new_cap = mem_capacity(new_cap)
    if new_cap < (1 << 20):
        return realloc(p, new_cap if new_cap else 1)
    if old_cap >= (1 << 20):
        r = mremap(p, old_cap, new_cap, MREMAP_MAYMOVE)
        if r == MAP_FAILED:
            return NULL
        return r
    r = samsyn_pool_take(new_cap)
    if r == NULL:
        r = mmap(NULL, new_cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if r == MAP_FAILED:
            return NULL
    if p != NULL:
        memcpy(r, p, old_cap)
        free(p)
    return r


cdef void mem_free(void* p, size_t cap) noexcept nogil:
    if p == NULL:
        return
    if cap >= (1 << 20):
        if not samsyn_pool_put(p, cap):
            munmap(p, cap)
    else:
        free(p)


cdef void mem_free_unpooled(void* p, size_t cap) noexcept nogil:
    if p == NULL:
        return
    if cap >= (1 << 20):
        munmap(p, cap)
    else:
        free(p)


cdef class _Owner:
    """Owns one mem_resize'd block and lends it to numpy through the buffer protocol."""
    cdef void* ptr
    cdef Py_ssize_t nbytes
    cdef size_t cap
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]

    def __dealloc__(self):
        mem_free(self.ptr, self.cap)

    def __getbuffer__(self, Py_buffer* view, int flags):
        self.shape[0] = self.nbytes
        self.strides[0] = 1
        view.buf = self.ptr
        view.obj = self
        view.len = self.nbytes
        view.readonly = 0
        view.itemsize = 1
        view.format = "B"
        view.ndim = 1
        view.shape = self.shape
        view.strides = self.strides
        view.suboffsets = NULL
        view.internal = NULL

    def __releasebuffer__(self, Py_buffer* view):
        pass


cdef object to_numpy(void** pp, Py_ssize_t nbytes, size_t cap, object dtype):
    cdef _Owner o = _Owner.__new__(_Owner)
    cdef void* p = pp[0]
    if p == NULL or nbytes == 0:
        mem_free(p, cap)
        pp[0] = NULL
        return np.zeros(0, dtype=dtype)
    o.ptr = p
    o.cap = cap
    o.nbytes = nbytes
    pp[0] = NULL
    return np.frombuffer(o, dtype=dtype)


def set_pool_limit(size_t limit):
    """Bytes of freed big buffers the process keeps for reuse (default 256 MiB; 0 frees them
    all). Returns the bytes still pooled."""
    return samsyn_pool_set_limit(limit)
