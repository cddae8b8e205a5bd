r"""Point CSV files (the legacy ``upload_csv_file``) into coordinate and text-column buffers.

Semantics (contract NOTES.md §10): the header names the columns; ``Longitude``/``Latitude``
(configurable) become ``coords``; every other column is kept as text, exactly as
``csv.DictReader`` yields it. Rows whose longitude is empty are skipped. A row with a longitude
but an empty or invalid latitude (or an invalid longitude) rejects the whole file with a
KernelError naming the row. Quoting follows RFC 4180 as Python's ``csv`` module reads it
(doubled quotes, embedded delimiters and newlines, ``\r\n``/``\r``/``\n`` line ends, blank
lines ignored, text after a closing quote kept). Deliberate differences from the legacy, all
rejections or clean-ups of input it mishandled: a UTF-8 BOM is dropped (the legacy glued it to
the first column name), ragged rows and an unterminated quote at the end of the data are errors
(the csv module padded / silently closed them), NaN or infinite coordinates are errors, and
fields may exceed the csv module's 128 KiB limit.
Numbers are read exactly as Python's ``float()`` reads them (same value, bit for bit): plain
decimals by a correctly rounded C parser, anything else (spaces, ``_``, ``inf``...) by float().

Speed: one nogil tokenizer pass (SSE2 scan for delimiters/line ends); inputs over 1 MiB are cut
at line ends into up to 8 chunks that two threads parse speculatively (see _parse_span), so a
text column is a list of per-chunk pieces rather than one copied buffer.
"""
from __future__ import annotations

import _thread
import codecs
import dataclasses
import itertools
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from samsyn_fast import _buffers, _csv
from samsyn_fast.columns import StringColumn
from samsyn_fast.errors import KernelError, Status

__all__ = ["CsvPoints", "CsvSkipped", "StringColumn", "iter_csv_points", "read_csv_points",
           "set_buffer_pool_limit"]

PathOrBytes = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

_BOM = b"\xef\xbb\xbf"
_PARALLEL_MIN_BYTES = 1 << 20       # below this one thread is faster than starting a second
_CHUNK_BYTES = 4 << 20              # parallel parses cut the data in chunks of about this size,
_MAX_CHUNKS = 8                     # at most this many (each extra chunk is one more copy)


SKIP_REASONS = {1: "no coordinates", 2: "empty latitude"}


@dataclass(frozen=True, slots=True)
class CsvSkipped:
    """Rows a ``skip_bad`` read left out (only filled in that mode).

    Attributes:
        rows: (K,) int64 1-based data row numbers (counted as CsvPoints.row_numbers), sorted.
        codes: (K,) int8 per row: 1 no longitude ("no coordinates"), 2 empty latitude,
            3 a number that does not parse or is not finite (its text in `details`).
        details: row -> message for code 3.
    """

    rows: np.ndarray
    codes: np.ndarray
    details: dict[int, str]

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def reason(self, i: int) -> str:
        """The reason text of entry i."""
        code = int(self.codes[i])
        return self.details.get(int(self.rows[i]), "bad number") if code == 3 \
            else SKIP_REASONS[code]


@dataclass(frozen=True, slots=True)
class CsvPoints:
    """Points read from a CSV file.

    Attributes:
        coords: (N, 2) float64 longitude/latitude of the kept rows.
        row_numbers: (N,) int64, the 1-based data row of each point, counted as
            ``enumerate(csv.DictReader(f), 1)`` counts (skipped rows count, blank lines do not).
        columns: the other header columns in file order, as text (a duplicated name keeps its
            last column, as csv.DictReader does).
        fieldnames: the whole header.
        lon: name of the longitude column. lat: name of the latitude column.
    """

    coords: np.ndarray
    row_numbers: np.ndarray
    columns: dict[str, StringColumn]
    fieldnames: tuple[str, ...]
    lon: str
    lat: str
    skipped: CsvSkipped | None = None

    def __len__(self) -> int:
        return int(self.coords.shape[0])

    def metadata(self, i: int) -> dict[str, str]:
        """The text columns of point i as a dict (the legacy ``metadata``)."""
        return {name: col[i] for name, col in self.columns.items()}

    def records(self) -> list[dict[str, str]]:
        """Every point's metadata dict (convenient, not fast)."""
        if not self.columns:
            return [{} for _ in range(len(self))]
        names = list(self.columns)
        values = [col.to_list() for col in self.columns.values()]
        return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]

    def metadata_json(self, jsonb: bool = False) -> StringColumn:
        """Each point's metadata as a compact JSON object (UTF-8), ready for a jsonb column.

        Byte for byte ``json.dumps(self.metadata(i), ensure_ascii=False, separators=(",", ":"))``,
        built in one C loop per chunk without Python objects per cell. jsonb=True puts the
        binary COPY jsonb version byte (0x01) before each object.
        """
        keys = [json.dumps(k, ensure_ascii=False).encode("utf-8") for k in self.columns]
        cols = list(self.columns.values())
        if not cols:
            n = len(self)
            w = 3 if jsonb else 2
            return StringColumn(np.arange(0, w * n + 1, w, dtype=np.int64),
                                np.frombuffer((b"\x01{}" if jsonb else b"{}") * n,
                                              dtype=np.uint8))
        pieces = []
        for k in range(len(cols[0].pieces)):
            offs = [np.ascontiguousarray(c.pieces[k][0]) for c in cols]
            datas = [c.pieces[k][1] for c in cols]
            pieces.append(_csv.json_objects(keys, offs, datas, offs[0].shape[0] - 1,
                                            1 if jsonb else -1))
        return StringColumn(pieces=pieces)

    def slice(self, start: int, stop: int) -> CsvPoints:
        """Points [start, stop) as views."""
        return CsvPoints(self.coords[start:stop], self.row_numbers[start:stop],
                         {k: c.slice(start, stop) for k, c in self.columns.items()},
                         self.fieldnames, self.lon, self.lat)


def set_buffer_pool_limit(nbytes: int) -> int:
    """Cap the freed output buffers the kernels (CSV, GeoJSON) keep for reuse.

    Big buffers (>= 1 MiB) of dropped results are kept, already paged in, so the next parse
    skips its page faults (default cap 256 MiB for the process). 0 returns them all to the
    OS, e.g. in a long-lived worker after a big import. Returns the bytes still kept.
    """
    if nbytes < 0:
        raise ValueError("nbytes must be >= 0")
    return int(_buffers.set_pool_limit(nbytes))


# ----------------------------------------------------------------------------------------------

class _Layout:
    """The header and what the tokenizer does with each column."""

    def __init__(self, names: list[str], lon: str, lat: str, skip_bad: bool = False) -> None:
        self.skip_bad = skip_bad
        if lon == lat:
            raise ValueError("lon and lat must name two different columns")
        missing = [c for c in (lon, lat) if c not in names]
        if missing:
            raise ValueError(
                f"CSV header has no {' / '.join(repr(m) for m in missing)} column; "
                f"columns found: {names!r}")
        last = {name: i for i, name in enumerate(names)}
        kinds: list[int] = []
        text_names: list[str] = []
        for i, name in enumerate(names):
            if name == lon:
                kinds.append(-2 if last[name] == i else -1)
            elif name == lat:
                kinds.append(-3 if last[name] == i else -1)
            elif last[name] != i:
                kinds.append(-1)         # a later column of the same name wins (DictReader)
            else:
                kinds.append(len(text_names))
                text_names.append(name)
        self.names = names
        self.kinds = kinds
        self.text_names = text_names
        self.lon = lon
        self.lat = lat


def _line_of(data: Any, pos: int) -> int:
    """1-based physical line holding byte `pos` (only computed for error messages)."""
    head = bytes(memoryview(data)[:max(pos, 0)])
    n = head.count(b"\n")
    return 1 + (n if n or b"\r" not in head else head.count(b"\r"))


def _raise_block_error(block: _csv.Block, layout: _Layout, data: Any, record_base: int,
                       line_base: int, encoding: str) -> None:
    status, detail = block.status, block.detail
    rec = record_base + block.err_record
    line = line_base + _line_of(data, block.err_pos) - 1
    ncols = len(layout.names)
    if detail == _csv.Detail.DETAIL_TOO_MANY_FIELDS:
        msg = f"more fields than the header's {ncols}"
    elif detail == _csv.Detail.DETAIL_TOO_FEW_FIELDS:
        msg = f"{block.err_col} fields, the header has {ncols}"
    elif detail == _csv.Detail.DETAIL_EMPTY_LATITUDE:
        msg = f"a {layout.lon!r} value but an empty {layout.lat!r}"
    elif detail == _csv.Detail.DETAIL_UNTERMINATED_QUOTE:
        msg = "unterminated quoted field"
    elif detail == _csv.Detail.DETAIL_BAD_UTF8:
        msg = f"text is not valid {encoding}"
    else:
        msg = None
    if detail in (_csv.Detail.DETAIL_UNTERMINATED_QUOTE, _csv.Detail.DETAIL_BAD_UTF8):
        where = f"csv line {line}"
    else:
        where = f"csv row {rec} (line {line})"
    raise KernelError(status, msg, where)


def _resolve_fallbacks(block: _csv.Block, layout: _Layout, record_base: int,
                       first: int = 0, bad: dict[int, str] | None = None) -> int:
    """Numbers outside the fast grammar: Python's float() decides, as the legacy did.

    Resolves the block's fallbacks from index `first`; returns how many it has in all. In
    skip_bad mode a bad number sets the coordinate to NaN and `bad[row]` to the message
    (_finish drops those rows) instead of raising."""
    for text, where, record in block.fallbacks(first):
        name = layout.lat if where & 1 else layout.lon
        rec = record_base + record + 1
        try:
            s = text.decode("utf-8")
            v = float(s)
        except (UnicodeDecodeError, ValueError):
            shown = text.decode("utf-8", "replace")
            msg = f"could not convert {name!r} value {shown!r} to float"
            if layout.skip_bad and bad is not None:
                bad.setdefault(rec, msg)
                block.set_coord(where, math.nan)
                continue
            raise KernelError(Status.BAD_NUMBER, msg, f"csv row {rec}") from None
        if not math.isfinite(v):
            msg = f"{name!r} value {s!r} is not a finite number"
            if layout.skip_bad and bad is not None:
                bad.setdefault(rec, msg)
                block.set_coord(where, math.nan)
                continue
            raise KernelError(Status.NAN_COORD, msg, f"csv row {rec}")
        block.set_coord(where, v)
    return block.nfallbacks


def _new_block(layout: _Layout, ntext: int, delim: int, rows_hint: int,
               bytes_hint: int) -> _csv.Block:
    blk = _csv.Block(layout.kinds, ntext, delim, rows_hint, bytes_hint)
    blk.skip_bad = layout.skip_bad
    return blk


def _check_finite(block_coords: np.ndarray, rownum: np.ndarray, layout: _Layout,
                  record_base: int) -> None:
    # The fast grammar cannot produce NaN; only overflow ('1e999') gives inf.
    bad = ~np.isfinite(block_coords)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        name = layout.lat if j else layout.lon
        raise KernelError(Status.NAN_COORD, f"{name!r} value overflows to infinity",
                          f"csv row {record_base + int(rownum[i])}")


def _bounds(data: Any, start: int, end: int, nchunks: int) -> list[int]:
    """Chunk starts: `start`, then the byte after the first newline past each k/n mark."""
    out = [start]
    for k in range(1, nchunks):
        mark = max(start + (end - start) * k // nchunks, out[-1])
        b = _csv.line_after(data, mark, end)
        if b > out[-1]:
            out.append(b)
    return out


def _parse_span(data: Any, start: int, end: int, layout: _Layout, delim: int, final: bool,
                threads: int, record_base: int, line_base: int, encoding: str,
                rows_hint: int) -> _Parsed:
    """Tokenize data[start:end] (in chunks on two threads when big); fallbacks resolved.

    Every chunk but the first is parsed speculatively from the line after its mark, in whatever
    order the two threads pick them up (so a thread the OS parks does not hold the other up).
    Chunk k stops at its first record start at or after chunk k+1's start: when that is exactly
    the start, chunk k+1 was parsed from a true record start (the tokenizer state there is the
    same) and is appended; otherwise a quoted newline straddled the mark and the parse carries
    on serially from where chunk k really ended.
    """
    ntext = len(layout.text_names)
    size = end - start
    nchunks = 1
    if threads >= 2 and size >= _PARALLEL_MIN_BYTES:
        nchunks = int(min(_MAX_CHUNKS, max(2, size // _CHUNK_BYTES)))
    bounds = _bounds(data, start, end, nchunks) if nchunks > 1 else [start]
    n = len(bounds)
    hint = rows_hint // n + 16
    if n == 1:
        block = _new_block(layout, ntext, delim, rows_hint, size)
        block.parse(data, start, end, final)
        if block.status:
            _raise_block_error(block, layout, data, record_base, line_base, encoding)
        bad: dict[int, str] = {}
        _resolve_fallbacks(block, layout, record_base, 0, bad)
        return _Parsed([block], block.records, block.consumed, bad)
    blocks: list[_csv.Block | None] = [None] * n
    ticket = itertools.count()

    def work() -> None:
        while True:
            k = next(ticket)          # atomic under the GIL
            if k >= n:
                return
            stop = bounds[k + 1] if k + 1 < n else -1
            blk = _new_block(layout, ntext, delim, hint,
                             (stop if stop > 0 else end) - bounds[k])
            blk.parse(data, bounds[k], end, final, stop)
            blocks[k] = blk

    # _thread, not threading.Thread: Thread.start() waits until the new thread runs, which on
    # a busy machine costs a scheduler slice; here the caller starts on chunk 0 at once.
    done = _thread.allocate_lock()
    done.acquire()
    failure: list[BaseException] = []

    def worker() -> None:
        try:
            work()
        except BaseException as e:   # re-raised by the caller (MemoryError, ...)
            failure.append(e)
        finally:
            done.release()

    _thread.start_new_thread(worker, ())
    try:
        work()
    finally:
        done.acquire()
    if failure:
        raise failure[0]
    cur = blocks[0]
    assert cur is not None
    if cur.status:
        _raise_block_error(cur, layout, data, record_base, line_base, encoding)
    bad = {}
    _resolve_fallbacks(cur, layout, record_base, 0, bad)
    pieces = [cur]
    records = cur.records
    for k in range(1, n):
        stop = bounds[k + 1] if k + 1 < n else -1
        if cur.reached_stop and cur.consumed == bounds[k]:
            nxt = blocks[k]
            assert nxt is not None
        else:
            nxt = _new_block(layout, ntext, delim, hint, 0)
            nxt.parse(data, cur.consumed, end, final, stop)
        blocks[k] = None
        base = record_base + records
        if nxt.status:
            _raise_block_error(nxt, layout, data, base, line_base, encoding)
        _resolve_fallbacks(nxt, layout, base, 0, bad)
        pieces.append(nxt)
        records += nxt.records
        cur = nxt
    return _Parsed(pieces, records, cur.consumed, bad)


class _Parsed:
    """The blocks of one span in order (one piece per chunk), their record count and the
    byte offset after the last complete record."""

    def __init__(self, pieces: list[_csv.Block], records: int, consumed: int,
                 bad: dict[int, str] | None = None) -> None:
        self.bad = bad or {}
        self.pieces = pieces
        self.records = records
        self.consumed = consumed


def _finish(parsed: _Parsed, layout: _Layout, record_base: int) -> CsvPoints:
    coords_l, rows_l, texts, skip_rows, skip_codes = [], [], [], [], []
    rec = record_base
    for blk in parsed.pieces:
        nrec = blk.records
        if layout.skip_bad:
            srows, scodes = blk.skipped()
            skip_rows.append(srows + rec)
            skip_codes.append(scodes)
        coords, rownum, cols = blk.take()
        if rec:
            rownum += rec
        rec += nrec
        coords_l.append(coords)
        rows_l.append(rownum)
        texts.append(cols)
    if len(coords_l) == 1:
        coords, rownum = coords_l[0], rows_l[0]
    else:
        coords, rownum = np.concatenate(coords_l), np.concatenate(rows_l)
    columns = {name: StringColumn(pieces=[cols[t] for cols in texts])
               for t, name in enumerate(layout.text_names)}
    if not layout.skip_bad:
        _check_finite(coords, rownum, layout, 0)
        return CsvPoints(coords, rownum, columns, tuple(layout.names), layout.lon, layout.lat)
    details = dict(parsed.bad)
    finite = np.isfinite(coords).all(axis=1)
    if not finite.all():
        # bad numbers (NaN set by _resolve_fallbacks) and overflows ('1e999'): drop the rows
        for i in np.flatnonzero(~finite).tolist():
            details.setdefault(int(rownum[i]), "coordinate overflows to infinity")
        coords, rownum = coords[finite], rownum[finite]
        columns = {name: col.take(finite) for name, col in columns.items()}
    rows = np.concatenate([*skip_rows, np.fromiter(details, dtype=np.int64, count=len(details))])
    codes = np.concatenate([*skip_codes, np.full(len(details), 3, dtype=np.int8)])
    order = np.argsort(rows, kind="stable")
    skipped = CsvSkipped(rows[order], codes[order].astype(np.int8), details)
    return CsvPoints(coords, rownum, columns, tuple(layout.names), layout.lon, layout.lat,
                     skipped)


def _check_args(delimiter: str) -> int:
    if len(delimiter) != 1 or ord(delimiter) > 127 or delimiter in "\"\r\n":
        raise ValueError("delimiter must be one ASCII character other than '\"', '\\r', '\\n'")
    return ord(delimiter)


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _header(data: Any, start: int, end: int, delim: int, final: bool, encoding: str,
            lon: str, lat: str, skip_bad: bool = False) -> tuple[_Layout, int] | None:
    got = _csv.parse_header(data, start, end, delim, final)
    if got is None:
        return None
    fields, pos = got
    if not fields:
        raise ValueError("CSV has no header line")
    try:
        names = [f.decode("utf-8") for f in fields]
    except UnicodeDecodeError:
        raise KernelError(Status.BAD_TEXT, f"header is not valid {encoding}", "csv") from None
    return _Layout(names, lon, lat, skip_bad), pos


def _rows_hint(data: Any, start: int, end: int) -> int:
    sample = bytes(memoryview(data)[start:min(end, start + 65536)])
    lines = sample.count(b"\n") or sample.count(b"\r") or 1
    return int((end - start) * lines / max(len(sample), 1) * 1.05) + 16


def read_csv_points(path_or_bytes: PathOrBytes, *, lon: str = "Longitude", lat: str = "Latitude",
                    encoding: str = "utf-8", delimiter: str = ",", threads: int = 2,
                    skip_bad: bool = False) -> CsvPoints:
    """Read a whole point CSV file.

    Args:
        path_or_bytes: a file path, or the file's bytes.
        lon: the longitude column's name.
        lat: the latitude column's name.
        encoding: the file's text encoding (anything but UTF-8 is recoded to UTF-8 first).
        delimiter: one ASCII character.
        threads: 1 or 2 tokenizer threads (2 splits big inputs at a line end).
        skip_bad: rows with an empty latitude, a number that does not parse or is not finite
            are left out and listed in ``CsvPoints.skipped`` (with the rows without a
            longitude) instead of raising.

    Returns:
        CsvPoints with (N, 2) float64 coords, row numbers and text columns.

    Raises:
        ValueError: missing lon/lat column, no header, bad arguments.
        KernelError: (a ValueError) ragged row, empty latitude, invalid number, bad text, with
            the row number.
    """
    delim = _check_args(delimiter)
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data: Any = path_or_bytes
        if isinstance(data, memoryview) and not data.c_contiguous:
            data = data.tobytes()
    else:
        # A private copy, not an mmap: a file rewritten while it is parsed (an upload still
        # being written) must not change the bytes between the tokenizer's passes, and a
        # truncated one must not turn into SIGBUS (MAP_PRIVATE guards against neither).
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    if not _is_utf8(encoding):
        data = bytes(data).decode(encoding).encode("utf-8")
    end = len(data)
    start = 3 if bytes(memoryview(data)[:3]) == _BOM else 0
    layout, pos = _header(data, start, end, delim, True, encoding, lon, lat,  # type: ignore[misc]
                          skip_bad)
    block = _parse_span(data, pos, end, layout, delim, True, threads, 0, 1, encoding,
                        _rows_hint(data, pos, end))
    return _finish(block, layout, 0)


def iter_csv_points(path_or_bytes: PathOrBytes, *, lon: str = "Longitude", lat: str = "Latitude",
                    encoding: str = "utf-8", delimiter: str = ",", chunk_rows: int = 200_000,
                    threads: int = 2, block_bytes: int | None = None,
                    skip_bad: bool = False) -> Iterator[CsvPoints]:
    """Stream a point CSV file in chunks of at most `chunk_rows` points, with bounded memory.

    Same semantics and errors as read_csv_points; row numbers count from the file's start.
    An error is raised when the chunk holding the bad row is parsed (earlier chunks were
    already yielded). Memory stays around `block_bytes` (default: about chunk_rows rows).
    skip_bad: as read_csv_points; the rows skipped while parsing a block are attached to the
    first chunk yielded from it.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    delim = _check_args(delimiter)
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        import io
        f: Any = io.BytesIO(bytes(path_or_bytes))
        close = False
    else:
        f = open(path_or_bytes, "rb")
        close = True
    try:
        yield from _iter(f, lon, lat, encoding, delim, chunk_rows, threads, block_bytes,
                         skip_bad)
    finally:
        if close:
            f.close()


def _iter(f: Any, lon: str, lat: str, encoding: str, delim: int, chunk_rows: int, threads: int,
          block_bytes: int | None, skip_bad: bool = False) -> Iterator[CsvPoints]:
    decoder = None if _is_utf8(encoding) else codecs.getincrementaldecoder(encoding)()
    eof = False

    def read(n: int) -> bytes:
        nonlocal eof
        raw = f.read(n)
        if not raw:
            eof = True
        if decoder is not None:
            return decoder.decode(raw, final=not raw).encode("utf-8")
        return raw

    step = block_bytes or (4 << 20)
    pending = read(step)
    if pending.startswith(_BOM):
        pending = pending[3:]
    while True:
        got = _header(pending, 0, len(pending), delim, eof, encoding, lon, lat, skip_bad)
        if got is not None:
            break
        pending += read(step)
    layout, pos = got
    line_base = pending.count(b"\n", 0, pos) + 1   # line of the first byte after the header
    pending = pending[pos:]
    record_base = 0
    per_record = None
    while True:
        if not eof and len(pending) < step:
            pending += read(step - len(pending))
        block = _parse_span(pending, 0, len(pending), layout, delim, eof, threads, record_base,
                            line_base, encoding, _rows_hint(pending, 0, len(pending)))
        consumed, records = block.consumed, block.records
        if records == 0 and consumed == 0 and not eof:
            step *= 2               # one record larger than the block: read more
            continue
        points = _finish(block, layout, record_base)
        if len(points) == 0 and points.skipped is not None and len(points.skipped):
            yield points
        for s in range(0, len(points), chunk_rows):
            part = points.slice(s, s + chunk_rows)
            if s == 0 and points.skipped is not None:
                part = dataclasses.replace(part, skipped=points.skipped)
            yield part
        line_base += pending.count(b"\n", 0, consumed)
        record_base += records
        pending = pending[consumed:]
        if per_record is None and records and block_bytes is None:
            per_record = consumed / records
            step = max(1 << 20, int(per_record * chunk_rows))
        if eof and not pending:
            return
        if eof and consumed == 0:
            return
