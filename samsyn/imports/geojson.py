"""GeoJSON FeatureCollection pipeline (upload_gmlh): each feature's properties object is its
metadata as written (null -> {}), geometry_type its GeoJSON type. The CRS is --srid, else the
GeoJSON-2008 "crs" member, else WGS 84 (RFC 7946)."""
from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from samsyn.errors import ImportFailed
from samsyn.imports.copy import Rows
from samsyn.imports.crs import crs_from_name, crs_from_srid
from samsyn.imports.geometry import REASONS, TYPE_NAMES, problems, take, to_wgs84
from samsyn.imports.options import ImportOptions, ImportResult
from samsyn_fast import encode_ewkb, read_geojson

_TYPE_CODE = {name.decode(): k for k, name in enumerate(TYPE_NAMES)}


def _ragged(values: list[bytes], prefix: bytes) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
    lengths += len(prefix)
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.frombuffer(b"".join(prefix + v for v in values), dtype=np.uint8)
    return offsets, data


def _merge(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Ragged values of several subsets (positions, offsets, data) back into row order."""
    lengths = np.zeros(n, dtype=np.int64)
    for pos, off, _ in parts:
        lengths[pos] = np.diff(off)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    for pos, off, data in parts:
        ln = np.diff(off)
        dst = np.repeat(offsets[pos] - off[:-1], ln) + np.arange(int(off[-1]), dtype=np.int64)
        out[dst] = data[off[0]:off[-1]] if off[0] == 0 else data[off[0]:off[-1]]
    return offsets, out


def chunks(options: ImportOptions, result: ImportResult) -> Iterator[Rows | None]:
    if not os.path.exists(options.path):
        raise ImportFailed(f"{options.path}: no such file")
    data = read_geojson(options.path)
    n = len(data)
    result.total = n
    if options.srid:
        crs = crs_from_srid(options.srid, options.path)
    elif data.crs:
        crs = crs_from_name(data.crs, options.path)
    else:
        crs = None
    no_geometry = np.array([t is None for t in data.types], dtype=bool)
    if no_geometry.any():
        rows = np.flatnonzero(no_geometry) + 1
        _skip(options, result, rows, [REASONS[1]] * min(len(rows), 100))
    step = max(1, options.chunk_size)
    for family, geom in data.geometries.items():
        feature = np.asarray(data.feature_index[family], dtype=np.int64)
        codes = problems(geom)
        # null geometries were reported above (types[i] is None)
        codes[np.asarray(geom.null, dtype=bool)] = 0
        keep = (codes == 0) & ~np.asarray(geom.null, dtype=bool)
        bad = np.flatnonzero(codes != 0)
        if len(bad):
            _skip(options, result, feature[bad] + 1, [REASONS[int(c)] for c in codes[bad][:100]])
        if not keep.all():
            geom, feature = take(geom, keep), feature[keep]
        for start in range(0, len(feature), step):
            sel = np.zeros(len(feature), dtype=bool)
            sel[start:start + step] = True
            part, feats = take(geom, sel), feature[start:start + step]
            out = to_wgs84(part, crs, options.simplify)
            if out is not part:
                codes = problems(out)
                if (codes != 0).any():
                    ok = codes == 0
                    b = np.flatnonzero(~ok)
                    _skip(options, result, feats[b] + 1,
                          [REASONS[int(c)] for c in codes[b][:100]])
                    out, feats = take(out, ok), feats[ok]
            if len(feats) == 0:
                yield None
                continue
            types = np.array([_TYPE_CODE[data.types[i]] for i in feats.tolist()], dtype=np.int8)
            if out.geometry_type == "MultiPoint":   # Points promoted with MultiPoints: stored multi
                types[:] = _TYPE_CODE["MultiPoint"]
            yield Rows(None, _ragged([_props(data.properties[i]) for i in feats.tolist()],
                                     b"\x01"), types, _encode(out, types))


def _props(raw: object) -> bytes:
    b = bytes(raw)  # type: ignore[call-overload]
    return b"{}" if b == b"null" else b


def _encode(geom, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EWKB keeping each feature's own type: a one-part MultiLineString stays multi."""
    single = np.isin(types, (_TYPE_CODE["LineString"], _TYPE_CODE["Polygon"]))
    if geom.geometry_type in ("Point", "MultiPoint") or single.all() or not single.any():
        return encode_ewkb(geom, srid=4326, single=bool(single.all()))
    parts = []
    for mask, flag in ((single, True), (~single, False)):
        d, o = encode_ewkb(take(geom, mask), srid=4326, single=flag)
        parts.append((np.flatnonzero(mask), o, d))
    return _merge(parts, len(types))


def _skip(options: ImportOptions, result: ImportResult, rows: np.ndarray, reasons: list[str]
          ) -> None:
    if options.strict:
        raise ImportFailed(f"{options.path}: feature {int(rows[0])}: {reasons[0]}")
    result.skip(rows, reasons)
