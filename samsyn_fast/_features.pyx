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
from libc.math cimport isfinite
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdio cimport snprintf
from libc.stdlib cimport free, malloc
from libc.string cimport memchr, memcmp, strlen
from cpython.bytes cimport PyBytes_FromStringAndSize

import numpy as np

from samsyn_fast._buffers cimport ByteBuf, buf_append, buf_reserve, mem_free_unpooled
from samsyn_fast._decimal cimport parse_decimal
from samsyn_fast._encode cimport _geojson, _Reader, geojson_worst_case, python_float_repr
from samsyn_fast._status cimport Status

cdef enum:
    KEY_ESCAPE = 100          # a top-level jsonb key with an escape: caller takes the slow path
    NOT_AN_OBJECT = 101       # properties are not a JSON object: caller takes the slow path

cdef struct Reader:          # over the COPY stream (big-endian framing)
    const uint8_t* data
    Py_ssize_t length
    Py_ssize_t pos


# The writers below ignore most put() results: a failed allocation is sticky (out.failed) and
# checked once per feature.
cdef inline Status put(ByteBuf* out, const char* text, Py_ssize_t n) noexcept nogil:
    return Status.OK if buf_append(out, text, n) == 0 else Status.NO_MEMORY


cdef inline Status put_str(ByteBuf* out, const char* text) noexcept nogil:
    return put(out, text, <Py_ssize_t>strlen(text))


cdef inline Status put_int(ByteBuf* out, int64_t value) noexcept nogil:
    cdef char tmp[32]
    cdef int n = snprintf(tmp, 32, "%lld", <long long>value)
    return put(out, tmp, n)


# ------------------------------------------------------------------ number formatting

cdef Status put_json_number(ByteBuf* out, const char* text, Py_ssize_t n) noexcept nogil:
    """A jsonb number as Python's json re-rendered it: integers verbatim, anything with a
    fraction or an exponent as repr(float(text)), of any length (json.loads reads a numeric
    with hundreds of digits as well)."""
    cdef char printed[40]
    cdef Py_ssize_t i
    cdef bint is_float = False
    cdef double value
    cdef int rc
    for i in range(n):
        if text[i] == b'.' or text[i] == b'e' or text[i] == b'E':
            is_float = True
            break
    if not is_float:
        return put(out, text, n)
    rc = parse_decimal(text, n, &value)
    if rc == 2:
        return Status.NO_MEMORY
    if rc != 0 or not isfinite(value):
        return Status.BAD_NUMBER      # Python would print Infinity: DRF refused (strict JSON)
    return put(out, printed, python_float_repr(value, printed))


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


cdef Status put_compact(ByteBuf* out, const uint8_t* s, Py_ssize_t i,
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


cdef Status put_json_string(ByteBuf* out, const uint8_t* text, Py_ssize_t n) noexcept nogil:
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


cdef Status put_merged_properties(ByteBuf* out, const uint8_t* s, Py_ssize_t n,
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


# ------------------------------------------------------------------ PGCOPY rows -> features

cdef inline bint read_be32(Reader* r, int32_t* value) noexcept nogil:
    cdef const uint8_t* p
    if r.pos + 4 > r.length:
        return False
    p = r.data + r.pos
    value[0] = <int32_t>((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8)
                         | p[3])
    r.pos += 4
    return True


cdef inline int64_t be64(const uint8_t* p) noexcept nogil:
    cdef uint64_t v = 0
    cdef int k
    for k in range(8):
        v = (v << 8) | p[k]
    return <int64_t>v


cdef Status write_features(const uint8_t* data, Py_ssize_t length, ByteBuf* out,
                           Py_ssize_t* row, Py_ssize_t* key_start, Py_ssize_t* key_end,
                           Py_ssize_t* val_start, Py_ssize_t* val_end,
                           const int32_t[::1] no_srids, const uint8_t[::1] no_names,
                           const int64_t[::1] no_name_offsets) noexcept nogil:
    cdef Reader r
    cdef int32_t ext, field_len, gid_len, geom_len, props_len, type_len, sid_len
    cdef Py_ssize_t gid_at, geom_at, props_at, type_at, sid_at
    cdef uint32_t fields
    cdef _Reader geom
    cdef char* cursor
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
        if buf_reserve(out, geojson_worst_case(geom_len)) != 0:
            return Status.NO_MEMORY
        geom.p = data + geom_at
        geom.end = data + geom_at + geom_len
        geom.swap = False
        cursor = out.data + out.length
        st = _geojson(&geom, &cursor, no_srids, no_names, no_name_offsets)
        if st != Status.OK:
            return st
        # An ordinate that prints as Infinity/NaN (one that overflows after PostGIS's rounding):
        # the legacy's DRF refused to render it (a 500); never send invalid JSON. No type name
        # of a geometry contains an upper-case I or N.
        if (memchr(out.data + out.length, b'I', cursor - out.data - out.length) != NULL
                or memchr(out.data + out.length, b'N', cursor - out.data - out.length) != NULL):
            return Status.OUT_OF_RANGE
        out.length = cursor - out.data
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


# The geometry column is EPSG:4326, for which ST_AsGeoJSON writes no "crs" member: the
# writer's SRID -> name table stays empty.
_NO_SRIDS = np.zeros(0, dtype=np.int32)
_NO_NAMES = np.zeros(0, dtype=np.uint8)
_NO_NAME_OFFSETS = np.zeros(1, dtype=np.int64)


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
    cdef ByteBuf out
    cdef Py_ssize_t row = 0
    cdef Status st
    cdef const int32_t[::1] no_srids = _NO_SRIDS
    cdef const uint8_t[::1] no_names = _NO_NAMES
    cdef const int64_t[::1] no_name_offsets = _NO_NAME_OFFSETS
    cdef Py_ssize_t* members = <Py_ssize_t*>malloc(4 * MAX_MEMBERS * sizeof(Py_ssize_t))
    if members == NULL:
        raise MemoryError()
    out.data = NULL
    out.length = 0
    out.cap = 0
    out.failed = False
    try:
        with nogil:
            st = write_features(&copy_data[0] if copy_data.shape[0] else NULL,
                                copy_data.shape[0], &out, &row, members,
                                members + MAX_MEMBERS, members + 2 * MAX_MEMBERS,
                                members + 3 * MAX_MEMBERS, no_srids, no_names, no_name_offsets)
        if st == <Status>KEY_ESCAPE or st == <Status>NOT_AN_OBJECT:
            raise SlowPath(f"row {row + 1}")
        raise_for_status(st, where=f"feature row {row + 1}")
        return PyBytes_FromStringAndSize(out.data, out.length)
    finally:
        mem_free_unpooled(out.data, out.cap)
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
    cdef ByteBuf out
    cdef Status st
    out.data = NULL
    out.length = 0
    out.cap = 0
    out.failed = False
    try:
        st = put_compact(&out, s, 0, n)
        if st == Status.OK and out.failed:
            st = Status.NO_MEMORY
        raise_for_status(st, where="jsonb value")
        return PyBytes_FromStringAndSize(out.data, out.length) if out.data != NULL else b""
    finally:
        mem_free_unpooled(out.data, out.cap)
