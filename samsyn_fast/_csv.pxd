# Text-kernel helpers shared by _csv and _geojson (inline, so each module compiles its own copy):
# a correctly rounded decimal parser and a strict UTF-8 validator.
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

cdef extern from "<locale.h>" nogil:
    ctypedef void* locale_t
    locale_t newlocale(int category_mask, const char* locale, locale_t base)
    int LC_ALL_MASK

cdef extern from "<stdlib.h>" nogil:
    # glibc: strtod with an explicit locale, so a process-wide setlocale() never changes '.'.
    double strtod_l(const char* nptr, char** endptr, locale_t loc)

cdef extern from *:
    """
    static const double samsyn_pow10[23] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    """
    const double samsyn_pow10[23]


cdef inline int parse_decimal(const char* p, Py_ssize_t n, double* out,
                              locale_t c_locale) noexcept nogil:
    """Parse p[0:n] as [+-]?digits[.digits][(e|E)[+-]digits] (at least one mantissa digit).

    Returns 0 and sets *out on success, 1 when the text is outside that grammar (the caller
    falls back to Python's float() or reports an error), 2 when out of memory.
    The value is correctly rounded, so it equals Python's float() bit for bit: Clinger's fast
    path (an exact integer mantissa < 2**53 times/divided by an exact power of ten <= 1e22
    is one IEEE operation on exact operands) and glibc's strtod_l in the "C" locale otherwise.
    """
    cdef Py_ssize_t i = 0
    cdef bint neg = False
    cdef uint64_t m = 0
    cdef int nd = 0
    cdef bint inexact = False
    cdef bint any_digit = False
    cdef long exp_adj = 0
    cdef long e = 0
    cdef bint eneg = False
    cdef unsigned char c
    cdef long e10
    cdef double v
    cdef char stackbuf[128]
    cdef char* tmp
    cdef char* endp
    cdef Py_ssize_t first
    if n <= 0:
        return 1
    c = <unsigned char>p[0]
    if c == 43 or c == 45:  # '+' '-'
        neg = c == 45
        i = 1
    # Integer part: leading zeros first, so the digit loop needs no "still zero?" test.
    first = i
    while i < n and p[i] == 48:
        i += 1
    while i < n:
        c = <unsigned char>p[i] - 48
        if c > 9:
            break
        if nd < 19:
            m = m * 10 + c
            nd += 1
        else:
            exp_adj += 1
            inexact = True
        i += 1
    any_digit = i > first
    if i < n and p[i] == 46:  # '.'
        i += 1
        first = i
        if nd == 0:
            while i < n and p[i] == 48:
                exp_adj -= 1
                i += 1
        while i < n:
            c = <unsigned char>p[i] - 48
            if c > 9:
                break
            if nd < 19:
                m = m * 10 + c
                nd += 1
                exp_adj -= 1
            else:
                inexact = True
            i += 1
        if i > first:
            any_digit = True
    if not any_digit:
        return 1
    if i < n and (p[i] == 101 or p[i] == 69):  # 'e' 'E'
        i += 1
        if i < n and (p[i] == 43 or p[i] == 45):
            eneg = p[i] == 45
            i += 1
        if i >= n:
            return 1
        c = <unsigned char>p[i] - 48
        if c > 9:
            return 1
        while i < n:
            c = <unsigned char>p[i] - 48
            if c > 9:
                break
            if e < 100000000:
                e = e * 10 + c
            i += 1
    if i != n:
        return 1
    if m == 0:
        out[0] = -0.0 if neg else 0.0
        return 0
    e10 = exp_adj - e if eneg else exp_adj + e
    if not inexact and m <= 9007199254740992ULL and -22 <= e10 <= 22:
        v = <double>m
        if e10 >= 0:
            v = v * samsyn_pow10[e10]
        else:
            v = v / samsyn_pow10[-e10]
        out[0] = -v if neg else v
        return 0
    # Slow path: the grammar is already checked, so strtod_l reads exactly p[0:n].
    if n < 128:
        memcpy(stackbuf, p, n)
        stackbuf[n] = 0
        out[0] = strtod_l(stackbuf, &endp, c_locale)
        return 0
    tmp = <char*>malloc(n + 1)
    if tmp == NULL:
        return 2
    memcpy(tmp, p, n)
    tmp[n] = 0
    out[0] = strtod_l(tmp, &endp, c_locale)
    free(tmp)
    return 0


cdef inline Py_ssize_t utf8_invalid_at(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """Index of the first byte of s[0:n] that is not valid UTF-8 (as bytes.decode('utf-8')
    judges: no overlongs, no surrogates, <= U+10FFFF), or -1 when all of it is valid."""
    cdef Py_ssize_t i = 0
    cdef unsigned char c, c1
    cdef uint64_t w
    while i < n:
        # ASCII runs eight bytes at a time.
        while i + 8 <= n:
            memcpy(&w, s + i, 8)
            if w & 0x8080808080808080ULL:
                break
            i += 8
        if i >= n:
            break
        c = s[i]
        if c < 0x80:
            i += 1
        elif c < 0xC2:
            return i
        elif c < 0xE0:
            if i + 1 >= n or (s[i + 1] & 0xC0) != 0x80:
                return i
            i += 2
        elif c < 0xF0:
            if i + 2 >= n:
                return i
            c1 = s[i + 1]
            if (c1 & 0xC0) != 0x80 or (s[i + 2] & 0xC0) != 0x80:
                return i
            if c == 0xE0 and c1 < 0xA0:
                return i
            if c == 0xED and c1 >= 0xA0:
                return i
            i += 3
        elif c < 0xF5:
            if i + 3 >= n:
                return i
            c1 = s[i + 1]
            if ((c1 & 0xC0) != 0x80 or (s[i + 2] & 0xC0) != 0x80
                    or (s[i + 3] & 0xC0) != 0x80):
                return i
            if c == 0xF0 and c1 < 0x90:
                return i
            if c == 0xF4 and c1 >= 0x90:
                return i
            i += 4
        else:
            return i
    return -1


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

from libc.stdlib cimport realloc


cdef inline size_t mem_capacity(size_t need) noexcept nogil:
    """The capacity mem_resize will really give for `need` bytes."""
    if need < (1 << 20):
        return need
    return (need + (2 << 20) - 1) & ~(<size_t>(2 << 20) - 1)


cdef extern from *:
    """
    /* A small per-module pool of freed big mappings (already faulted in): the next parse reuses
       them instead of taking ~30k page faults per 100 MB again. Bounded; a spinlock guards it
       because both parse threads allocate. */
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


cdef inline void* mem_resize(void* p, size_t old_cap, size_t new_cap) noexcept nogil:
    """Grow p (capacity old_cap, NULL when 0) to capacity mem_capacity(new_cap); NULL on failure
    (p is then still valid). Contents beyond old_cap are undefined (not zeroed)."""
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


cdef inline void mem_free(void* p, size_t cap) noexcept nogil:
    if p == NULL:
        return
    if cap >= (1 << 20):
        if not samsyn_pool_put(p, cap):
            munmap(p, cap)
    else:
        free(p)
