# The kernels' one decimal parser (inline: each kernel compiles its own copy). CSV and GeoJSON
# coordinates, DBF N/F fields and jsonb numbers all read their numbers with it.
#
# The value is correctly rounded, so it equals Python's float() bit for bit, and it does not
# depend on the process locale: Clinger's fast path (an exact integer mantissa <= 2**53 times
# or divided by an exact power of ten <= 1e22 is one IEEE operation on exact operands), else
# glibc's strtod_l in the "C" locale (a process-wide setlocale() never changes '.').
#
# scan_decimal reads the number and leaves what may follow it to the caller (the DBF reader
# allows blanks, CSV and JSON nothing). It merges the CSV/GeoJSON parser and the DBF reader's
# own one, which gave the same values (both correctly rounded; checked against each other and
# float() on 1.2M random texts) but differed in speed and in one respect:
# - the DBF loop is kept: digits accumulate unchecked and are counted afterwards (leading
#   zeros included), where the CSV loop skipped leading zeros and tested "19 digits yet?" on
#   every digit. 15% fewer instructions for CSV coordinates; a value with more than 19 digits
#   (leading zeros included) takes strtod_l, which rounds it just as well.
# - the DBF parser called strtod, which follows setlocale(): a process that set a ',' locale
#   read "1.5" as 1. strtod_l in the "C" locale is kept.
from libc.stdint cimport uint64_t

cdef extern from *:
    """
    #include <locale.h>
    #include <stdlib.h>
    #include <string.h>

    static const double samsyn_pow10[23] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

    /* The "C" locale for strtod_l, made on first use; two parse threads may race to make it,
       the loser frees its copy. NULL only when newlocale() fails (out of memory). */
    static locale_t samsyn_c_locale_obj = (locale_t)0;
    static locale_t samsyn_c_locale(void) {
        locale_t loc = __atomic_load_n(&samsyn_c_locale_obj, __ATOMIC_ACQUIRE);
        locale_t expected = (locale_t)0;
        if (loc) return loc;
        loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (!loc) return loc;
        if (!__atomic_compare_exchange_n(&samsyn_c_locale_obj, &expected, loc, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            freelocale(loc);
            loc = expected;
        }
        return loc;
    }

    /* strtod_l in the "C" locale over exactly p[0:n] (copied to add the NUL): 0, or -1 when
       out of memory. */
    static __attribute__((noinline, cold)) int samsyn_strtod_c(const char* p, Py_ssize_t n,
                                                              double* out) {
        char stackbuf[128];
        char* tmp = stackbuf;
        char* endp;
        locale_t loc = samsyn_c_locale();
        if (!loc) return -1;
        if (n >= (Py_ssize_t)sizeof stackbuf) {
            tmp = (char*)malloc((size_t)n + 1);
            if (!tmp) return -1;
        }
        memcpy(tmp, p, (size_t)n);
        tmp[n] = 0;
        *out = strtod_l(tmp, &endp, loc);
        if (tmp != stackbuf) free(tmp);
        return 0;
    }
    """
    const double samsyn_pow10[23]
    int samsyn_strtod_c(const char* p, Py_ssize_t n, double* out) noexcept nogil


# What scan_decimal read: when ndigits <= 19, value == +-digits * 10**(exp - nfrac) exactly.
cdef struct Decimal:
    uint64_t digits     # the mantissa's digits as an integer (it wraps past 19 of them)
    Py_ssize_t ndigits  # digits in the mantissa, leading zeros included
    Py_ssize_t nfrac    # of which after the '.'
    long exp            # the exponent, capped at +-1e8
    bint neg
    bint integer        # neither a '.' nor an exponent


cdef inline Py_ssize_t _mantissa_digits(const char* p, Py_ssize_t i, Py_ssize_t n,
                                        uint64_t* m) noexcept nogil:
    """Accumulate the digits at p[i:n] into *m (the integer and the fraction part alike);
    the index after the last digit."""
    cdef unsigned char c
    while i < n:
        c = <unsigned char>p[i] - 48
        if c > 9:
            break
        m[0] = m[0] * 10 + c
        i += 1
    return i


cdef inline Py_ssize_t scan_decimal(const char* p, Py_ssize_t n, Decimal* d) noexcept nogil:
    """Read [+-]?digits[.digits][(e|E)[+-]digits] (at least one mantissa digit) at p[0:n].

    Returns the number of bytes read (what may follow is the caller's grammar), or -1 when no
    number starts at p or an exponent marker has no digits.
    """
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t start
    cdef unsigned char c
    cdef uint64_t m = 0
    cdef Py_ssize_t nd
    cdef Py_ssize_t frac = 0
    cdef long e = 0
    cdef bint eneg = False
    cdef bint neg = False
    cdef bint integer = True
    if n <= 0:
        return -1
    c = <unsigned char>p[0]
    if c == 43 or c == 45:  # '+' '-'
        neg = c == 45
        i = 1
    # Digits accumulate unchecked: past 19 of them (leading zeros count) m may wrap, and the
    # value then comes from strtod_l.
    start = i
    i = _mantissa_digits(p, i, n, &m)
    nd = i - start
    if i < n and p[i] == 46:  # '.'
        integer = False
        i += 1
        start = i
        i = _mantissa_digits(p, i, n, &m)
        frac = i - start
        nd += frac
    if nd == 0:
        return -1
    if i < n and (p[i] == 101 or p[i] == 69):  # 'e' 'E'
        integer = False
        i += 1
        if i < n and (p[i] == 43 or p[i] == 45):
            eneg = p[i] == 45
            i += 1
        if i >= n:
            return -1
        c = <unsigned char>p[i] - 48    # wraps below '0' too: c is unsigned char
        if c > 9:
            return -1
        while i < n:
            c = <unsigned char>p[i] - 48
            if c > 9:
                break
            if e < 100000000:
                e = e * 10 + c
            i += 1
    d.neg = neg
    d.integer = integer
    d.digits = m
    d.ndigits = nd
    d.nfrac = frac
    d.exp = -e if eneg else e
    return i


cdef inline int decimal_value(const char* p, Py_ssize_t n, const Decimal* d,
                              double* out) noexcept nogil:
    """Set *out to the double nearest to the number scan_decimal read from p[0:n] (n is what
    it returned); 0, or 2 when out of memory."""
    cdef double v
    cdef Py_ssize_t e10 = d.exp - d.nfrac
    # Zero takes this path too (digits 0: +-0.0), unless its exponent is out of range.
    if d.ndigits <= 19 and d.digits <= 9007199254740992ULL and -22 <= e10 <= 22:
        v = <double>d.digits
        if e10 >= 0:
            v = v * samsyn_pow10[e10]
        else:
            v = v / samsyn_pow10[-e10]
        out[0] = -v if d.neg else v
        return 0
    # The grammar is already checked, so strtod_l reads exactly p[0:n].
    if samsyn_strtod_c(p, n, out) != 0:
        return 2
    return 0


cdef inline int parse_decimal(const char* p, Py_ssize_t n, double* out) noexcept nogil:
    """Parse all of p[0:n] as [+-]?digits[.digits][(e|E)[+-]digits] (at least one mantissa digit).

    Returns 0 and sets *out on success, 1 when the text is outside that grammar (the caller
    falls back to Python's float() or reports an error), 2 when out of memory.
    """
    cdef Decimal d
    if n <= 0 or scan_decimal(p, n, &d) != n:
        return 1
    return decimal_value(p, n, &d, out)
