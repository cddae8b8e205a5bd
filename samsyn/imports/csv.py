"""CSV points pipeline (legacy upload_csv_file): Longitude/Latitude columns (--lon/--lat), every
other column a string in metadata, geometry_type "Point", as the legacy recorded them."""
from __future__ import annotations

import codecs
import os
from collections.abc import Iterator

import numpy as np

from samsyn.errors import ImportFailed
from samsyn.imports.copy import Rows
from samsyn.imports.crs import crs_from_srid
from samsyn.imports.geometry import take, to_wgs84
from samsyn.imports.options import ImportOptions, ImportResult
from samsyn_fast import GeometryBuffers, StringColumn, iter_csv_points

_BLOCK = 16 << 20


def detect_encoding(path: str) -> str:
    """utf-8 when the whole file is valid UTF-8, else cp1252 when it decodes, else latin-1.

    Decided from the bytes before the first row is loaded, so a non-UTF-8 byte late in the
    file cannot fail the import half way."""
    for candidate in ("utf-8", "cp1252"):
        dec = codecs.getincrementaldecoder(candidate)()
        try:
            with open(path, "rb") as f:
                while block := f.read(_BLOCK):
                    dec.decode(block)
                dec.decode(b"", final=True)
            return candidate
        except UnicodeDecodeError:
            continue
    return "latin-1"


def _points(coords: np.ndarray) -> GeometryBuffers:
    n = coords.shape[0]
    z = np.zeros(1, dtype=np.int64)
    return GeometryBuffers("Point", coords, None, np.arange(n + 1, dtype=np.int64), z, z.copy(),
                           np.zeros(n, dtype=bool))


def chunks(options: ImportOptions, result: ImportResult) -> Iterator[Rows | None]:
    if not os.path.exists(options.path):
        raise ImportFailed(f"{options.path}: no such file")
    encoding = options.encoding
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFailed(f"{options.path}: unknown encoding {encoding!r}") from None
    else:
        encoding = detect_encoding(options.path)
    crs = crs_from_srid(options.srid, options.path) if options.srid else None
    for pts in iter_csv_points(options.path, lon=options.lon, lat=options.lat, encoding=encoding,
                               chunk_rows=max(1, options.chunk_size), skip_bad=True):
        sk = pts.skipped
        if sk is not None and len(sk):
            if options.strict:
                raise ImportFailed(f"{options.path}: row {int(sk.rows[0])}: {sk.reason(0)}")
            result.skip(sk.rows, [sk.reason(i) for i in range(min(len(sk), 100))])
            result.total += len(sk)
        result.total += len(pts)
        if len(pts) == 0:
            yield None
            continue
        # What PostgreSQL cannot store (a NUL in a value) and what reprojection could not
        # place are bad rows like the legacy's empty latitude: skipped with their reason, or
        # the end of a --strict import. Never a COPY that fails half way.
        reasons = {"a value holds a NUL character, which PostgreSQL cannot store":
                   rows_with_nul(pts.columns, len(pts))}
        geom = to_wgs84(_points(pts.coords), crs, None)
        if crs is not None:
            reasons["coordinate not finite after reprojection"] = \
                ~np.isfinite(geom.coords).all(axis=1)
        drop = np.zeros(len(pts), dtype=bool)
        for reason, bad in reasons.items():
            bad &= ~drop
            if not bad.any():
                continue
            rows = pts.row_numbers[bad]
            if options.strict:
                raise ImportFailed(f"{options.path}: row {int(rows[0])}: {reason}")
            result.skip(rows, [reason] * min(len(rows), 100))
            drop |= bad
        meta = pts.metadata_json(jsonb=True)
        if drop.any():
            geom, meta = take(geom, ~drop), meta.take(~drop)
        yield Rows(geom, (meta.offsets, meta.data))


def rows_with_nul(columns: dict[str, StringColumn], n: int) -> np.ndarray:
    """(n,) bool: rows where any text column holds a NUL byte (one vector pass per piece)."""
    bad = np.zeros(n, dtype=bool)
    for col in columns.values():
        base = 0
        for offsets, data in col.pieces:
            rows = len(offsets) - 1
            hits = np.flatnonzero(data[offsets[0]:offsets[-1]] == 0)
            if len(hits):
                bad[base + np.searchsorted(offsets, hits + offsets[0], side="right") - 1] = True
            base += rows
    return bad
