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
    if n <= 0:
        return 1
    c = <unsigned char>p[0]
    if c == 43 or c == 45:  # '+' '-'
        neg = c == 45
        i = 1
    while i < n:
        c = <unsigned char>p[i] - 48
        if c > 9:
            break
        any_digit = True
        if m == 0 and c == 0:
            pass
        elif nd < 19:
            m = m * 10 + c
            nd += 1
        else:
            exp_adj += 1
            inexact = True
        i += 1
    if i < n and p[i] == 46:  # '.'
        i += 1
        while i < n:
            c = <unsigned char>p[i] - 48
            if c > 9:
                break
            any_digit = True
            if m == 0 and c == 0:
                exp_adj -= 1
            elif nd < 19:
                m = m * 10 + c
                nd += 1
                exp_adj -= 1
            else:
                inexact = True
            i += 1
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


# Big output buffers come straight from mmap with transparent huge pages requested: the
# outputs are tens of MB of fresh memory, and 4 KiB page faults (taken by two threads at once)
# cost more than the tokenizing. Small ones use malloc. Capacities must be passed back exactly.
cdef extern from "<sys/mman.h>" nogil:
    void* mmap(void* addr, size_t length, int prot, int flags, int fd, long offset)
    int munmap(void* addr, size_t length)
    void* mremap(void* old_address, size_t old_size, size_t new_size, int flags, ...)
    int madvise(void* addr, size_t length, int advice)
    int PROT_READ
    int PROT_WRITE
    int MAP_PRIVATE
    int MAP_ANONYMOUS
    int MREMAP_MAYMOVE
    int MADV_HUGEPAGE
    void* MAP_FAILED

from libc.stdlib cimport realloc


cdef inline size_t mem_capacity(size_t need) noexcept nogil:
    """The capacity mem_resize will really give for `need` bytes."""
    if need < (1 << 20):
        return need
    return (need + (2 << 20) - 1) & ~(<size_t>(2 << 20) - 1)


cdef inline void* mem_resize(void* p, size_t old_cap, size_t new_cap) noexcept nogil:
    """Grow p (capacity old_cap, NULL when 0) to capacity mem_capacity(new_cap); NULL on failure
    (p is then still valid)."""
    cdef void* r
    new_cap = mem_capacity(new_cap)
    if new_cap < (1 << 20):
        return realloc(p, new_cap if new_cap else 1)
    if old_cap >= (1 << 20):
        r = mremap(p, old_cap, new_cap, MREMAP_MAYMOVE)
        if r == MAP_FAILED:
            return NULL
        madvise(r, new_cap, MADV_HUGEPAGE)
        return r
    r = mmap(NULL, new_cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if r == MAP_FAILED:
        return NULL
    madvise(r, new_cap, MADV_HUGEPAGE)
    if p != NULL:
        memcpy(r, p, old_cap)
        free(p)
    return r


cdef inline void mem_free(void* p, size_t cap) noexcept nogil:
    if p == NULL:
        return
    if cap >= (1 << 20):
        munmap(p, cap)
    else:
        free(p)
