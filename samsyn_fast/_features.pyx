# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""GeoJSON FeatureCollection bytes straight from a PostgreSQL binary COPY stream.

Input rows (COPY ... TO STDOUT (FORMAT binary)): int8 id, geometry (EWKB), jsonb properties,
text geometry_type, int8 source_id. Output: the bytes the legacy API rendered for them:

    {"type":"FeatureCollection","features":[{"type":"Feature","id":<id>,
     "geometry":<ST_AsGeoJSON(geom)>,"properties":<properties || {geometry_type, source_id}>},...]}

where the legacy parsed PostGIS's GeoJSON and the jsonb text with Python's json module and
re-rendered them with DRF (compact separators, floats as Python repr). So coordinates are
printed as PostGIS 3.3 prints them (shortest digits, at most 9 decimals, exponent form below
1e-8 and from 1e15) and then as Python prints the float it parsed from that text; jsonb numbers
likewise; the two merged keys are inserted in jsonb key order (shorter keys first, then
bytewise) and override same-named keys.

One nogil pass over the stream writes into one growing buffer; no Python object per feature.
"""
from libc.math cimport fabs, isfinite, isnan, nearbyint
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdio cimport snprintf
from libc.stdlib cimport free, malloc, realloc, strtod
from libc.string cimport memcmp, memcpy, strlen
from cpython.bytes cimport PyBytes_FromStringAndSize

from samsyn_fast._status cimport Status

cdef enum:
    KEY_ESCAPE = 100          # a top-level jsonb key with an escape: caller takes the slow path
    NOT_AN_OBJECT = 101       # properties are not a JSON object: caller takes the slow path
    MAX_DEPTH = 64            # geometry collections nested deeper are rejected

cdef struct Buffer:
    char* data
    Py_ssize_t length
    Py_ssize_t capacity
    bint failed          # sticky: an allocation failed (checked once per feature)

cdef struct Reader:
    const uint8_t* data
    Py_ssize_t length
    Py_ssize_t pos


cdef inline Status reserve(Buffer* out, Py_ssize_t extra) noexcept nogil:
    cdef Py_ssize_t need = out.length + extra
    cdef Py_ssize_t cap
    cdef char* grown
    if need <= out.capacity:
        return Status.OK
    cap = out.capacity * 2 if out.capacity else (65536 if extra > 64 else 256)
    while cap < need:
        cap *= 2
    if out.failed:
        return Status.NO_MEMORY
    grown = <char*>realloc(out.data, cap)
    if grown == NULL:
        out.failed = True
        return Status.NO_MEMORY
    out.data = grown
    out.capacity = cap
    return Status.OK


cdef inline Status put(Buffer* out, const char* text, Py_ssize_t n) noexcept nogil:
    if reserve(out, n) != Status.OK:
        return Status.NO_MEMORY
    memcpy(out.data + out.length, text, n)
    out.length += n
    return Status.OK


cdef inline Status put_str(Buffer* out, const char* text) noexcept nogil:
    return put(out, text, <Py_ssize_t>strlen(text))


cdef inline Status put_int(Buffer* out, int64_t value) noexcept nogil:
    cdef char tmp[32]
    cdef int n = snprintf(tmp, 32, "%lld", <long long>value)
    return put(out, tmp, n)


# ------------------------------------------------------------------ number formatting

cdef bint bump_last_digit(char* text) noexcept nogil:
    """Add one unit in the last mantissa digit of "d.ddde+XX" in place; False on a carry out
    of the leading digit (the neighbour then has another exponent: not a candidate)."""
    cdef int i = 0
    while text[i] != b'e':
        i += 1
    i -= 1
    while i >= 0:
        if text[i] == b'.':
            i -= 1
            continue
        if text[i] == b'9':
            text[i] = b'0'
            i -= 1
            continue
        text[i] += 1
        return True
    return False


cdef int shortest_digits(double x, char* digits, int* decpt) noexcept nogil:
    """Shortest round-trip decimal digits of |x| (x finite, non-zero), as Python's repr finds
    them: value = 0.DIGITS x 10**decpt. Returns the number of digits.

    The digits rounded to 15, 16 or 17 significant places that first read back as x are the
    shortest ones (correct rounding to 15 digits can only produce the shortest string when one
    of at most 15 digits exists, since a double's half-ulp is below 0.5e-15 relative).
    """
    cdef char tmp[40]
    cdef int p, n, i, exp10, first = 15
    cdef char* end
    if fabs(x) < 2.2250738585072014e-308:
        first = 1  # subnormals carry fewer digits: search from one digit up
    for p in range(first, 18):
        snprintf(tmp, 40, "%.*e", p - 1, fabs(x))
        if p == 17 or strtod(tmp, NULL) == fabs(x):
            break
        # Just above a power of two the doubles below are twice as dense: the correctly
        # rounded p digits may miss x while their upper neighbour reads back as x (2**-24:
        # 5.960464477539063e-08, not ...062).
        if strtod(tmp, NULL) < fabs(x) and bump_last_digit(tmp) and strtod(tmp, NULL) == fabs(x):
            break
    # tmp: d.dddde[+-]XX
    n = 0
    digits[n] = tmp[0]
    n += 1
    i = 2 if tmp[1] == b'.' else 1
    while tmp[i] != b'e':
        digits[n] = tmp[i]
        n += 1
        i += 1
    exp10 = <int>strtod(tmp + i + 1, &end)
    while n > 1 and digits[n - 1] == b'0':
        n -= 1
    decpt[0] = exp10 + 1
    return n


cdef int round_digits(char* digits, int n, int keep, int* decpt) noexcept nogil:
    """Round a digit string to `keep` digits, half to even (as PostGIS's ryu printing does on
    the shortest digits); may carry into a new leading digit. Returns the new length."""
    cdef int i, carry
    cdef bint up
    if keep >= n:
        return n
    if keep < 0:
        return 0
    if digits[keep] > b'5':
        up = True
    elif digits[keep] < b'5':
        up = False
    else:
        up = False
        for i in range(keep + 1, n):
            if digits[i] != b'0':
                up = True
                break
        if not up:  # exactly half: to even
            up = keep > 0 and (digits[keep - 1] - 48) % 2 == 1
    n = keep
    if up:
        i = n - 1
        carry = 1
        while i >= 0 and carry:
            if digits[i] == b'9':
                digits[i] = b'0'
                i -= 1
            else:
                digits[i] += 1
                carry = 0
        if carry:
            for i in range(n, 0, -1):
                digits[i] = digits[i - 1]
            digits[0] = b'1'
            n += 1
            decpt[0] += 1
    while n > 1 and digits[n - 1] == b'0':
        n -= 1
    if n == 1 and digits[0] == b'0':
        return 0
    return n


cdef Status put_python_float(Buffer* out, bint negative, const char* digits, int n,
                             int decpt) noexcept nogil:
    """Python's repr(float) from shortest digits: fixed notation when -4 < decpt <= 16
    (with '.0' for integral values), else d.ddde+XX with at least two exponent digits."""
    cdef char tmp[64]
    cdef int k = 0, i, e
    if negative:
        tmp[k] = b'-'
        k += 1
    if -4 < decpt <= 16:
        if decpt <= 0:
            tmp[k] = b'0'
            tmp[k + 1] = b'.'
            k += 2
            for i in range(-decpt):
                tmp[k] = b'0'
                k += 1
            for i in range(n):
                tmp[k] = digits[i]
                k += 1
        else:
            for i in range(decpt):
                tmp[k] = digits[i] if i < n else b'0'
                k += 1
            tmp[k] = b'.'
            k += 1
            if n > decpt:
                for i in range(decpt, n):
                    tmp[k] = digits[i]
                    k += 1
            else:
                tmp[k] = b'0'
                k += 1
    else:
        tmp[k] = digits[0]
        k += 1
        if n > 1:
            tmp[k] = b'.'
            k += 1
            for i in range(1, n):
                tmp[k] = digits[i]
                k += 1
        e = decpt - 1
        k += snprintf(tmp + k, 64 - k, "e%c%02d", <int>(45 if e < 0 else 43),  # '-' / '+'
                      e if e >= 0 else -e)
    return put(out, tmp, k)


cdef int few_decimals(double x, char* digits, int* decpt) noexcept nogil:
    """The fast path for ordinates whose shortest decimal has at most nine decimals (nearly
    all real data): the first d with m = round(x * 10**d) and m / 10**d == x gives the fewest
    decimals, hence the shortest digits, which PostGIS prints unrounded. Returns the digit
    count (0 when no such d exists: the caller takes the general path)."""
    cdef double scale = 1.0, m
    cdef int d, n, k
    cdef uint64_t v
    cdef char tmp[24]
    for d in range(10):
        m = nearbyint(x * scale)
        if fabs(m) < 9007199254740992.0 and m / scale == x:
            v = <uint64_t>fabs(m)
            n = 0
            while v:
                tmp[n] = <char>(48 + v % 10)
                v //= 10
                n += 1
            for k in range(n):
                digits[k] = tmp[n - 1 - k]
            decpt[0] = n - d
            while n > 1 and digits[n - 1] == b'0':
                n -= 1
            return n
        scale *= 10.0
    return 0


cdef Status put_coordinate(Buffer* out, double x) noexcept nogil:
    """One ordinate as the legacy rendered it: PostGIS 3.3 ST_AsGeoJSON text, parsed and
    re-printed by Python's json."""
    cdef char digits[40]
    cdef char printed[64]
    cdef int n, decpt, keep, k, i
    cdef double ax = fabs(x)
    cdef double y
    cdef bint exponent_form
    if x == 0.0:
        return put(out, "0", 1)     # PostGIS prints 0 (also for -0): Python's int 0
    if 1e-8 < ax < 1e15:
        n = few_decimals(x, digits, &decpt)
        if n > 0:
            if n <= decpt:          # integral: PostGIS printed an int literal
                if x < 0 and put(out, "-", 1) != Status.OK:
                    return Status.NO_MEMORY
                if put(out, digits, n) != Status.OK:
                    return Status.NO_MEMORY
                for i in range(decpt - n):
                    if put(out, "0", 1) != Status.OK:
                        return Status.NO_MEMORY
                return Status.OK
            return put_python_float(out, x < 0, digits, n, decpt)
    n = shortest_digits(x, digits, &decpt)
    exponent_form = ax <= 1e-8 or ax >= 1e15
    if exponent_form:
        keep = 10                    # d.ddddddddd: nine mantissa decimals
    else:
        keep = decpt + 9             # at most nine decimals
    n = round_digits(digits, n, keep, &decpt)
    if n == 0:
        return put(out, "0", 1)
    if decpt > 300 and not isfinite(strtod_digits(digits, n, decpt)):
        # PostGIS's 10 digits overflow a double: the legacy's json.loads read inf and DRF
        # refused to render it (a 500); say so clearly instead.
        return Status.OUT_OF_RANGE
    if not exponent_form and n <= decpt:
        # PostGIS printed an integer literal: Python read an int.
        if x < 0:
            if put(out, "-", 1) != Status.OK:
                return Status.NO_MEMORY
        if put(out, digits, n) != Status.OK:
            return Status.NO_MEMORY
        for i in range(decpt - n):
            if put(out, "0", 1) != Status.OK:
                return Status.NO_MEMORY
        return Status.OK
    # Python parsed a float from PostGIS's digits: print repr() of that float.
    k = 0
    for i in range(n):
        printed[k] = digits[i]
        k += 1
    printed[k] = 0
    if n >= 16 or decpt < -306:
        # Up to 16 significant digits can survive PostGIS's rounding, and subnormals carry
        # fewer than 15: the float Python parsed from that text may have a shorter repr.
        y = strtod_digits(digits, n, decpt)
        n = shortest_digits(y, digits, &decpt)
    return put_python_float(out, x < 0, digits, n, decpt)


cdef double strtod_digits(const char* digits, int n, int decpt) noexcept nogil:
    cdef char tmp[64]
    cdef int k = 0, i
    tmp[k] = b'0'
    tmp[k + 1] = b'.'
    k = 2
    for i in range(n):
        tmp[k] = digits[i]
        k += 1
    k += snprintf(tmp + k, 64 - k, "e%d", decpt)
    return strtod(tmp, NULL)


cdef Status put_json_number(Buffer* out, const char* text, Py_ssize_t n) noexcept nogil:
    """A jsonb number as Python's json re-rendered it: integers verbatim, anything with a
    fraction or an exponent as repr(float(text))."""
    cdef char tmp[512]
    cdef char digits[40]
    cdef int nd, decpt
    cdef Py_ssize_t i
    cdef bint is_float = False
    cdef double value
    for i in range(n):
        if text[i] == b'.' or text[i] == b'e' or text[i] == b'E':
            is_float = True
            break
    if not is_float:
        return put(out, text, n)
    if n >= 511:
        return Status.BAD_NUMBER
    memcpy(tmp, text, n)
    tmp[n] = 0
    value = strtod(tmp, NULL)
    if not isfinite(value):
        return Status.BAD_NUMBER      # Python would print Infinity: DRF refused (strict JSON)
    if value == 0.0:
        return put(out, "-0.0" if tmp[0] == b'-' else "0.0", 4 if tmp[0] == b'-' else 3)
    nd = shortest_digits(value, digits, &decpt)
    return put_python_float(out, value < 0, digits, nd, decpt)


# ------------------------------------------------------------------ jsonb text

cdef Py_ssize_t skip_ws(const uint8_t* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    while i < n and (s[i] == b' ' or s[i] == b'\n' or s[i] == b'\t' or s[i] == b'\r'):
        i += 1
    return i


cdef Py_ssize_t string_end(const uint8_t* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Index just past the closing quote of the string starting at s[i] == '"'; -1 if none."""
    i += 1
    while i < n:
        if s[i] == b'\\':
            i += 2
            continue
        if s[i] == b'"':
            return i + 1
        i += 1
    return -1


cdef Status put_compact(Buffer* out, const uint8_t* s, Py_ssize_t i,
                        Py_ssize_t n) noexcept nogil:
    """Copy valid JSON text s[i:n] without white space, numbers as Python printed them.

    jsonb text is valid JSON, so a token scan is enough: strings verbatim (PostgreSQL and
    Python escape the same characters the same way), white space dropped, numbers normalised.
    """
    cdef Py_ssize_t start, end
    cdef Status st = Status.OK
    while i < n:
        if s[i] == b'"':
            end = string_end(s, i, n)
            if end < 0:
                return Status.BAD_RECORD
            st = put(out, <const char*>s + i, end - i)
            i = end
        elif s[i] == b' ' or s[i] == b'\n' or s[i] == b'\t' or s[i] == b'\r':
            i += 1
            continue
        elif s[i] == b'-' or (s[i] >= b'0' and s[i] <= b'9'):
            start = i
            while i < n and (s[i] == b'-' or s[i] == b'+' or s[i] == b'.' or s[i] == b'e'
                             or s[i] == b'E' or (s[i] >= b'0' and s[i] <= b'9')):
                i += 1
            st = put_json_number(out, <const char*>s + start, i - start)
        else:
            st = put(out, <const char*>s + i, 1)
            i += 1
        if st != Status.OK:
            return st
    return Status.OK


cdef Py_ssize_t value_end(const uint8_t* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Index just past the JSON value starting at s[i] (valid JSON assumed); -1 if cut."""
    cdef int depth = 0
    cdef Py_ssize_t end
    while i < n:
        if s[i] == b'"':
            end = string_end(s, i, n)
            if end < 0:
                return -1
            i = end
            if depth == 0:
                return i
            continue
        if s[i] == b'{' or s[i] == b'[':
            depth += 1
        elif s[i] == b'}' or s[i] == b']':
            depth -= 1
            if depth == 0:
                return i + 1
            if depth < 0:
                return i
        elif depth == 0 and (s[i] == b',' or s[i] == b' '):
            return i
        i += 1
    return i if depth == 0 else -1


cdef inline int key_order(const uint8_t* a, Py_ssize_t alen, const char* b,
                          Py_ssize_t blen) noexcept nogil:
    """jsonb's key order: shorter first, then bytewise."""
    if alen != blen:
        return -1 if alen < blen else 1
    return memcmp(a, b, alen)


cdef Status put_json_string(Buffer* out, const uint8_t* text, Py_ssize_t n) noexcept nogil:
    """A JSON string as Python's json.dumps(ensure_ascii=False) writes it."""
    cdef Py_ssize_t i
    cdef char esc[8]
    cdef Status st = put(out, "\"", 1)
    for i in range(n):
        if text[i] == b'"':
            st = put(out, "\\\"", 2)
        elif text[i] == b'\\':
            st = put(out, "\\\\", 2)
        elif text[i] == b'\n':
            st = put(out, "\\n", 2)
        elif text[i] == b'\r':
            st = put(out, "\\r", 2)
        elif text[i] == b'\t':
            st = put(out, "\\t", 2)
        elif text[i] == 8:
            st = put(out, "\\b", 2)
        elif text[i] == 12:
            st = put(out, "\\f", 2)
        elif text[i] < 0x20:
            snprintf(esc, 8, "\\u%04x", text[i])
            st = put(out, esc, 6)
        else:
            st = put(out, <const char*>text + i, 1)
        if st != Status.OK:
            return st
    return put(out, "\"", 1)


cdef enum:
    MAX_MEMBERS = 4096


cdef Status put_merged_properties(Buffer* out, const uint8_t* s, Py_ssize_t n,
                                  const uint8_t* geometry_type, Py_ssize_t geometry_type_len,
                                  int64_t source_id,
                                  Py_ssize_t* key_start, Py_ssize_t* key_end,
                                  Py_ssize_t* val_start, Py_ssize_t* val_end) noexcept nogil:
    """`properties || {"geometry_type": ..., "source_id": ...}` rendered as the legacy did."""
    cdef Py_ssize_t i = skip_ws(s, 0, n), m = 0, k, end
    cdef bint wrote_type = False, wrote_id = False, first = True
    cdef Status st
    if i >= n or s[i] != b'{':
        return <Status>NOT_AN_OBJECT
    i = skip_ws(s, i + 1, n)
    while i < n and s[i] != b'}':
        if s[i] != b'"' or m >= MAX_MEMBERS:
            return Status.BAD_RECORD if s[i] != b'"' else <Status>KEY_ESCAPE
        end = string_end(s, i, n)
        if end < 0:
            return Status.BAD_RECORD
        for k in range(i + 1, end - 1):
            if s[k] == b'\\':
                return <Status>KEY_ESCAPE
        key_start[m] = i + 1
        key_end[m] = end - 1
        i = skip_ws(s, end, n)
        if i >= n or s[i] != b':':
            return Status.BAD_RECORD
        i = skip_ws(s, i + 1, n)
        val_start[m] = i
        end = value_end(s, i, n)
        if end < 0:
            return Status.BAD_RECORD
        val_end[m] = end
        m += 1
        i = skip_ws(s, end, n)
        if i < n and s[i] == b',':
            i = skip_ws(s, i + 1, n)
    st = put(out, "{", 1)
    for k in range(m + 1):
        # the merged keys go in before the first existing key that sorts after them
        if not wrote_id and (k == m or key_order(s + key_start[k], key_end[k] - key_start[k],
                                                  "source_id", 9) >= 0):
            if not first:
                st = put(out, ",", 1)
            st = put_str(out, "\"source_id\":")
            st = put_int(out, source_id)
            first = False
            wrote_id = True
        if not wrote_type and (k == m or key_order(s + key_start[k], key_end[k] - key_start[k],
                                                    "geometry_type", 13) >= 0):
            if not first:
                st = put(out, ",", 1)
            st = put_str(out, "\"geometry_type\":")
            st = put_json_string(out, geometry_type, geometry_type_len)
            first = False
            wrote_type = True
        if k == m:
            break
        if (key_end[k] - key_start[k] == 9 and memcmp(s + key_start[k], "source_id", 9) == 0) or (
                key_end[k] - key_start[k] == 13
                and memcmp(s + key_start[k], "geometry_type", 13) == 0):
            continue
        if not first:
            st = put(out, ",", 1)
        first = False
        st = put(out, <const char*>s + key_start[k] - 1, key_end[k] - key_start[k] + 2)
        st = put(out, ":", 1)
        st = put_compact(out, s, val_start[k], val_end[k])
        if st != Status.OK:
            return st
    return put(out, "}", 1)


# ------------------------------------------------------------------ EWKB -> GeoJSON geometry

cdef inline bint read_u32(Reader* r, bint little, uint32_t* value) noexcept nogil:
    cdef const uint8_t* p
    if r.pos + 4 > r.length:
        return False
    p = r.data + r.pos
    if little:
        value[0] = p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)
    else:
        value[0] = p[3] | (<uint32_t>p[2] << 8) | (<uint32_t>p[1] << 16) | (<uint32_t>p[0] << 24)
    r.pos += 4
    return True


cdef inline bint read_f64(Reader* r, bint little, double* value) noexcept nogil:
    cdef uint64_t bits = 0
    cdef const uint8_t* p
    cdef int k
    if r.pos + 8 > r.length:
        return False
    p = r.data + r.pos
    if little:
        for k in range(7, -1, -1):
            bits = (bits << 8) | p[k]
    else:
        for k in range(8):
            bits = (bits << 8) | p[k]
    memcpy(value, &bits, 8)
    r.pos += 8
    return True


cdef inline bint read_header(Reader* r, bint* little, uint32_t* kind, int* dims,
                             bint* z) noexcept nogil:
    """Byte order + (E)WKB type; skips an SRID. kind: 1..7; dims: 2, 3 (Z or M) or 4."""
    cdef uint32_t raw, srid
    cdef bint has_z, has_m
    if r.pos + 1 > r.length:
        return False
    little[0] = r.data[r.pos] == 1
    r.pos += 1
    if not read_u32(r, little[0], &raw):
        return False
    has_z = (raw & 0x80000000u) != 0
    has_m = (raw & 0x40000000u) != 0
    if raw & 0x20000000u:
        if not read_u32(r, little[0], &srid):
            return False
    raw &= 0x0FFFFFFFu
    if raw >= 3000:       # ISO WKB: 1000 Z, 2000 M, 3000 ZM
        has_z = has_m = True
        raw -= 3000
    elif raw >= 2000:
        has_m = True
        raw -= 2000
    elif raw >= 1000:
        has_z = True
        raw -= 1000
    kind[0] = raw
    dims[0] = 2 + has_z + has_m
    z[0] = has_z
    return True


cdef Status put_point(Buffer* out, Reader* r, bint little, int dims, bint has_z,
                      bint empty_as_brackets) noexcept nogil:
    """[x,y] or [x,y,z] (M dropped, as ST_AsGeoJSON does); NaN x/y is an empty point: []."""
    cdef double v[4]
    cdef int k
    cdef Status st
    for k in range(dims):
        if not read_f64(r, little, &v[k]):
            return Status.TRUNCATED
    if isnan(v[0]) and isnan(v[1]):
        return put(out, "[]", 2) if empty_as_brackets else Status.OK
    if not (isfinite(v[0]) and isfinite(v[1])):
        return Status.NAN_COORD
    if put(out, "[", 1) != Status.OK:
        return Status.NO_MEMORY
    st = put_coordinate(out, v[0])
    if st != Status.OK:
        return st
    if put(out, ",", 1) != Status.OK:
        return Status.NO_MEMORY
    st = put_coordinate(out, v[1])
    if st != Status.OK:
        return st
    if has_z:
        if put(out, ",", 1) != Status.OK:
            return Status.NO_MEMORY
        st = put_coordinate(out, v[2])
        if st != Status.OK:
            return st
    return put(out, "]", 1)


cdef Status put_points(Buffer* out, Reader* r, bint little, int dims, bint has_z) noexcept nogil:
    """A point array: [[x,y],...]."""
    cdef uint32_t count, k
    cdef Status st
    if not read_u32(r, little, &count):
        return Status.TRUNCATED
    if <Py_ssize_t>count * dims * 8 > r.length - r.pos:
        return Status.BAD_LENGTH
    st = put(out, "[", 1)
    for k in range(count):
        if k:
            st = put(out, ",", 1)
        st = put_point(out, r, little, dims, has_z, True)
        if st != Status.OK:
            return st
    return put(out, "]", 1)


cdef Status put_rings(Buffer* out, Reader* r, bint little, int dims, bint has_z) noexcept nogil:
    cdef uint32_t count, k
    cdef Status st
    if not read_u32(r, little, &count):
        return Status.TRUNCATED
    if <Py_ssize_t>count * 4 > r.length - r.pos:
        return Status.BAD_LENGTH
    st = put(out, "[", 1)
    for k in range(count):
        if k:
            st = put(out, ",", 1)
        st = put_points(out, r, little, dims, has_z)
        if st != Status.OK:
            return st
    return put(out, "]", 1)


cdef const char* TYPE_NAMES[8]
TYPE_NAMES[0] = ""
TYPE_NAMES[1] = "{\"type\":\"Point\",\"coordinates\":"
TYPE_NAMES[2] = "{\"type\":\"LineString\",\"coordinates\":"
TYPE_NAMES[3] = "{\"type\":\"Polygon\",\"coordinates\":"
TYPE_NAMES[4] = "{\"type\":\"MultiPoint\",\"coordinates\":"
TYPE_NAMES[5] = "{\"type\":\"MultiLineString\",\"coordinates\":"
TYPE_NAMES[6] = "{\"type\":\"MultiPolygon\",\"coordinates\":"
TYPE_NAMES[7] = "{\"type\":\"GeometryCollection\",\"geometries\":["


cdef Status put_simple(Buffer* out, Reader* r, bint little, uint32_t kind, int dims,
                       bint has_z) noexcept nogil:
    """Coordinates of a non-collection geometry (types 1-6); the header was read."""
    cdef uint32_t count, k, child_kind
    cdef bint child_little, child_z
    cdef int child_dims
    cdef Status st
    if kind == 1:
        return put_point(out, r, little, dims, has_z, True)
    if kind == 2:
        return put_points(out, r, little, dims, has_z)
    if kind == 3:
        return put_rings(out, r, little, dims, has_z)
    if not read_u32(r, little, &count):
        return Status.TRUNCATED
    if <Py_ssize_t>count * 5 > r.length - r.pos:
        return Status.BAD_LENGTH
    st = put(out, "[", 1)
    for k in range(count):
        if k:
            st = put(out, ",", 1)
        if not read_header(r, &child_little, &child_kind, &child_dims, &child_z):
            return Status.TRUNCATED
        if child_kind != kind - 3:
            return Status.BAD_SHAPE_TYPE
        st = put_simple(out, r, child_little, child_kind, child_dims, child_z)
        if st != Status.OK:
            return st
    return put(out, "]", 1)


cdef Status put_geometry(Buffer* out, Reader* r) noexcept nogil:
    """One EWKB geometry as ST_AsGeoJSON's object. Collections use an explicit stack."""
    cdef uint32_t remaining[MAX_DEPTH]
    cdef int depth = 0, dims
    cdef uint32_t kind, count
    cdef bint little, has_z
    cdef Status st
    while True:
        if not read_header(r, &little, &kind, &dims, &has_z):
            return Status.TRUNCATED
        if kind < 1 or kind > 7:
            return Status.BAD_SHAPE_TYPE
        st = put_str(out, TYPE_NAMES[kind])
        if kind == 7:
            if not read_u32(r, little, &count):
                return Status.TRUNCATED
            if count == 0:
                st = put(out, "]}", 2)
            else:
                if depth == MAX_DEPTH:
                    return Status.BAD_RECORD
                remaining[depth] = count
                depth += 1
                continue
        else:
            st = put_simple(out, r, little, kind, dims, has_z)
            if st != Status.OK:
                return st
            st = put(out, "}", 1)
        # close finished collections, or separate the next member
        while depth > 0:
            remaining[depth - 1] -= 1
            if remaining[depth - 1] > 0:
                st = put(out, ",", 1)
                break
            st = put(out, "]}", 2)
            depth -= 1
        if depth == 0:
            return st



# ------------------------------------------------------------------ PGCOPY rows -> features

cdef inline bint read_be32(Reader* r, int32_t* value) noexcept nogil:
    cdef uint32_t v
    if not read_u32(r, False, &v):
        return False
    value[0] = <int32_t>v
    return True


cdef inline int64_t be64(const uint8_t* p) noexcept nogil:
    cdef uint64_t v = 0
    cdef int k
    for k in range(8):
        v = (v << 8) | p[k]
    return <int64_t>v


cdef Status write_features(const uint8_t* data, Py_ssize_t length, Buffer* out,
                           Py_ssize_t* row, Py_ssize_t* key_start, Py_ssize_t* key_end,
                           Py_ssize_t* val_start, Py_ssize_t* val_end) noexcept nogil:
    cdef Reader r
    cdef int32_t ext, field_len, gid_len, geom_len, props_len, type_len, sid_len
    cdef Py_ssize_t gid_at, geom_at, props_at, type_at, sid_at
    cdef uint32_t fields
    cdef Reader geom
    cdef Status st
    r.data = data
    r.length = length
    r.pos = 0
    if length < 19 or memcmp(data, b"PGCOPY\n\xff\r\n\x00", 11) != 0:
        return Status.BAD_MAGIC
    r.pos = 15                       # signature + flags
    if not read_be32(&r, &ext) or ext < 0 or r.pos + ext > length:
        return Status.BAD_LENGTH
    r.pos += ext
    st = put_str(out, "{\"type\":\"FeatureCollection\",\"features\":[")
    while True:
        if r.pos + 2 > length:
            return Status.TRUNCATED
        fields = (<uint32_t>data[r.pos] << 8) | data[r.pos + 1]
        r.pos += 2
        if fields == 0xFFFF:         # the trailer
            break
        if fields != 5:
            return Status.BAD_RECORD
        # id, geometry, properties, geometry_type, source_id
        if not read_be32(&r, &gid_len) or gid_len != 8 or r.pos + 8 > length:
            return Status.BAD_RECORD
        gid_at = r.pos
        r.pos += 8
        if not read_be32(&r, &geom_len) or geom_len < 0 or r.pos + geom_len > length:
            return Status.BAD_RECORD
        geom_at = r.pos
        r.pos += geom_len
        if not read_be32(&r, &props_len) or props_len < 1 or r.pos + props_len > length:
            return Status.BAD_RECORD
        props_at = r.pos
        r.pos += props_len
        if not read_be32(&r, &type_len) or type_len < 0 or r.pos + type_len > length:
            return Status.BAD_RECORD
        type_at = r.pos
        r.pos += type_len
        if not read_be32(&r, &sid_len) or sid_len != 8 or r.pos + 8 > length:
            return Status.BAD_RECORD
        sid_at = r.pos
        r.pos += 8
        if data[props_at] != 1:      # jsonb binary format version
            return Status.BAD_RECORD
        if row[0]:
            st = put(out, ",", 1)
        st = put_str(out, "{\"type\":\"Feature\",\"id\":")
        st = put_int(out, be64(data + gid_at))
        st = put_str(out, ",\"geometry\":")
        geom.data = data + geom_at
        geom.length = geom_len
        geom.pos = 0
        st = put_geometry(out, &geom)
        if st != Status.OK:
            return st
        st = put_str(out, ",\"properties\":")
        st = put_merged_properties(out, data + props_at + 1, props_len - 1, data + type_at,
                                   type_len, be64(data + sid_at), key_start, key_end,
                                   val_start, val_end)
        if st != Status.OK:
            return st
        st = put(out, "}", 1)
        if st != Status.OK or out.failed:
            return Status.NO_MEMORY
        row[0] += 1
    return put(out, "]}", 2)


class SlowPath(Exception):
    """The rows need the database's own jsonb merge (escaped top-level keys, non-object
    properties); the caller re-runs the query that way."""


def feature_collection(const uint8_t[::1] copy_data):
    """FeatureCollection bytes from COPY (id, geom, properties, geometry_type, source_id)
    TO STDOUT (FORMAT binary) output.

    Raises:
        SlowPath: a row's properties need the database's merge (see SlowPath).
        KernelError: the stream or a geometry is malformed (`where` names the row).
    """
    from samsyn_fast.errors import raise_for_status
    cdef Buffer out
    cdef Py_ssize_t row = 0
    cdef Status st
    cdef Py_ssize_t* members = <Py_ssize_t*>malloc(4 * MAX_MEMBERS * sizeof(Py_ssize_t))
    if members == NULL:
        raise MemoryError()
    out.data = NULL
    out.length = 0
    out.capacity = 0
    out.failed = False
    try:
        with nogil:
            st = write_features(&copy_data[0] if copy_data.shape[0] else NULL,
                                copy_data.shape[0], &out, &row, members,
                                members + MAX_MEMBERS, members + 2 * MAX_MEMBERS,
                                members + 3 * MAX_MEMBERS)
        if st == <Status>KEY_ESCAPE or st == <Status>NOT_AN_OBJECT:
            raise SlowPath(f"row {row + 1}")
        raise_for_status(st, where=f"feature row {row + 1}")
        return PyBytes_FromStringAndSize(out.data, out.length)
    finally:
        free(out.data)
        free(members)


def jsonb_text_to_drf(text):
    """jsonb text (PostgreSQL's output: `{"a": 1.50, "b": [1, 2]}`) as the bytes DRF rendered
    for the same value after psycopg's json.loads: no white space, numbers as Python prints
    them.

    Args:
        text: str or bytes (UTF-8) in PostgreSQL's jsonb text format.

    Raises:
        KernelError: a number Python would have read as infinity (DRF refused to render it).
    """
    from samsyn_fast.errors import raise_for_status
    cdef bytes raw = text.encode() if isinstance(text, str) else bytes(text)
    cdef const uint8_t* s = <const uint8_t*><char*>raw
    cdef Py_ssize_t n = len(raw)
    cdef Buffer out
    cdef Status st
    out.data = NULL
    out.length = 0
    out.capacity = 0
    out.failed = False
    try:
        st = put_compact(&out, s, 0, n)
        if st == Status.OK and out.failed:
            st = Status.NO_MEMORY
        raise_for_status(st, where="jsonb value")
        return PyBytes_FromStringAndSize(out.data, out.length) if out.data != NULL else b""
    finally:
        free(out.data)
