"""GeoJSON FeatureCollections into GeometryBuffers (one per geometry family) + raw properties.

msgspec decodes and validates the document into Structs, keeping each geometry's
``coordinates`` and each feature's ``properties`` as ``msgspec.Raw`` (the exact JSON bytes, no
Python objects per number or key); the compiled kernel (_geojson) then flattens every
coordinate array in one nogil pass.

Mixed collections: geometries are grouped by family and promoted, one GeometryBuffers each:
Point/MultiPoint → "Point" when every geometry of the family is a Point, else "MultiPoint";
LineString/MultiLineString → "MultiLineString"; Polygon/MultiPolygon → "MultiPolygon".
``types`` keeps each feature's original GeoJSON type (so a writer can restore it), and
``feature_index`` maps every family's rows back to feature positions. Null geometries go, as
``null=True`` rows, into the family of the first non-null geometry ("Point" if there is none),
so a homogeneous collection always gives exactly one GeometryBuffers (``.geometry``).
Positions keep x, y and z (z is NaN for 2-D positions of a family that has some 3-D ones);
further members (M) are dropped, as RFC 7946 §3.1.1 allows. Rings are not checked for closure.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Literal, Union

import msgspec
import numpy as np

from samsyn_fast import _geojson
from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.errors import KernelError, Status

__all__ = ["GeoJsonData", "read_geojson"]

PathOrBytes = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

GeometryTypeName = Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                           "MultiPolygon", "GeometryCollection"]


class _Geometry(msgspec.Struct):
    type: GeometryTypeName
    coordinates: msgspec.Raw = msgspec.Raw()
    geometries: msgspec.Raw = msgspec.Raw()


class _Feature(msgspec.Struct):
    type: Literal["Feature"]
    geometry: _Geometry | None
    properties: msgspec.Raw = msgspec.Raw(b"null")
    id: int | float | str | None = None


class _FeatureCollection(msgspec.Struct):
    type: Literal["FeatureCollection"]
    features: list[_Feature]
    crs: msgspec.Raw = msgspec.Raw(b"null")   # GeoJSON 2008; RFC 7946 dropped it


class _NamedCrs(msgspec.Struct):
    type: str
    properties: dict[str, Any]


_DECODER = msgspec.json.Decoder(_FeatureCollection)
# Only to say roughly where malformed JSON is: the Feature objects opened before the error.
_FEATURE_TAG = re.compile(rb'"type"\s*:\s*"Feature"')

_CODES = {"Point": _geojson.GeomCode.POINT, "MultiPoint": _geojson.GeomCode.MULTIPOINT,
          "LineString": _geojson.GeomCode.LINESTRING,
          "MultiLineString": _geojson.GeomCode.MULTILINESTRING,
          "Polygon": _geojson.GeomCode.POLYGON, "MultiPolygon": _geojson.GeomCode.MULTIPOLYGON}
_FAMILY_OF = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1, "Polygon": 2,
              "MultiPolygon": 2}
_PROBLEMS = {
    _geojson.Problem.PROBLEM_NESTING: "coordinates are not nested as the geometry type requires",
    _geojson.Problem.PROBLEM_NOT_NUMBER: "a coordinate is not a number",
    _geojson.Problem.PROBLEM_SHORT_POSITION: "a position has fewer than two numbers",
    _geojson.Problem.PROBLEM_NONFINITE: "a coordinate is not finite (overflows a double)",
    _geojson.Problem.PROBLEM_MISSING: "geometry has no 'coordinates'",
    _geojson.Problem.PROBLEM_TRAILING: "unexpected data after the coordinates",
}
_TEXT_PROBLEMS = {
    _geojson.Problem.PROBLEM_INVALID_UTF8: "'properties' is not valid UTF-8",
    _geojson.Problem.PROBLEM_NUL_ESCAPE:
        "'properties' holds \\u0000, which PostgreSQL cannot store in text or jsonb",
    _geojson.Problem.PROBLEM_LONE_SURROGATE:
        "'properties' holds a \\uD800-\\uDFFF escape outside a surrogate pair, which "
        "PostgreSQL cannot store in jsonb",
}


@dataclass(frozen=True, slots=True)
class GeoJsonData:
    """A decoded FeatureCollection.

    Attributes:
        geometries: one GeometryBuffers per family present, keyed by its geometry_type
            ("Point" or "MultiPoint", "MultiLineString", "MultiPolygon").
        feature_index: same keys; (G,) int64 feature position of each geometry row.
        types: per feature its GeoJSON geometry type, None for a null geometry.
        properties: per feature the raw JSON bytes of ``properties`` (msgspec.Raw; ``null``
            when absent), ready for a jsonb column.
        ids: per feature its ``id`` (int, float, str) or None.
        crs: the name of a GeoJSON-2008 ``"crs"`` member (e.g.
            "urn:ogc:def:crs:EPSG::3857"), None when absent (RFC 7946: WGS 84 lon/lat).
    """

    geometries: dict[str, GeometryBuffers]
    feature_index: dict[str, np.ndarray]
    types: list[str | None]
    properties: list[msgspec.Raw]
    ids: list[int | float | str | None]
    crs: str | None = None

    def __len__(self) -> int:
        return len(self.types)

    @property
    def geometry(self) -> GeometryBuffers:
        """The only GeometryBuffers (a homogeneous collection); ValueError when mixed."""
        if len(self.geometries) == 1:
            return next(iter(self.geometries.values()))
        if not self.geometries:
            return _empty_points()
        raise ValueError(f"mixed FeatureCollection: families {sorted(self.geometries)}; "
                         f"use .geometries / .feature_index")


def _empty_points() -> GeometryBuffers:
    z = np.zeros(1, np.int64)
    return GeometryBuffers("Point", np.zeros((0, 2)), None, z, z.copy(), z.copy(),
                           np.zeros(0, bool))


def _load(path_or_bytes: PathOrBytes) -> bytes | memoryview:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return path_or_bytes
    with open(path_or_bytes, "rb") as f:
        return f.read()


def _line_col(data: Any, pos: int) -> str:
    head = bytes(memoryview(data)[:pos])
    line = head.count(b"\n") + 1
    column = pos - (head.rfind(b"\n") + 1) + 1
    return f"line {line}, column {column}"


def read_geojson(path_or_bytes: PathOrBytes) -> GeoJsonData:
    r"""Read a GeoJSON FeatureCollection.

    Args:
        path_or_bytes: a file path or the document's bytes (UTF-8 JSON).

    Returns:
        GeoJsonData (see the module docstring for how mixed types are laid out).

    Raises:
        KernelError: (a ValueError) malformed JSON, nesting deeper than the decoder's limit,
            wrong member types, unsupported GeometryCollection, bad coordinates, properties
            that PostgreSQL's jsonb would refuse (not UTF-8, \\u0000, lone surrogates); the
            message names the feature index (or the line and column).
    """
    data = _load(path_or_bytes)
    if bytes(memoryview(data)[:3]) == b"\xef\xbb\xbf":
        data = memoryview(data)[3:]
    try:
        fc = _DECODER.decode(data)
    except msgspec.ValidationError as e:
        raise KernelError(Status.BAD_RECORD, f"not a GeoJSON FeatureCollection: {e}",
                          "geojson") from None
    except msgspec.DecodeError as e:
        raise _decode_error(data, str(e)) from None
    except RecursionError:
        # msgspec's depth limit is the interpreter's recursion limit minus the caller's stack
        depth, pos = _geojson.deepest(np.frombuffer(data, dtype=np.uint8))
        raise KernelError(Status.BAD_RECORD,
                          f"JSON nested {depth} levels deep, deeper than can be decoded",
                          _where(data, pos)) from None
    features = fc.features
    n = len(features)
    codes = np.zeros(n, dtype=np.uint8)
    coords: list[Any] = [None] * n
    types: list[str | None] = [None] * n
    null_family = -1
    for i, feat in enumerate(features):
        g = feat.geometry
        if g is None:
            continue
        t = g.type
        if t == "GeometryCollection":
            raise KernelError(Status.BAD_SHAPE_TYPE, "GeometryCollection is not supported",
                              f"geojson feature {i}")
        types[i] = t
        codes[i] = _CODES[t]
        raw = g.coordinates
        coords[i] = raw if len(raw) else None
        if null_family < 0:
            null_family = _FAMILY_OF[t]
    for i, feat in enumerate(features):
        first = memoryview(feat.properties)[0]
        if first != 123 and bytes(feat.properties) != b"null":   # '{'
            raise KernelError(Status.BAD_RECORD, "'properties' must be an object or null",
                              f"geojson feature {i}")
    properties = [f.properties for f in features]
    # msgspec keeps Raw members as they are: check here what the jsonb column would refuse
    bad, problem, _ = _geojson.check_text(properties)
    if bad >= 0:
        raise KernelError(Status.BAD_TEXT, _TEXT_PROBLEMS[problem], f"geojson feature {bad}")
    families, status, failed, problem, offset = _geojson.flatten(
        coords, codes, max(null_family, 0))
    if status:
        detail = _PROBLEMS.get(problem)
        raise KernelError(status, detail, f"geojson feature {failed} ({types[failed]})")
    geometries: dict[str, GeometryBuffers] = {}
    index: dict[str, np.ndarray] = {}
    for fam, out in enumerate(families):
        if out is None:
            continue
        if fam == 0:
            gtype = "Point" if out["all_points"] else "MultiPoint"
        else:
            gtype = ("MultiLineString", "MultiPolygon")[fam - 1]
        geometries[gtype] = GeometryBuffers(
            gtype, np.ascontiguousarray(out["coords"]), out["z"], out["geom_offsets"],
            out["ring_offsets"], out["polygon_offsets"], out["null"])
        index[gtype] = out["feature"]
    return GeoJsonData(geometries, index, types, properties, [f.id for f in features],
                       _crs_name(fc.crs))


def _where(data: Any, pos: int) -> str:
    """'geojson line L, column C (in or after feature K)' for a byte offset of the document."""
    where = f"geojson {_line_col(data, pos)}"
    k = len(_FEATURE_TAG.findall(bytes(memoryview(data)[:pos])))
    if k:
        where += f" (in or after feature {k - 1})"
    return where


def _decode_error(data: Any, msg: str) -> KernelError:
    if "(byte " in msg:
        try:
            return KernelError(Status.BAD_RECORD, msg,
                               _where(data, int(msg.rsplit("(byte ", 1)[1].rstrip(")"))))
        except ValueError:
            pass
    # msgspec gives no position for some text errors (a lone high surrogate escape reads as
    # "Input data was truncated"): look for the text problem ourselves
    bad, problem, pos = _geojson.check_text([data])
    if bad == 0:
        return KernelError(Status.BAD_TEXT, _TEXT_PROBLEMS[problem].replace(
            "'properties'", "the document"), _where(data, pos))
    return KernelError(Status.BAD_RECORD, msg, "geojson")


def _crs_name(raw: msgspec.Raw) -> str | None:
    if bytes(raw) == b"null":
        return None
    try:
        crs = msgspec.json.decode(raw, type=_NamedCrs)
        name = crs.properties.get("name") if crs.type == "name" else None
    except msgspec.ValidationError:
        name = None
    except msgspec.DecodeError as e:       # Raw members are not checked for UTF-8
        raise KernelError(Status.BAD_TEXT, f"'crs': {e}", "geojson") from None
    except RecursionError:
        raise KernelError(Status.BAD_RECORD, "'crs' nested deeper than can be decoded",
                          "geojson") from None
    if not isinstance(name, str):
        raise KernelError(Status.BAD_RECORD, "unsupported 'crs' member (only named CRSs)",
                          "geojson")
    return name
