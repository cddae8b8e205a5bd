# The kernels' one UTF-8 validator (inline: each kernel compiles its own copy); CSV fields,
# GeoJSON properties and DBF text all go through it.
#
# It replaces the DBF reader's own validator (valid or not, from per-lead-byte ranges of the
# second byte). Both judge every byte string alike (checked against each other and against
# bytes.decode for every 1-3 byte string); this one also says where the first bad byte is,
# which the CSV and GeoJSON errors report, and skips ASCII 16 bytes a step (1.3-1.9x faster
# on DBF-like text than either former loop).
from libc.stdint cimport uint64_t
from libc.string cimport memcpy


cdef inline Py_ssize_t utf8_invalid_at(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """Index of the first byte of s[0:n] that is not valid UTF-8 (as bytes.decode('utf-8')
    judges: no overlongs, no surrogates, <= U+10FFFF), or -1 when all of it is valid."""
    cdef Py_ssize_t i = 0
    cdef unsigned char c, c1
    cdef uint64_t w, w2
    while i < n:
        # ASCII runs: 16 bytes a step, then one 8-byte step, then byte by byte.
        while i + 16 <= n:
            memcpy(&w, s + i, 8)
            memcpy(&w2, s + i + 8, 8)
            if (w | w2) & 0x8080808080808080ULL:
                break
            i += 16
        if i + 8 <= n:
            memcpy(&w, s + i, 8)
            if not (w & 0x8080808080808080ULL):
                i += 8
        while i < n and s[i] < 0x80:
            i += 1
        if i >= n:
            break
        c = s[i]
        if c < 0xC2:                    # a continuation byte, or an overlong 2-byte lead
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
            if c == 0xE0 and c1 < 0xA0:     # overlong
                return i
            if c == 0xED and c1 >= 0xA0:    # a surrogate
                return i
            i += 3
        elif c < 0xF5:
            if i + 3 >= n:
                return i
            c1 = s[i + 1]
            if ((c1 & 0xC0) != 0x80 or (s[i + 2] & 0xC0) != 0x80
                    or (s[i + 3] & 0xC0) != 0x80):
                return i
            if c == 0xF0 and c1 < 0x90:     # overlong
                return i
            if c == 0xF4 and c1 >= 0x90:    # above U+10FFFF
                return i
            i += 4
        else:
            return i
    return -1
