"""samsyn_fast.geojson against shapely.from_geojson (GEOS) and pyogrio, plus its error messages."""
from __future__ import annotations

import json
from pathlib import Path

import msgspec
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.errors import KernelError
from samsyn_fast.geojson import GeoJsonData, read_geojson

DATA = Path(__file__).resolve().parents[1] / "data" / "testdata"
FILES = sorted(DATA.glob("**/*.geojson"))
PROMOTE = {"Point": None, "MultiPoint": None, "LineString": shapely.multilinestrings,
           "MultiLineString": None, "Polygon": shapely.multipolygons, "MultiPolygon": None}


# What PostgreSQL text/jsonb can hold (no NUL; lone surrogates cannot be encoded anyway):
# the reader refuses the rest, tested below.
STORABLE_TEXT = st.text(st.characters(blacklist_characters="\x00",
                                      blacklist_categories=("Cs",)), max_size=5)


def to_shapely(buf: GeometryBuffers) -> list:
    """Rebuild shapely geometries from the ragged buffers (None for null rows), one by one
    (shapely.from_ragged_array trips over all-empty inputs)."""
    xy = buf.coords if buf.z is None else np.column_stack([buf.coords, buf.z])
    t, go, ro, po = buf.geometry_type, buf.geom_offsets, buf.ring_offsets, buf.polygon_offsets

    def ring(r):
        return xy[ro[r]:ro[r + 1]]

    def polygon(p):
        rings = [ring(r) for r in range(po[p], po[p + 1])]
        return shapely.Polygon(rings[0], [shapely.LinearRing(r) for r in rings[1:]])

    out = []
    for i in range(len(buf)):
        if t == "Point":
            g = shapely.points(xy[go[i]]) if go[i + 1] > go[i] else shapely.from_wkt("POINT EMPTY")
        elif t == "MultiPoint":
            g = shapely.multipoints(xy[go[i]:go[i + 1]]) if go[i + 1] > go[i] \
                else shapely.from_wkt("MULTIPOINT EMPTY")
        elif t == "MultiLineString":
            parts = [shapely.linestrings(ring(r)) for r in range(go[i], go[i + 1])]
            g = shapely.multilinestrings(parts) if parts \
                else shapely.from_wkt("MULTILINESTRING EMPTY")
        else:
            parts = [polygon(p) for p in range(go[i], go[i + 1])]
            g = shapely.multipolygons(parts) if parts else shapely.from_wkt("MULTIPOLYGON EMPTY")
        out.append(None if buf.null[i] else g)
    return out


def reference(geometry: dict | None, family_type: str):
    """GEOS's reading of one GeoJSON geometry, promoted like samsyn promotes it."""
    if geometry is None:
        return None
    g = shapely.from_geojson(json.dumps(geometry))
    if family_type == "MultiPoint" and geometry["type"] == "Point":
        g = shapely.multipoints([g]) if not g.is_empty else shapely.from_wkt("MULTIPOINT EMPTY")
    elif geometry["type"] in ("LineString", "Polygon"):
        if g.is_empty:
            g = shapely.from_wkt("MULTILINESTRING EMPTY" if geometry["type"] == "LineString"
                                 else "MULTIPOLYGON EMPTY")
        else:
            g = PROMOTE[geometry["type"]]([g])
    return g


def assert_matches_geos(data: GeoJsonData, doc: dict) -> None:
    features = doc["features"]
    assert len(data) == len(features)
    seen = []
    for gtype, buf in data.geometries.items():
        assert buf.geometry_type == gtype
        assert buf.coords.dtype == np.float64 and buf.coords.flags.c_contiguous
        assert buf.geom_offsets[0] == 0 and buf.ring_offsets[0] == 0 and buf.polygon_offsets[0] == 0
        ours = to_shapely(buf)
        for row, fi in enumerate(data.feature_index[gtype].tolist()):
            seen.append(fi)
            geom = features[fi]["geometry"]
            ref = reference(geom, gtype)
            if ref is None:
                assert ours[row] is None
                continue
            dim = 3 if buf.z is not None else 2
            assert shapely.to_wkb(ours[row], output_dimension=dim) == \
                shapely.to_wkb(ref, output_dimension=dim), (fi, geom)
    assert sorted(seen) == list(range(len(features)))
    for i, f in enumerate(features):
        assert data.types[i] == (f["geometry"]["type"] if f["geometry"] else None)
        assert msgspec.json.decode(data.properties[i]) == f.get("properties")
        assert data.ids[i] == f.get("id")


# --- real files ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_testdata_files_match_geos(path):
    doc = json.loads(path.read_bytes())
    assert_matches_geos(read_geojson(path), doc)


def test_cycle_hire_matches_pyogrio():
    import pyogrio
    path = DATA / "r-cran-spdata" / "cycle_hire.geojson"
    _, _, wkb, _ = pyogrio.raw.read(path)
    expected = shapely.get_coordinates(shapely.from_wkb(wkb))
    got = read_geojson(path).geometry
    assert got.geometry_type == "Point" and len(got) == 742
    np.testing.assert_array_equal(got.coords, expected)


def test_null_geometries_ride_with_the_first_family():
    data = read_geojson(DATA / "geopandas-0.14.4" / "null_geom.geojson")
    buf = data.geometry
    assert buf.geometry_type == "MultiLineString"
    assert buf.null.tolist() == [True, False]    # the null comes first in the file
    assert buf.geom_offsets[0] == buf.geom_offsets[1]
    assert data.types == [None, "LineString"]


def test_mixed_collection_splits_by_family():
    data = read_geojson(DATA / "fiona-1.10.1" / "trio.geojson")
    assert sorted(data.geometries) == ["MultiLineString", "MultiPolygon", "Point"]
    with pytest.raises(ValueError, match="mixed FeatureCollection"):
        _ = data.geometry


# --- property-based: random collections vs GEOS ---------------------------------------------

num = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-10**6, 10**6),
                st.floats(allow_nan=False, allow_infinity=False, width=64))


@st.composite
def position(draw, dim):
    return [draw(num) for _ in range(dim)]


@st.composite
def ring(draw, dim):
    pts = draw(st.lists(position(dim), min_size=3, max_size=6))
    return pts + [list(pts[0])]


@st.composite
def geometry(draw, dim):
    kind = draw(st.sampled_from(["Point", "MultiPoint", "LineString", "MultiLineString",
                                 "Polygon", "MultiPolygon", None]))
    line = st.lists(position(dim), min_size=2, max_size=5)
    poly = st.lists(ring(dim), min_size=1, max_size=3)
    if kind is None:
        return None
    coords = {
        "Point": position(dim),
        "MultiPoint": st.lists(position(dim), max_size=4),
        "LineString": line,
        "MultiLineString": st.lists(line, max_size=3),
        "Polygon": poly,
        "MultiPolygon": st.lists(poly, max_size=3),
    }[kind]
    return {"type": kind, "coordinates": draw(coords)}


@st.composite
def collections(draw):
    dim = draw(st.sampled_from([2, 3]))
    feats = []
    for _ in range(draw(st.integers(0, 8))):
        f = {"type": "Feature", "geometry": draw(geometry(dim)),
             "properties": draw(st.one_of(st.none(), st.dictionaries(
                 STORABLE_TEXT, st.one_of(st.integers(), STORABLE_TEXT,
                                                st.booleans(), st.none()), max_size=3)))}
        ident = draw(st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=3)))
        if ident is not None:
            f["id"] = ident
        feats.append(f)
    return {"type": "FeatureCollection", "features": feats}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=collections(), indent=st.sampled_from([None, 1]))
def test_random_collections_match_geos(doc, indent):
    data = read_geojson(json.dumps(doc, indent=indent).encode())
    assert_matches_geos(data, doc)


@settings(max_examples=200, deadline=None)
@given(x=st.floats(allow_nan=False, allow_infinity=False),
       fmt=st.sampled_from(["{!r}", "{:.17g}", "{:.3e}", "{:.0E}", "{:.10f}"]))
def test_numbers_equal_python_float(x, fmt):
    text = fmt.format(x)
    if "inf" in text or "nan" in text:
        return
    digits = text.lstrip("-")
    if digits.startswith("0") and len(digits) > 1 and digits[1].isdigit():
        return   # leading zeros are not JSON
    if text.endswith("."):
        text += "0"
    if not np.isfinite(float(text)):
        return   # rounding the text overflowed (e.g. 1.798e+308)
    neg = text[1:] if text.startswith("-") else "-" + text
    doc = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
           f'"geometry":{{"type":"Point","coordinates":[{text}, {neg}]}}}}]}}')
    got = read_geojson(doc.encode()).geometry.coords
    assert got[0, 0].tobytes() == np.float64(float(text)).tobytes()
    assert got[0, 1].tobytes() == np.float64(float(neg)).tobytes()


# --- shapes and details ------------------------------------------------------------------------

def fc(*geoms, **extra) -> bytes:
    feats = [{"type": "Feature", "geometry": g, "properties": {"i": i}, **extra}
             for i, g in enumerate(geoms)]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def test_points_only_stay_points_and_promote_with_multipoints():
    pts = read_geojson(fc({"type": "Point", "coordinates": [1, 2]},
                          {"type": "Point", "coordinates": [3, 4]})).geometry
    assert pts.geometry_type == "Point" and pts.geom_offsets.tolist() == [0, 1, 2]
    mixed = read_geojson(fc({"type": "Point", "coordinates": [1, 2]},
                            {"type": "MultiPoint", "coordinates": [[3, 4], [5, 6]]})).geometry
    assert mixed.geometry_type == "MultiPoint" and mixed.geom_offsets.tolist() == [0, 1, 3]


def test_polygon_offsets_layout():
    sq = [[0, 0], [1, 0], [1, 1], [0, 0]]
    buf = read_geojson(fc({"type": "Polygon", "coordinates": [sq, sq]},
                          {"type": "MultiPolygon", "coordinates": [[sq], [sq, sq, sq]]},
                          None,
                          {"type": "Polygon", "coordinates": []})).geometry
    assert buf.geometry_type == "MultiPolygon"
    assert buf.geom_offsets.tolist() == [0, 1, 3, 3, 3]
    assert buf.polygon_offsets.tolist() == [0, 2, 3, 6]
    assert buf.ring_offsets.tolist() == [0, 4, 8, 12, 16, 20, 24]
    assert buf.null.tolist() == [False, False, True, False]


def test_z_and_extra_members():
    line = {"type": "LineString", "coordinates": [[1, 2, 3], [4, 5], [6, 7, 8, 9]]}
    buf = read_geojson(fc(line)).geometry
    assert buf.coords.tolist() == [[1, 2], [4, 5], [6, 7]]
    assert buf.z[0] == 3 and np.isnan(buf.z[1]) and buf.z[2] == 8
    assert read_geojson(fc({"type": "Point", "coordinates": [1, 2]})).geometry.z is None


def test_properties_raw_and_ids():
    data = read_geojson(b'{"type":"FeatureCollection","features":[{"type":"Feature","id":"a",'
                        b'"geometry":null,"properties":{"x": [1, {"y": null}]}},'
                        b'{"type":"Feature","geometry":null}]}')
    assert bytes(data.properties[0]) == b'{"x": [1, {"y": null}]}'
    assert bytes(data.properties[1]) == b"null"
    assert data.ids == ["a", None]
    assert data.geometry.geometry_type == "Point" and data.geometry.null.all()


def test_empty_collection():
    data = read_geojson(b'{"type":"FeatureCollection","features":[]}')
    assert len(data) == 0 and data.geometries == {} and len(data.geometry) == 0


# --- errors name the feature -------------------------------------------------------------------

@pytest.mark.parametrize("geom,pattern", [
    ({"type": "Point", "coordinates": [[1, 2]]}, r"feature 1 \(Point\): coordinates are not nest"),
    ({"type": "LineString", "coordinates": [1, 2]}, r"feature 1 \(LineString\): coordinates are"),
    ({"type": "Polygon", "coordinates": [[[0, "a"]]]}, r"feature 1 \(Polygon\): a coordinate is"),
    ({"type": "Point", "coordinates": [1, None]}, r"not a number"),
    ({"type": "MultiPoint", "coordinates": [[1]]}, r"feature 1 \(MultiPoint\): a position has"),
    ({"type": "Point"}, r"feature 1 \(Point\): geometry has no 'coordinates'"),
    ({"type": "GeometryCollection", "geometries": []}, r"feature 1: GeometryCollection"),
    ({"type": "Curve", "coordinates": []}, r"\$\.features\[1\]\.geometry\.type"),
    ({"type": "Point", "coordinates": {"x": 1}}, r"feature 1 \(Point\): coordinates are not"),
])
def test_bad_geometries(geom, pattern):
    with pytest.raises(KernelError, match=pattern):
        read_geojson(fc({"type": "Point", "coordinates": [0, 0]}, geom))


def test_nonfinite_and_bad_json():
    text = b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},' \
           b'"geometry":{"type":"Point","coordinates":[1e999, 0]}}]}'
    with pytest.raises(KernelError, match=r"feature 0 \(Point\): a coordinate is not finite"):
        read_geojson(text)
    with pytest.raises(KernelError, match=r"line 2, column \d+.*malformed"):
        read_geojson(b'{"type":"FeatureCollection",\n"features":[NaN]}')
    bad = fc({"type": "Point", "coordinates": [0, 0]}, {"type": "Point", "coordinates": [1, 2]})
    bad = bad.replace(b"[1, 2]", b"[1, NaN]")
    with pytest.raises(KernelError, match=r"line 1, column \d+ \(in or after feature 1\)"):
        read_geojson(bad)
    with pytest.raises(KernelError, match=r"Expected `object`, got `str` - at `\$\.features\[0\]`"):
        read_geojson(b'{"type":"FeatureCollection","features":["x"]}')
    with pytest.raises(KernelError, match="not a GeoJSON FeatureCollection"):
        read_geojson(b'{"type":"Feature","geometry":null,"properties":{}}')


@settings(max_examples=300, deadline=None)
@given(coords=st.recursive(
    st.one_of(st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=2), st.none(), st.booleans()),
    lambda inner: st.lists(inner, max_size=4), max_leaves=12),
    kind=st.sampled_from(["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                          "MultiPolygon"]))
def test_arbitrary_coordinates_never_crash(coords, kind):
    # Any JSON value as coordinates: a result that GEOS agrees with, or a KernelError.
    geom = {"type": kind, "coordinates": coords}
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": geom,
                                                      "properties": None}]}
    try:
        data = read_geojson(json.dumps(doc).encode())
    except KernelError:
        return
    try:
        shapely.from_geojson(json.dumps(geom))
    except Exception:
        return   # GEOS is stricter (ring closure, 2-point lines): nothing to compare
    if coords != [] and "[]" in json.dumps(coords):
        # An empty ring or part inside: samsyn keeps the nesting as written (a zero-length
        # ring), GEOS sometimes drops it (POLYGON EMPTY) and sometimes keeps it.
        return
    assert_matches_geos(data, doc)


def test_crs_member_bom_and_properties_type():
    data = read_geojson(DATA / "geopandas-0.14.4" / "null_geom.geojson")
    assert data.crs == json.loads((DATA / "geopandas-0.14.4" / "null_geom.geojson").read_bytes())[
        "crs"]["properties"]["name"]
    assert read_geojson(b"\xef\xbb\xbf" + fc({"type": "Point", "coordinates": [1, 2]})).crs is None
    with pytest.raises(KernelError, match=r"feature 0: 'properties' must be an object or null"):
        read_geojson(b'{"type":"FeatureCollection","features":[{"type":"Feature",'
                     b'"geometry":null,"properties":[1]}]}')
    with pytest.raises(KernelError, match=r"\$\.features\[0\]\.id"):
        read_geojson(b'{"type":"FeatureCollection","features":[{"type":"Feature",'
                     b'"geometry":null,"properties":{},"id":true}]}')


def _doc(props: bytes = b"{}", geom: bytes = b'{"type":"Point","coordinates":[1,2]}',
         crs: bytes | None = None, extra: bytes = b"") -> bytes:
    """Two features (the second one carries the given members), written by hand so that bytes
    json.dumps would never write (invalid UTF-8, raw escapes) can be placed."""
    good = b'{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{}}'
    second = b'{"type":"Feature","geometry":' + geom + b',"properties":' + props + extra + b"}"
    head = b'{"type":"FeatureCollection",' + (b'"crs":' + crs + b"," if crs else b"")
    return head + b'"features":[' + good + b"," + second + b"]}"


def _nest(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [1000, 5000, 100_000])
@pytest.mark.parametrize("where", ["properties", "coordinates", "extra member", "crs"])
def test_deep_nesting_is_a_kernel_error_naming_the_place(where, depth):
    # msgspec raises RecursionError past the interpreter's limit (~1000 levels): never let it out
    doc = {"properties": lambda: _doc(props=b'{"a":' + _nest(depth) + b"}"),
           "coordinates": lambda: _doc(geom=b'{"type":"Point","coordinates":' + _nest(depth)
                                       + b"}"),
           "extra member": lambda: _doc(extra=b',"foo":' + _nest(depth)),
           "crs": lambda: _doc(crs=b'{"type":"name","properties":{"name":' + _nest(depth)
                               + b"}}")}[where]()
    with pytest.raises(KernelError, match=r"JSON nested (\d+) levels deep") as err:
        read_geojson(doc)
    assert depth < int(str(err.value).split("nested ")[1].split()[0]) <= depth + 4
    if where != "crs":
        assert "(in or after feature 1)" in str(err.value)


def test_moderate_nesting_in_properties_is_kept():
    data = read_geojson(_doc(props=b'{"a":' + _nest(200) + b"}"))
    assert json.loads(bytes(data.properties[1]))["a"] == json.loads(_nest(200))


@pytest.mark.parametrize("props, problem", [
    (b'{"a":"x\xff"}', "is not valid UTF-8"),
    (b'{"\xc3":"x"}', "is not valid UTF-8"),                     # a cut sequence in a key
    (b'{"a":"\xed\xa0\x80"}', "is not valid UTF-8"),             # an encoded surrogate
    (b'{"a":"\xc0\xaf"}', "is not valid UTF-8"),                 # an overlong
    (b'{"a":"x\\u0000"}', r"\\u0000, which PostgreSQL cannot store"),
    (b'{"a":{"b":["\\u0000"]}}', r"\\u0000, which PostgreSQL cannot store"),
    (b'{"a":"\\udc00"}', "surrogate pair"),           # msgspec itself refuses some of these
    (b'{"a":"\\ud800"}', "outside a surrogate pair"),
    (b'{"a":"\\ud800\\u0041"}', "surrogate pair"),
])
def test_properties_postgres_would_refuse_name_the_feature(props, problem):
    with pytest.raises(KernelError, match=rf"feature 1\)?: .*{problem}"):
        read_geojson(_doc(props=props))


@pytest.mark.parametrize("props", [
    b'{"a":"\\\\u0000"}',                 # an escaped backslash, then the text u0000
    b'{"a":"\\ud83d\\ude00 caf\xc3\xa9 \\u00e9"}',
    b'{"\xe6\x97\xa5":"\xf0\x9f\x98\x80"}',
])
def test_storable_text_passes_through_unchanged(props):
    data = read_geojson(_doc(props=props))
    assert bytes(data.properties[1]) == props


def test_crs_that_is_not_utf8_is_a_kernel_error():
    with pytest.raises(KernelError, match=r"'crs': Invalid UTF-8"):
        read_geojson(_doc(crs=b'{"type":"name","properties":{"name":"EPSG:\xff"}}'))


_SPLICES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\\u0000", b"\\ud800", b"\\udc00", b"\\",
            b'"', b"[", b"]", b"{", b"}", b",", b":", b"\x00", b"1e999", b"-", b"[" * 3000]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(_SPLICES),
                               st.integers(0, 3)), min_size=1, max_size=4))
def test_mutated_documents_give_a_result_or_a_kernel_error(cuts):
    # Splice bytes into a valid document (replacing 0-3 bytes): whatever comes out is a
    # KernelError, or a result whose properties PostgreSQL's jsonb can store.
    doc = bytearray(_doc(props=b'{"name":"caf\xc3\xa9","n":[1,{"b":"\\u00e9"}],"k":null}',
                         crs=b'{"type":"name","properties":{"name":"EPSG:4326"}}'))
    for at, splice, drop in cuts:
        at %= len(doc) + 1
        doc[at:at + drop] = splice
    try:
        data = read_geojson(bytes(doc))
    except KernelError:
        return
    for raw in data.properties:
        text = bytes(raw).decode("utf-8")          # strict: no invalid bytes

        def walk(v):
            if isinstance(v, str):
                assert "\x00" not in v
                v.encode("utf-8")                  # no lone surrogates
            elif isinstance(v, dict):
                for k, x in v.items():
                    walk(k)
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(json.loads(text))
