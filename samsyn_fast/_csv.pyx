# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""CSV points tokenizer: one nogil pass per byte span, RFC 4180 quoting as Python's csv module reads it.

The caller (samsyn_fast.csv_points) decodes the header, picks the longitude/latitude columns and
splits big buffers in two spans parsed by two threads; this module does the byte work.
"""
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport malloc, free, calloc
from libc.string cimport memcpy, memchr, memset

from samsyn_fast._buffers cimport (ByteBuf, buf_append, buf_free, buf_push_i64, buf_reserve,
                                   buf_to_numpy, mem_capacity, mem_free, mem_resize, to_numpy)
from samsyn_fast._decimal cimport parse_decimal
from samsyn_fast._encode cimport python_float_repr
from samsyn_fast._status cimport Status
from samsyn_fast._utf8 cimport utf8_invalid_at

import numpy as np

cdef extern from *:
    """
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    /* First position >= pos holding the delimiter, '\\n' or '\\r' (or end): 16 bytes a step. */
    static inline Py_ssize_t samsyn_scan(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end,
                                         unsigned char delim) {
    #if defined(__SSE2__)
        const __m128i d = _mm_set1_epi8((char)delim);
        const __m128i n = _mm_set1_epi8('\\n');
        const __m128i r = _mm_set1_epi8('\\r');
        while (pos + 16 <= end) {
            __m128i v = _mm_loadu_si128((const __m128i*)(buf + pos));
            __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, d), _mm_cmpeq_epi8(v, n)),
                                     _mm_cmpeq_epi8(v, r));
            int mask = _mm_movemask_epi8(m);
            if (mask) return pos + __builtin_ctz((unsigned)mask);
            pos += 16;
        }
    #endif
        while (pos < end && buf[pos] != delim && buf[pos] != '\\n' && buf[pos] != '\\r') pos++;
        return pos;
    }
    /* Copy n bytes; short copies as one 16-byte move when both sides have 16 bytes of room. */
    static inline void samsyn_copy_small(char* dst, const char* src, Py_ssize_t n, int room16) {
    #if defined(__SSE2__)
        if (room16 && n <= 16) {
            _mm_storeu_si128((__m128i*)dst, _mm_loadu_si128((const __m128i*)src));
            return;
        }
    #endif
        memcpy(dst, src, (size_t)n);
    }
    """
    Py_ssize_t samsyn_scan(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end,
                           unsigned char delim) noexcept nogil
    void samsyn_copy_small(char* dst, const char* src, Py_ssize_t n, int room16) noexcept nogil

# Detail codes beside the shared Status (the wrapper turns them into messages).
cpdef enum Skip:
    SKIP_NO_LONGITUDE = 1
    SKIP_EMPTY_LATITUDE = 2


cpdef enum Detail:
    DETAIL_NONE = 0
    DETAIL_TOO_MANY_FIELDS = 1
    DETAIL_TOO_FEW_FIELDS = 2
    DETAIL_EMPTY_LATITUDE = 3
    DETAIL_UNTERMINATED_QUOTE = 4
    DETAIL_BAD_UTF8 = 5

cdef enum:
    KIND_SKIP = -1
    KIND_LON = -2
    KIND_LAT = -3


cdef inline int _append_field(ByteBuf* b, const char* src, Py_ssize_t n,
                              bint src_room16) noexcept nogil:
    """buf_append for a field: keeps 16 bytes of slack so short fields are one vector move."""
    if b.length + n + 16 > b.cap and buf_reserve(b, n + 16) != 0:
        return -1
    samsyn_copy_small(b.data + b.length, src, n, src_room16)
    b.length += n
    return 0


cdef Py_ssize_t _quoted(const char* buf, Py_ssize_t pos, Py_ssize_t end, bint final,
                        ByteBuf* dest, const unsigned char* special) noexcept nogil:
    """Append the quoted field at buf[pos] (the opening quote) to dest, unescaped.

    Returns the position after the field (at its delimiter / line end / end), -1 when the
    buffer ends inside it and more bytes may come, -2 for an unterminated quote at the end
    of the data, -3 when out of memory.
    """
    cdef const char* q
    cdef Py_ssize_t fs
    pos += 1
    while True:
        q = <const char*>memchr(buf + pos, 34, end - pos)
        if q == NULL:
            return -2 if final else -1
        if buf_append(dest, buf + pos, q - (buf + pos)) != 0:
            return -3
        pos = q - buf + 1
        if pos < end and buf[pos] == 34:   # a doubled quote is one literal quote
            if buf_append(dest, buf + pos, 1) != 0:
                return -3
            pos += 1
            continue
        if pos >= end and not final:
            return -1
        break
    # csv (strict=False) keeps the text after the closing quote, quotes included.
    fs = pos
    while pos < end and not special[<unsigned char>buf[pos]]:
        pos += 1
    if buf_append(dest, buf + fs, pos - fs) != 0:
        return -3
    return pos


cdef class Block:
    """The parse state and output of one byte span: coordinates, text columns, row numbers.

    Resumable: parse() stops at a record boundary (stop_at / max_records / end of a non-final
    buffer) and can be called again from `consumed`.
    """
    cdef Py_ssize_t ncols
    cdef Py_ssize_t ntext
    cdef Py_ssize_t* kind          # per header column: text index >= 0, or KIND_*
    cdef ByteBuf* text             # ntext column data buffers
    cdef int64_t** offs            # ntext offset arrays, each rows_cap + 1
    cdef double* coords            # 2 * rows_cap
    cdef int64_t* rownum           # rows_cap
    cdef Py_ssize_t rows
    cdef Py_ssize_t rows_cap
    cdef ByteBuf fb_text           # numbers outside the fast grammar: re-read with float()
    cdef ByteBuf fb_offs           # int64, fb_n + 1 once there is one
    cdef ByteBuf fb_where          # int64: 2 * out_row + (0 lon | 1 lat)
    cdef ByteBuf fb_record         # int64
    cdef Py_ssize_t fb_n
    cdef ByteBuf scratch[3]        # unescaped quoted lon / lat / skipped field
    cdef unsigned char special[256]
    cdef char delim
    # progress
    cdef readonly Py_ssize_t records      # records seen (blank lines are not records)
    cdef readonly Py_ssize_t consumed     # absolute byte offset after the last complete record
    cdef readonly int status
    cdef readonly int detail
    cdef readonly Py_ssize_t err_record   # 1-based within this block
    cdef readonly Py_ssize_t err_col
    cdef readonly Py_ssize_t err_pos      # absolute byte offset
    cdef readonly bint reached_stop
    # skip_bad: rows without a longitude and rows with an empty latitude are recorded in
    # `skipped` (8 * record + reason code) instead of being dropped silently / failing the block
    cdef public bint skip_bad
    cdef ByteBuf skips             # int64: 8 * record + reason code

    def __cinit__(self, kinds, Py_ssize_t ntext, int delim, Py_ssize_t rows_hint=1024,
                  Py_ssize_t bytes_hint=0):
        cdef Py_ssize_t i
        self.ncols = len(kinds)
        self.ntext = ntext
        self.kind = <Py_ssize_t*>malloc(max(self.ncols, 1) * sizeof(Py_ssize_t))
        self.text = <ByteBuf*>calloc(max(ntext, 1), sizeof(ByteBuf))
        self.offs = <int64_t**>calloc(max(ntext, 1), sizeof(int64_t*))
        if self.kind == NULL or self.text == NULL or self.offs == NULL:
            raise MemoryError()
        for i in range(self.ncols):
            self.kind[i] = kinds[i]
        self.rows_cap = max(rows_hint, 16)
        self.coords = <double*>mem_resize(NULL, 0, 2 * self.rows_cap * sizeof(double))
        self.rownum = <int64_t*>mem_resize(NULL, 0, self.rows_cap * sizeof(int64_t))
        if self.coords == NULL or self.rownum == NULL:
            raise MemoryError()
        for i in range(ntext):
            self.offs[i] = <int64_t*>mem_resize(NULL, 0, (self.rows_cap + 1) * sizeof(int64_t))
            if self.offs[i] == NULL:
                raise MemoryError()
            self.offs[i][0] = 0
            if bytes_hint > 0 and buf_reserve(&self.text[i], bytes_hint // max(ntext, 1) + 64) != 0:
                raise MemoryError()
        memset(self.special, 0, 256)
        self.special[<unsigned char>delim] = 1
        self.special[10] = 1
        self.special[13] = 1
        self.delim = <char>delim

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.text != NULL:
            for i in range(self.ntext):
                buf_free(&self.text[i])
        if self.offs != NULL:
            for i in range(self.ntext):
                mem_free(self.offs[i], mem_capacity((self.rows_cap + 1) * sizeof(int64_t)))
        free(self.text)
        free(self.offs)
        free(self.kind)
        mem_free(self.coords, mem_capacity(2 * self.rows_cap * sizeof(double)))
        mem_free(self.rownum, mem_capacity(self.rows_cap * sizeof(int64_t)))
        buf_free(&self.fb_text)
        buf_free(&self.fb_offs)
        buf_free(&self.fb_where)
        buf_free(&self.fb_record)
        buf_free(&self.skips)
        buf_free(&self.scratch[0])
        buf_free(&self.scratch[1])
        buf_free(&self.scratch[2])

    cdef int _grow_rows(self) noexcept nogil:
        return self._set_rows_cap(self.rows_cap * 2)

    cdef int _set_rows_cap(self, Py_ssize_t cap) noexcept nogil:
        """Grow every per-row array to `cap` rows; all or nothing."""
        cdef Py_ssize_t old = self.rows_cap
        cdef Py_ssize_t i
        cdef void* p
        # Reserve everything first so a failure leaves consistent capacities.
        p = mem_resize(self.coords, mem_capacity(2 * old * sizeof(double)), 2 * cap * sizeof(double))
        if p == NULL:
            return -1
        self.coords = <double*>p
        # From here on a failure would leave mixed capacities: grow coords' siblings to `cap`
        # and, should one fail, keep the others consistent by shrinking the logical cap.
        p = mem_resize(self.rownum, mem_capacity(old * sizeof(int64_t)), cap * sizeof(int64_t))
        if p == NULL:
            return -1
        self.rownum = <int64_t*>p
        for i in range(self.ntext):
            p = mem_resize(self.offs[i], mem_capacity((old + 1) * sizeof(int64_t)),
                           (cap + 1) * sizeof(int64_t))
            if p == NULL:
                return -1
            self.offs[i] = <int64_t*>p
        self.rows_cap = cap
        return 0

    cdef int _add_fallback(self, const char* s, Py_ssize_t n, int64_t where) noexcept nogil:
        # A failure leaves the four buffers uneven; the block then fails with NO_MEMORY.
        if self.fb_n == 0 and buf_push_i64(&self.fb_offs, 0) != 0:
            return -1
        if (buf_append(&self.fb_text, s, n) != 0
                or buf_push_i64(&self.fb_where, where) != 0
                or buf_push_i64(&self.fb_record, self.records) != 0
                or buf_push_i64(&self.fb_offs, self.fb_text.length) != 0):
            return -1
        self.fb_n += 1
        return 0

    cdef int _add_skip(self, int code) noexcept nogil:
        return buf_push_i64(&self.skips, 8 * (self.records + 1) + code)

    cdef inline void _fail(self, int status, int detail, Py_ssize_t col, Py_ssize_t pos) noexcept nogil:
        self.status = status
        self.detail = detail
        self.err_record = self.records + 1
        self.err_col = col
        self.err_pos = pos

    cdef int _run(self, const char* buf, Py_ssize_t start, Py_ssize_t end, bint final,
                  Py_ssize_t stop_at, Py_ssize_t max_records) noexcept nogil:
        """Tokenize buf[start:end]; the outcome is in self.status / consumed / reached_stop."""
        cdef Py_ssize_t pos = start
        cdef Py_ssize_t rec_start, fs, col, t, k, r
        cdef const char* lon_p
        cdef const char* lat_p
        cdef Py_ssize_t lon_n, lat_n
        cdef unsigned char c
        cdef ByteBuf* dest
        cdef double v
        cdef int rc
        cdef bint incomplete
        cdef const unsigned char* ubuf = <const unsigned char*>buf
        cdef unsigned char* special = self.special
        cdef char delim = self.delim
        cdef Py_ssize_t ncols = self.ncols
        self.reached_stop = False
        while True:
            # START_RECORD. Blank lines (\n, \r, \r\n) are no records (csv.DictReader skips []).
            # Every position inside a run of blank lines is a record start too, which makes
            # the stop_at test exact for the two-thread split.
            while True:
                if stop_at >= 0 and pos >= stop_at:
                    self.reached_stop = True
                    self.consumed = pos
                    return 0
                if pos < end and (buf[pos] == 10 or buf[pos] == 13):
                    pos += 1
                    continue
                break
            if pos >= end:
                if final:
                    self.consumed = pos
                return 0
            self.consumed = pos
            if max_records >= 0 and self.records >= max_records:
                return 0
            rec_start = pos
            if self.rows >= self.rows_cap and self._grow_rows() != 0:
                self._fail(Status.NO_MEMORY, 0, -1, pos)
                return 0
            r = self.rows
            col = 0
            lon_n = -1
            lat_n = -1
            lon_p = NULL
            lat_p = NULL
            incomplete = False
            while True:
                # START_FIELD
                if col >= ncols:
                    self._fail(Status.BAD_RECORD, DETAIL_TOO_MANY_FIELDS, col, rec_start)
                    return 0
                k = self.kind[col]
                if pos < end and buf[pos] == 34:  # '"'
                    if k >= 0:
                        dest = &self.text[k]
                    elif k == KIND_LON:
                        dest = &self.scratch[0]
                    elif k == KIND_LAT:
                        dest = &self.scratch[1]
                    else:
                        dest = &self.scratch[2]
                    if k < 0:
                        dest.length = 0
                    fs = _quoted(buf, pos, end, final, dest, special)
                    if fs < 0:
                        if fs == -1:
                            incomplete = True
                            break
                        if fs == -2:
                            self._fail(Status.TRUNCATED, DETAIL_UNTERMINATED_QUOTE, col, pos)
                        else:
                            self._fail(Status.NO_MEMORY, 0, col, pos)
                        return 0
                    pos = fs
                    if k == KIND_LON:
                        lon_p = dest.data
                        lon_n = dest.length
                    elif k == KIND_LAT:
                        lat_p = dest.data
                        lat_n = dest.length
                else:
                    fs = pos
                    pos = samsyn_scan(ubuf, pos, end, <unsigned char>delim)
                    if k >= 0:
                        if _append_field(&self.text[k], buf + fs, pos - fs, fs + 16 <= end) != 0:
                            self._fail(Status.NO_MEMORY, 0, col, pos)
                            return 0
                    elif k == KIND_LON:
                        lon_p = buf + fs
                        lon_n = pos - fs
                    elif k == KIND_LAT:
                        lat_p = buf + fs
                        lat_n = pos - fs
                if k >= 0:
                    self.offs[k][r + 1] = self.text[k].length
                col += 1
                if pos >= end:
                    if not final:
                        incomplete = True
                    break
                c = ubuf[pos]
                pos += 1
                if c == delim:
                    continue
                if c == 13:
                    if pos < end:
                        if buf[pos] == 10:
                            pos += 1
                    elif not final:
                        incomplete = True
                break
            if incomplete:
                # Not enough bytes for this record: undo its text; resume at rec_start later.
                for t in range(self.ntext):
                    self.text[t].length = self.offs[t][r]
                self.consumed = rec_start
                return 0
            if col != ncols:
                self._fail(Status.BAD_RECORD, DETAIL_TOO_FEW_FIELDS, col, rec_start)
                return 0
            if lon_n == 0 or (lat_n == 0 and self.skip_bad):
                # Legacy: rows without a longitude are skipped; drop their text.
                for t in range(self.ntext):
                    self.text[t].length = self.offs[t][r]
                if self.skip_bad and self._add_skip(SKIP_NO_LONGITUDE if lon_n == 0
                                                    else SKIP_EMPTY_LATITUDE) != 0:
                    self._fail(Status.NO_MEMORY, 0, -1, rec_start)
                    return 0
                self.records += 1
                self.consumed = pos
                continue
            if lat_n == 0:
                self._fail(Status.BAD_NUMBER, DETAIL_EMPTY_LATITUDE, -1, rec_start)
                return 0
            rc = parse_decimal(lon_p, lon_n, &v)
            if rc == 0:
                self.coords[2 * r] = v
            elif rc == 1:
                self.coords[2 * r] = 0.0
                rc = self._add_fallback(lon_p, lon_n, 2 * r)
            if rc != 0:
                self._fail(Status.NO_MEMORY, 0, -1, rec_start)
                return 0
            rc = parse_decimal(lat_p, lat_n, &v)
            if rc == 0:
                self.coords[2 * r + 1] = v
            elif rc == 1:
                self.coords[2 * r + 1] = 0.0
                rc = self._add_fallback(lat_p, lat_n, 2 * r + 1)
            if rc != 0:
                self._fail(Status.NO_MEMORY, 0, -1, rec_start)
                return 0
            self.records += 1
            self.rownum[r] = self.records
            self.rows = r + 1
            self.consumed = pos
        return 0

    cdef int _check_utf8(self, const char* buf, Py_ssize_t start) noexcept nogil:
        cdef Py_ssize_t bad
        if self.consumed <= start:
            return 0
        bad = utf8_invalid_at(<const unsigned char*>buf + start, self.consumed - start)
        if bad >= 0 and self.status == 0:
            self.status = Status.BAD_TEXT
            self.detail = DETAIL_BAD_UTF8
            self.err_pos = start + bad
            self.err_record = -1
            self.err_col = -1
        return 0

    def parse(self, const unsigned char[::1] data, Py_ssize_t start, Py_ssize_t end, bint final,
              Py_ssize_t stop_at=-1, Py_ssize_t max_records=-1, bint check_utf8=True):
        """Tokenize data[start:end] (releases the GIL); see the attributes for the outcome."""
        cdef const char* buf = <const char*>&data[0] if data.shape[0] > 0 else <const char*>""
        if not (0 <= start <= end <= data.shape[0]):
            raise ValueError("bad span")
        self.consumed = start
        with nogil:
            self._run(buf, start, end, final, stop_at, max_records)
            if check_utf8:
                self._check_utf8(buf, start)
        return self.status

    @property
    def nrows(self):
        return self.rows

    @property
    def nfallbacks(self):
        return self.fb_n

    def fallbacks(self, Py_ssize_t first=0):
        """[(text bytes, 2 * row + which, record)] for numbers outside the fast grammar."""
        cdef Py_ssize_t i
        cdef const int64_t* offs = <const int64_t*>self.fb_offs.data
        cdef const int64_t* where = <const int64_t*>self.fb_where.data
        cdef const int64_t* record = <const int64_t*>self.fb_record.data
        out = []
        for i in range(max(first, 0), self.fb_n):
            out.append((PyBytes_FromStringAndSize(self.fb_text.data + offs[i],
                                                  offs[i + 1] - offs[i]),
                        where[i], record[i]))
        return out

    def skipped(self):
        """(records (K,) int64 1-based within this block, codes (K,) int8) of the rows
        skip_bad recorded: 1 no longitude, 2 empty latitude."""
        cdef Py_ssize_t n = self.skips.length // 8
        out = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] o = out
        if n:
            memcpy(&o[0], self.skips.data, n * 8)
        return out >> 3, (out & 7).astype(np.int8)

    def set_coord(self, Py_ssize_t where, double v):
        if not 0 <= where < 2 * self.rows:
            raise IndexError(where)
        self.coords[where] = v

    def take(self):
        """Move the outputs into numpy arrays: (coords (N,2), row_numbers (N,), [(offsets, data)])."""
        cdef Py_ssize_t t, n = self.rows
        cdef void* p
        cdef size_t rc = self.rows_cap
        coords = to_numpy(<void**>&self.coords, 2 * n * sizeof(double),
                          mem_capacity(2 * rc * sizeof(double)), np.float64).reshape(n, 2)
        rownum = to_numpy(<void**>&self.rownum, n * sizeof(int64_t),
                          mem_capacity(rc * sizeof(int64_t)), np.int64)
        cols = []
        for t in range(self.ntext):
            offs = to_numpy(<void**>&self.offs[t], (n + 1) * sizeof(int64_t),
                            mem_capacity((rc + 1) * sizeof(int64_t)), np.int64)
            if n == 0:
                offs = np.zeros(1, dtype=np.int64)
            data = buf_to_numpy(&self.text[t], np.uint8)
            cols.append((offs, data))
        self.rows = 0
        self.rows_cap = 0
        return coords, rownum, cols


def parse_header(const unsigned char[::1] data, Py_ssize_t start, Py_ssize_t end, int delim,
                 bint final):
    """Read the first record of data[start:end] as a list of bytes fields.

    Returns (fields, position after the record) or None when the record is incomplete
    (only possible when not final). Same quoting rules as Block; leading blank lines skipped.
    """
    cdef Py_ssize_t pos = start
    cdef Py_ssize_t fs
    cdef unsigned char c
    cdef bytearray field
    fields = []
    while pos < end and (data[pos] == 10 or data[pos] == 13):
        pos += 1
    if pos >= end:
        return ([], pos) if final else None
    while True:
        field = bytearray()
        if pos < end and data[pos] == 34:
            fs = pos
            pos += 1
            while True:
                if pos >= end:
                    if not final:
                        return None
                    raise ValueError("unterminated quoted field in the header")
                c = data[pos]
                pos += 1
                if c == 34:
                    if pos < end and data[pos] == 34:
                        field.append(34)
                        pos += 1
                        continue
                    if pos >= end and not final:
                        return None
                    break
                field.append(c)
        while pos < end and data[pos] != delim and data[pos] != 10 and data[pos] != 13:
            field.append(data[pos])
            pos += 1
        fields.append(bytes(field))
        if pos >= end:
            if not final:
                return None
            return fields, pos
        c = data[pos]
        pos += 1
        if c == delim:
            continue
        if c == 13:
            if pos < end:
                if data[pos] == 10:
                    pos += 1
            elif not final:
                return None
        return fields, pos


def decode_strings(const unsigned char[::1] data, const int64_t[::1] offsets):
    """list[str] of the UTF-8 slices data[offsets[i]:offsets[i+1]] (one C loop, no bytes copies)."""
    cdef Py_ssize_t i, n = offsets.shape[0] - 1
    cdef const char* base = <const char*>&data[0] if data.shape[0] > 0 else <const char*>""
    cdef list out = [None] * max(n, 0)
    cdef int64_t a, b
    for i in range(n):
        a = offsets[i]
        b = offsets[i + 1]
        out[i] = PyUnicode_DecodeUTF8(base + a, b - a, NULL)
    return out


def line_after(const unsigned char[::1] data, Py_ssize_t pos, Py_ssize_t end):
    """Offset just after the first newline at or after `pos` (below `end`), or -1 when that
    would be `end` or there is none (a '\\r' counts only when no '\\n' follows pos)."""
    cdef const char* base
    cdef const char* q
    if pos < 0 or pos >= end or end > data.shape[0]:
        return -1
    base = <const char*>&data[0]
    q = <const char*>memchr(base + pos, 10, end - pos)
    if q == NULL:
        q = <const char*>memchr(base + pos, 13, end - pos)
        if q == NULL:
            return -1
    if q - base + 1 >= end:
        return -1
    return q - base + 1


cdef unsigned char _ESC_LEN[256]     # bytes a JSON string needs for each input byte
cdef char _ESC_CHAR[256]             # the letter after the backslash for two-byte escapes
cdef int _i
for _i in range(256):
    _ESC_LEN[_i] = 1 if _i >= 0x20 else 6          # control characters: \u00XX
    _ESC_CHAR[_i] = 0
for _i, _ch in ((34, b'"'), (92, b'\\'), (8, b'b'), (9, b't'), (10, b'n'), (12, b'f'),
                (13, b'r')):
    _ESC_LEN[_i] = 2
    _ESC_CHAR[_i] = _ch[0]


cdef inline char* _put_escaped(char* out, const unsigned char* s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef unsigned char c
    cdef const char* hexd = "0123456789abcdef"
    for i in range(n):
        c = s[i]
        if _ESC_LEN[c] == 1:
            out[0] = <char>c
            out += 1
        elif _ESC_LEN[c] == 2:
            out[0] = 92
            out[1] = _ESC_CHAR[c]
            out += 2
        else:
            out[0] = 92
            out[1] = 117    # u
            out[2] = 48
            out[3] = 48
            out[4] = hexd[c >> 4]
            out[5] = hexd[c & 15]
            out += 6
    return out


def json_objects(list keys, list offsets, list datas, Py_ssize_t nrows, int prefix=-1):
    """One JSON object per row, {key: "value", ...}, as (offsets int64 (nrows+1,), uint8 data).

    `keys` are the JSON-encoded keys (with their quotes); column c of row r is
    datas[c][offsets[c][r]:offsets[c][r+1]] (UTF-8, already validated). Values are JSON-escaped
    like json.dumps(ensure_ascii=False): quote, backslash and control characters. `prefix`
    >= 0: that byte before every object (1: the jsonb binary COPY version byte).
    """
    cdef Py_ssize_t ncols = len(keys)
    cdef Py_ssize_t c, r, total = 0, keylen = 0
    cdef int64_t a, b, i
    cdef const int64_t* off
    cdef const unsigned char* dat
    cdef const int64_t** offp
    cdef const unsigned char** datp
    cdef const char** keyp
    cdef Py_ssize_t* keyn
    cdef char* out
    cdef int64_t[::1] ooff
    cdef unsigned char[::1] odata
    cdef const int64_t[::1] mo
    cdef const unsigned char[::1] md
    if len(offsets) != ncols or len(datas) != ncols:
        raise ValueError("one offsets and one data array per key")
    offp = <const int64_t**>calloc(max(ncols, 1), sizeof(int64_t*))
    datp = <const unsigned char**>calloc(max(ncols, 1), sizeof(char*))
    keyp = <const char**>calloc(max(ncols, 1), sizeof(char*))
    keyn = <Py_ssize_t*>calloc(max(ncols, 1), sizeof(Py_ssize_t))
    if offp == NULL or datp == NULL or keyp == NULL or keyn == NULL:
        free(offp); free(datp); free(keyp); free(keyn)
        raise MemoryError()
    try:
        views = []
        for c in range(ncols):
            mo = offsets[c]
            if mo.shape[0] < nrows + 1:
                raise ValueError("offsets shorter than nrows + 1")
            offp[c] = &mo[0]
            md = datas[c]
            datp[c] = &md[0] if md.shape[0] > 0 else <const unsigned char*>b""
            views.append((mo, md))
            k = keys[c]
            keyp[c] = <const char*>(<bytes>k)
            keyn[c] = len(k)
            keylen += keyn[c] + 1 + 2 + 1      # key : "" ,
        with nogil:
            for c in range(ncols):
                off = offp[c]
                dat = datp[c]
                for i in range(off[0], off[nrows]):
                    total += _ESC_LEN[dat[i]]
        total += nrows * (2 + keylen + (prefix >= 0))
        out_offsets = np.empty(nrows + 1, dtype=np.int64)
        out_data = np.empty(max(total, 1), dtype=np.uint8)
        ooff = out_offsets
        odata = out_data
        with nogil:
            out = <char*>&odata[0]
            ooff[0] = 0
            for r in range(nrows):
                if prefix >= 0:
                    out[0] = <char>prefix
                    out += 1
                out[0] = 123   # {
                out += 1
                for c in range(ncols):
                    if c:
                        out[0] = 44    # ,
                        out += 1
                    memcpy(out, keyp[c], keyn[c])
                    out += keyn[c]
                    out[0] = 58    # :
                    out[1] = 34    # "
                    out += 2
                    a = offp[c][r]
                    b = offp[c][r + 1]
                    out = _put_escaped(out, datp[c] + a, b - a)
                    out[0] = 34
                    out += 1
                out[0] = 125   # }
                out += 1
                ooff[r + 1] = out - <char*>&odata[0]
        return out_offsets, out_data[:ooff[nrows]]
    finally:
        free(offp); free(datp); free(keyp); free(keyn)


cdef enum:
    JV_TEXT = 0
    JV_INT = 1
    JV_FLOAT = 2
    JV_DATE = 3
    JV_BOOL = 4


cdef inline char* _put_date(char* o, int64_t days) noexcept nogil:
    # days since 1970-01-01 -> YYYY-MM-DD (proleptic Gregorian; H. Hinnant's civil_from_days)
    cdef int64_t z = days + 719468
    cdef int64_t era = (z if z >= 0 else z - 146096) // 146097
    cdef int64_t doe = z - era * 146097
    cdef int64_t yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef int64_t y = yoe + era * 400
    cdef int64_t doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef int64_t mp = (5 * doy + 2) // 153
    cdef int64_t d = doy - (153 * mp + 2) // 5 + 1
    cdef int64_t m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    if y < 0 or y > 9999:
        y = 0 if y < 0 else 9999
    o[0] = 34
    o[1] = <char>(48 + y // 1000)
    o[2] = <char>(48 + y // 100 % 10)
    o[3] = <char>(48 + y // 10 % 10)
    o[4] = <char>(48 + y % 10)
    o[5] = 45
    o[6] = <char>(48 + m // 10)
    o[7] = <char>(48 + m % 10)
    o[8] = 45
    o[9] = <char>(48 + d // 10)
    o[10] = <char>(48 + d % 10)
    o[11] = 34
    return o + 12


cdef inline char* _put_int(char* o, int64_t v) noexcept nogil:
    cdef char tmp[24]
    cdef int n = 0
    cdef uint64_t u
    if v < 0:
        o[0] = 45
        o += 1
        u = <uint64_t>(-(v + 1)) + 1
    else:
        u = <uint64_t>v
    while True:
        tmp[n] = <char>(48 + u % 10)
        n += 1
        u //= 10
        if u == 0:
            break
    while n:
        n -= 1
        o[0] = tmp[n]
        o += 1
    return o


def json_records(list keys, kinds, list values, list nulls, Py_ssize_t nrows, int prefix=-1):
    """One JSON object per row from typed columns, as (offsets (nrows+1,) int64, uint8 data).

    keys: JSON-encoded keys (with quotes). kinds[c]: 0 text (values[c] = (offsets, data),
    UTF-8), 1 int64, 2 float64 (repr, as json.dumps; NaN/inf -> null), 3 date (int64 days
    since 1970-01-01 -> "YYYY-MM-DD"), 4 bool (uint8 -> true/false). nulls[c]: (nrows,) uint8
    (1 -> null). `prefix` >= 0: that byte before each object (1: jsonb binary COPY version).
    """
    cdef Py_ssize_t ncols = len(keys)
    cdef Py_ssize_t c, r
    cdef int64_t total = 0, keylen = 0, a, b, i
    cdef int k
    cdef double v
    cdef char* out
    cdef char* start
    cdef const int64_t[::1] mo
    cdef const unsigned char[::1] md
    cdef const int64_t[::1] mi
    cdef const double[::1] mf
    cdef const unsigned char[::1] mb
    cdef const unsigned char[::1] mn
    if len(kinds) != ncols or len(values) != ncols or len(nulls) != ncols:
        raise ValueError("one kind, one value column and one null mask per key")
    kind_arr = np.ascontiguousarray(kinds, dtype=np.int32)
    cdef const int[::1] kd = kind_arr
    # raw pointers per column
    ptr_arr = np.zeros((max(ncols, 1), 4), dtype=np.uintp)
    cdef size_t[:, ::1] ptr = ptr_arr   # 0: values/offsets, 1: text data, 2: nulls, 3: key
    keyn_arr = np.zeros(max(ncols, 1), dtype=np.int64)
    cdef int64_t[::1] keyn = keyn_arr
    keep = []
    for c in range(ncols):
        k = kd[c]
        mn = nulls[c]
        if mn.shape[0] < nrows:
            raise ValueError("null mask shorter than nrows")
        ptr[c, 2] = <size_t>&mn[0] if mn.shape[0] else 0
        keep.append(mn)
        if k == JV_TEXT:
            o_, d_ = values[c]
            mo = o_
            md = d_
            if mo.shape[0] < nrows + 1:
                raise ValueError("offsets shorter than nrows + 1")
            ptr[c, 0] = <size_t>&mo[0]
            ptr[c, 1] = <size_t>&md[0] if md.shape[0] else <size_t><const char*>b""
            keep.append((mo, md))
            with nogil:
                for i in range(mo[0], mo[nrows]):
                    total += _ESC_LEN[md[i]]
            total += 2 * nrows
        elif k == JV_INT or k == JV_DATE:
            mi = values[c]
            if mi.shape[0] < nrows:
                raise ValueError("values shorter than nrows")
            ptr[c, 0] = <size_t>&mi[0] if mi.shape[0] else 0
            keep.append(mi)
            total += 21 * nrows
        elif k == JV_FLOAT:
            mf = values[c]
            if mf.shape[0] < nrows:
                raise ValueError("values shorter than nrows")
            ptr[c, 0] = <size_t>&mf[0] if mf.shape[0] else 0
            keep.append(mf)
            total += 32 * nrows
        elif k == JV_BOOL:
            mb = values[c]
            if mb.shape[0] < nrows:
                raise ValueError("values shorter than nrows")
            ptr[c, 0] = <size_t>&mb[0] if mb.shape[0] else 0
            keep.append(mb)
            total += 5 * nrows
        else:
            raise ValueError(f"unknown kind {k}")
        kb = keys[c]
        keep.append(kb)
        ptr[c, 3] = <size_t><const char*>(<bytes>kb)
        keyn[c] = len(kb)
        keylen += keyn[c] + 2
    total += nrows * (2 + keylen + (prefix >= 0)) + 1
    out_offsets = np.empty(nrows + 1, dtype=np.int64)
    out_data = np.empty(total, dtype=np.uint8)
    cdef int64_t[::1] ooff = out_offsets
    cdef unsigned char[::1] odata = out_data
    with nogil:
        start = <char*>&odata[0]
        out = start
        ooff[0] = 0
        for r in range(nrows):
            if prefix >= 0:
                out[0] = <char>prefix
                out += 1
            out[0] = 123   # {
            out += 1
            for c in range(ncols):
                if c:
                    out[0] = 44    # ,
                    out += 1
                memcpy(out, <const char*>ptr[c, 3], keyn[c])
                out += keyn[c]
                out[0] = 58    # :
                out += 1
                k = kd[c]
                if (<const unsigned char*>ptr[c, 2])[r]:
                    memcpy(out, b"null", 4)
                    out += 4
                elif k == JV_TEXT:
                    a = (<const int64_t*>ptr[c, 0])[r]
                    b = (<const int64_t*>ptr[c, 0])[r + 1]
                    out[0] = 34
                    out = _put_escaped(out + 1, <const unsigned char*>ptr[c, 1] + a, b - a)
                    out[0] = 34
                    out += 1
                elif k == JV_INT:
                    out = _put_int(out, (<const int64_t*>ptr[c, 0])[r])
                elif k == JV_FLOAT:
                    v = (<const double*>ptr[c, 0])[r]
                    if v != v or v - v != 0.0:
                        memcpy(out, b"null", 4)
                        out += 4
                    else:
                        out += python_float_repr(v, out)
                elif k == JV_DATE:
                    out = _put_date(out, (<const int64_t*>ptr[c, 0])[r])
                else:
                    if (<const unsigned char*>ptr[c, 0])[r]:
                        memcpy(out, b"true", 4)
                        out += 4
                    else:
                        memcpy(out, b"false", 5)
                        out += 5
            out[0] = 125   # }
            out += 1
            ooff[r + 1] = out - start
    return out_offsets, out_data[:ooff[nrows]]
