"""Text columns (kernels layer): UTF-8 bytes + int64 offsets + an optional null mask, in pieces.

One class for every reader: the shapefile reader gives one piece with a null mask (blank DBF
values), the CSV reader one piece per parsed chunk and no mask (CSV has no nulls).
"""
from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

import numpy as np

from samsyn_fast import _csv

__all__ = ["StringColumn"]

_EMPTY_OFFSETS = np.zeros(1, dtype=np.int64)
_EMPTY_DATA = np.zeros(0, dtype=np.uint8)


class StringColumn:
    """A text column without a Python object per value until one is asked for.

    The rows are held in one or more pieces ``(offsets, data)``: row ``j`` of a piece is the
    UTF-8 text ``data[offsets[j]:offsets[j + 1]]`` (a piece's offsets may start above 0 when it
    is a slice; a parallel CSV parse gives one piece per chunk, so its text is never copied to
    be joined). Row ``i`` is None where ``null[i]``; without a mask no row is null.

    ``offsets`` / ``data`` give the single-buffer view (``offsets[0] == 0``, ``data`` exactly
    the column's bytes), built on first use only when the pieces are not already that.
    ``to_list()`` / ``to_numpy()`` build the Python strings (one C loop per piece);
    ``to_arrow()`` shares the text bytes (``large_string``, chunked when there are several
    pieces).
    """

    __slots__ = ("_joined", "_null", "_starts", "pieces")

    def __init__(self, offsets: np.ndarray | None = None, data: np.ndarray | None = None,
                 null: np.ndarray | None = None, *,
                 pieces: list[tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        """Wrap buffers without copying them.

        Args:
            offsets: (N + 1,) int64 offsets into `data` (one piece).
            data: (M,) uint8 UTF-8 bytes.
            null: (N,) bool, True for a null row; None: no row is null.
            pieces: instead of offsets/data, a list of ``(offsets, data)`` pieces, in row order.

        Raises:
            TypeError: neither offsets and data nor pieces given (or both).
            ValueError: the null mask's length is not the number of rows.
        """
        if pieces is None:
            if offsets is None or data is None:
                raise TypeError("StringColumn needs offsets and data, or pieces")
            pieces = [(offsets, data)]
        elif offsets is not None or data is not None:
            raise TypeError("StringColumn takes offsets and data, or pieces, not both")
        kept = [(o, d) for o, d in pieces if o.shape[0] > 1]
        self.pieces = kept or pieces[:1] or [(_EMPTY_OFFSETS, _EMPTY_DATA)]
        starts = [0]
        for o, _ in self.pieces:
            starts.append(starts[-1] + o.shape[0] - 1)
        self._starts = starts
        if null is not None:
            null = np.asarray(null, dtype=bool)
        if null is not None and null.shape != (starts[-1],):
            raise ValueError(f"null mask has shape {null.shape}, the column has "
                             f"{starts[-1]} rows")
        self._null = null
        self._joined: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ buffers

    def _join(self) -> tuple[np.ndarray, np.ndarray]:
        if self._joined is None:
            if len(self.pieces) == 1:
                o, d = self.pieces[0]
                a, b = int(o[0]), int(o[-1])
                # a whole reader output is already the flat layout: no copy
                self._joined = (o if a == 0 else o - a,
                                d if a == 0 and d.shape[0] == b else d[a:b])
            else:
                datas, offs, base = [], [_EMPTY_OFFSETS], 0
                for o, d in self.pieces:
                    a, b = int(o[0]), int(o[-1])
                    datas.append(d[a:b])
                    offs.append(o[1:] - a + base)
                    base += b - a
                self._joined = (np.concatenate(offs), np.concatenate(datas))
        return self._joined

    @property
    def offsets(self) -> np.ndarray:
        """(N + 1,) int64 offsets into `data`, ``offsets[0] == 0`` (joined on first use)."""
        return self._join()[0]

    @property
    def data(self) -> np.ndarray:
        """UTF-8 bytes of the whole column as a uint8 array (joined on first use)."""
        return self._join()[1]

    @property
    def null(self) -> np.ndarray:
        """(N,) bool, True for a null row (a new all-False array when the column has no mask)."""
        if self._null is None:
            return np.zeros(len(self), dtype=bool)
        return self._null

    @property
    def encoding(self) -> str:
        """The text encoding of `data` (always UTF-8)."""
        return "utf-8"

    @property
    def nbytes(self) -> int:
        """Bytes of the offsets, the text they span and the null mask."""
        n = 0 if self._null is None else int(self._null.nbytes)
        for o, _ in self.pieces:
            n += int(o.nbytes) + int(o[-1]) - int(o[0])
        return n

    def _has_nulls(self) -> bool:
        return self._null is not None and bool(self._null.any())

    # ------------------------------------------------------------------ sequence protocol

    def __len__(self) -> int:
        return self._starts[-1]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)):
            starts = self._starts
            n = starts[-1]
            i = int(key)
            if i < 0:
                i += n
            if not 0 <= i < n:
                raise IndexError("StringColumn index out of range")
            if self._null is not None and self._null[i]:
                return None
            pieces = self.pieces
            if len(pieces) == 1:
                o, d = pieces[0]
            else:
                k = bisect.bisect_right(starts, i) - 1
                o, d = pieces[k]
                i -= starts[k]
            return d[o[i]:o[i + 1]].tobytes().decode("utf-8")
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step == 1:
                return self.slice(start, stop)
            return self.take(np.arange(start, stop, step, dtype=np.int64))
        return self.take(key)

    def __iter__(self) -> Iterator[str | None]:
        return iter(self.to_list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StringColumn):
            return self.to_list() == other.to_list()
        if isinstance(other, list):
            return self.to_list() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = self.to_list() if len(self) <= 5 else [*self.slice(0, 5).to_list(), "..."]
        return f"StringColumn({head!r}, n={len(self)})"

    # ------------------------------------------------------------------ selections

    def slice(self, start: int, stop: int) -> StringColumn:
        """Rows [start, stop) as a view (shares offsets, text and mask; bounds are clamped)."""
        n = len(self)
        start, stop = max(0, min(start, n)), max(0, min(stop, n))
        stop = max(stop, start)
        out = []
        for k, (o, d) in enumerate(self.pieces):
            a, b = max(start, self._starts[k]), min(stop, self._starts[k + 1])
            if a < b:
                out.append((o[a - self._starts[k]:b - self._starts[k] + 1], d))
        if not out:
            o, d = self.pieces[0]
            out = [(o[:1], d)]
        null = None if self._null is None else self._null[start:stop]
        return StringColumn(null=null, pieces=out)

    def take(self, indices: Any) -> StringColumn:
        """The rows at `indices` (int positions, negative from the end, or a bool mask), copied.

        Raises:
            IndexError: a position out of range, or a mask of the wrong length.
        """
        n = len(self)
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (n,):
                raise IndexError(f"boolean index of shape {idx.shape} for {n} rows")
            idx = np.flatnonzero(idx)
        elif idx.size == 0:
            idx = np.zeros(0, dtype=np.int64)
        elif not np.issubdtype(idx.dtype, np.integer):
            raise TypeError("StringColumn indices must be integers, slices or a bool mask")
        idx = idx.astype(np.int64).ravel()
        idx = np.where(idx < 0, idx + n, idx)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError("StringColumn index out of range")
        o, d = self._join()
        starts, lens = o[idx], o[idx + 1] - o[idx]
        offsets = np.zeros(idx.shape[0] + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        # byte k of the output comes from d[starts[row] + k - offsets[row]]
        src = np.repeat(starts - offsets[:-1], lens) + np.arange(offsets[-1], dtype=np.int64)
        null = None if self._null is None else self._null[idx]
        return StringColumn(offsets, d[src], null)

    # ------------------------------------------------------------------ conversions

    def to_list(self) -> list[str | None]:
        """The values as Python str (None for nulls), one C loop per piece."""
        out: list[str | None] = []
        for o, d in self.pieces:
            o = np.ascontiguousarray(o, dtype=np.int64)
            d = np.ascontiguousarray(d, dtype=np.uint8)
            # decode_strings trusts its offsets: check them here, at the Python boundary
            if o.shape[0] > 1 and (o[0] < 0 or o[-1] > d.shape[0]
                                   or (o.shape[0] > 2 and (np.diff(o) < 0).any())):
                raise ValueError("StringColumn offsets out of order or outside the data")
            part = _csv.decode_strings(d, o)
            if len(self.pieces) == 1:
                out = part
            else:
                out.extend(part)
        if self._has_nulls():
            assert self._null is not None
            for i in np.flatnonzero(self._null).tolist():
                out[i] = None
        return out

    def to_numpy(self) -> np.ndarray:
        """An object array of str/None (pyogrio's representation)."""
        out = np.empty(len(self), dtype=object)
        out[:] = self.to_list()
        return out

    def to_arrow(self) -> Any:
        """A pyarrow ``large_string`` array over the same text bytes (needs pyarrow).

        One piece gives an Array, several a ChunkedArray (one chunk per piece). Offsets are
        shared when a piece's offsets start at 0, else rebased (a copy of the offsets only).
        """
        import pyarrow as pa

        chunks = []
        has_nulls = self._has_nulls()
        for k, (o, d) in enumerate(self.pieces):
            a, b = int(o[0]), int(o[-1])
            n = o.shape[0] - 1
            validity = None
            if has_nulls:
                assert self._null is not None
                mask = self._null[self._starts[k]:self._starts[k + 1]]
                if mask.any():
                    validity = pa.py_buffer(np.packbits(~mask, bitorder="little"))
            chunks.append(pa.Array.from_buffers(
                pa.large_string(), n,
                [validity, pa.py_buffer(np.ascontiguousarray(o if a == 0 else o - a,
                                                             dtype=np.int64)),
                 pa.py_buffer(np.ascontiguousarray(d[a:b]))]))
        return chunks[0] if len(chunks) == 1 else pa.chunked_array(chunks, pa.large_string())

    @classmethod
    def from_list(cls, values: list[str | None]) -> StringColumn:
        """Build a one-piece column from Python strings (None = null)."""
        enc = [b"" if v is None else v.encode("utf-8") for v in values]
        offsets = np.zeros(len(enc) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in enc], out=offsets[1:])
        data = np.frombuffer(b"".join(enc), dtype=np.uint8).copy()
        return cls(offsets, data, np.array([v is None for v in values], dtype=bool))
