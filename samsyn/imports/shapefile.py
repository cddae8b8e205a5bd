"""Shapefile pipeline (.shp with .shx/.dbf/.prj/.cpg, or a .zip holding them) -> chunks of rows.

metadata: one JSON object per record from the DBF columns, as GDAL / geopandas give them:
integers as JSON integers, floats as floats (NaN / null -> null), text as strings, dates as
"YYYY-MM-DD", logicals as true/false, blank -> null; built by samsyn_fast's json_records kernel
(no Python object per value). geometry_type: Point / MultiPoint / LineString / Polygon for
single-part shapes and MultiLineString / MultiPolygon for multi-part ones, as GDAL reads them.
"""
from __future__ import annotations

import json
import os
import struct
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from samsyn.errors import ImportFailed
from samsyn.imports.copy import Rows
from samsyn.imports.crs import crs_from_srid
from samsyn.imports.geometry import REASONS, problems, take, to_wgs84
from samsyn.imports.options import ImportOptions, ImportResult
from samsyn_fast import StringColumn, iter_shapefile
from samsyn_fast import _csv as _json_kernel


def _sidecar(path: str, ext: str) -> str | None:
    directory, base = os.path.split(path)
    stem = os.path.splitext(base)[0].lower()
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return None
    for name in names:
        s, e = os.path.splitext(name)
        if s.lower() == stem and e.lower() == ext:
            return os.path.join(directory, name)
    return None


def check_files(path: str) -> int | None:
    """Fail early when the .shp or .dbf is missing; the record count when it is cheap to know."""
    if not os.path.exists(path):
        raise ImportFailed(f"{path}: no such file")
    if path.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n.lower() for n in zf.namelist()]
        except zipfile.BadZipFile as exc:
            raise ImportFailed(f"{path}: not a readable zip file ({exc})") from None
        if any(n.endswith(".shp") for n in names) and not any(n.endswith(".dbf") for n in names):
            raise ImportFailed(f"{path}: the zip holds no .dbf (a shapefile needs its "
                               f"attribute table)")
        return None
    dbf = _sidecar(path, ".dbf")
    if dbf is None:
        raise ImportFailed(f"{path}: no .dbf next to it (a shapefile needs its attribute table)")
    try:
        with open(dbf, "rb") as f:
            head = f.read(8)
        return struct.unpack("<I", head[4:8])[0] if len(head) == 8 else None
    except OSError:
        return None


def metadata_json(chunk: Any) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, data): 0x01 + the JSON object of every record of a Shapefile chunk."""
    n = len(chunk)
    keys, kinds, values, nulls = [], [], [], []
    for f in chunk.fields:
        col = chunk.columns[f.name]
        null = np.ascontiguousarray(chunk.nulls[f.name], dtype=bool).view(np.uint8)
        keys.append(json.dumps(f.name, ensure_ascii=False).encode("utf-8"))
        if isinstance(col, StringColumn):
            kinds.append(0)
            values.append((np.ascontiguousarray(col.offsets, dtype=np.int64),
                           np.ascontiguousarray(col.data, dtype=np.uint8)))
        else:
            arr = np.asarray(col)
            if arr.dtype.kind in "iu":
                kinds.append(1)
                values.append(np.ascontiguousarray(arr, dtype=np.int64))
            elif arr.dtype.kind == "f":
                kinds.append(2)
                values.append(np.ascontiguousarray(arr, dtype=np.float64))
            elif arr.dtype.kind == "M":
                kinds.append(3)
                days = np.ascontiguousarray(arr.astype("datetime64[D]").view(np.int64))
                null = (null.astype(bool) | (days == np.iinfo(np.int64).min)).view(np.uint8)
                values.append(days)
            elif arr.dtype.kind == "b":
                kinds.append(4)
                values.append(np.ascontiguousarray(arr, dtype=bool).view(np.uint8))
            else:
                raise TypeError(f"unexpected DBF column dtype {arr.dtype}")
        nulls.append(np.ascontiguousarray(null))
    return _json_kernel.json_records(keys, kinds, values, nulls, n, 1)


def take_json(meta: tuple[np.ndarray, np.ndarray], keep: np.ndarray) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    col = StringColumn(meta[0], meta[1]).take(keep)
    return col.offsets, col.data


# A chunk holds at most chunk_size records and about this many .shp bytes (lines and polygons
# of many vertices: memory stays bounded and reading overlaps the COPY).
_CHUNK_SHP_BYTES = 16 << 20


def chunk_records(options: ImportOptions) -> int:
    records = max(1, options.chunk_size)
    if options.path.lower().endswith(".zip"):
        return records
    try:
        n = check_files(options.path) or 0
        size = os.path.getsize(options.path)
    except (ImportFailed, OSError):
        return records
    if n and size > _CHUNK_SHP_BYTES:
        records = min(records, max(1, int(_CHUNK_SHP_BYTES * n / size)))
    return records


def chunks(options: ImportOptions, result: ImportResult) -> Iterator[Rows | None]:
    """Rows of each chunk of the file (None for a chunk whose every row was skipped)."""
    crs = crs_from_srid(options.srid, options.path) if options.srid else None
    for chunk in iter_shapefile(options.path, chunk_records=chunk_records(options),
                                encoding=options.encoding):
        result.total += len(chunk)
        geom = chunk.geometry
        src_crs = crs if crs is not None else _file_crs(chunk, options.path)
        meta = metadata_json(chunk)
        codes = problems(geom)
        transformed = False
        if (codes == 0).all():
            keep = None
        else:
            keep = codes == 0
        if keep is not None:
            bad = np.flatnonzero(~keep)
            _skip(options, result, chunk.record_numbers[bad], codes[bad])
            geom = take(geom, keep)
            meta = take_json(meta, keep)
            rec = chunk.record_numbers[keep]
        else:
            rec = chunk.record_numbers
        out = to_wgs84(geom, src_crs, options.simplify)
        transformed = out is not geom
        if transformed and len(out):
            codes = problems(out)
            if (codes != 0).any():
                keep = codes == 0
                bad = np.flatnonzero(~keep)
                _skip(options, result, rec[bad], codes[bad])
                out = take(out, keep)
                meta = take_json(meta, keep)
        if len(out) == 0:
            yield None
            continue
        yield Rows(out, meta)


def _file_crs(chunk: Any, path: str) -> Any:
    """The .prj's CRS; without a .prj the data must be longitude/latitude (EPSG:4326).

    Never guess silently: an unreadable .prj, or no .prj with coordinates no longitude /
    latitude can have, would load the shapes in the wrong place; the user passes --srid.
    """
    if chunk.prj is not None:
        if chunk.crs is None:
            raise ImportFailed(f"{path}: the .prj is not a coordinate system pyproj can read; "
                               f"pass --srid with the file's EPSG code")
        return chunk.crs
    xy = chunk.geometry.coords
    if xy.shape[0] and not (np.all(np.abs(xy[:, 0]) <= 180.0) and np.all(np.abs(xy[:, 1]) <= 90.0)):
        raise ImportFailed(f"{path}: no .prj, and its coordinates are not longitude/latitude "
                           f"(outside -180..180 / -90..90); pass --srid with the file's EPSG code")
    return None


def _skip(options: ImportOptions, result: ImportResult, records: np.ndarray,
          codes: np.ndarray) -> None:
    reasons = [REASONS[int(c)] for c in codes[:100]]
    if options.strict:
        raise ImportFailed(f"{options.path}: record {int(records[0])}: {reasons[0]}")
    result.skip(records, reasons)
