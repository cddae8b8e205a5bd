r"""samsyn_fast.shapefile against pyshp 3 and pyogrio (GDAL) on real and generated shapefiles.

Where the two references disagree (REFERENCE.json `disagreements`) we follow the format
specification, and each test below says which reader we agree with:

* deleted records (deleted_records.shp): the dBase spec marks a deleted record with '*'; it is
  not part of the data, and the shapefile spec pairs shape i with record i, so the shape goes
  too. That is pyogrio/GDAL's behaviour (3 features). pyshp's shapes() keeps 4 shapes but
  records() 3, i.e. misaligned; we agree with pyogrio (and with pyshp's iterShapeRecords).
* M values (linem, storms_xyzm, MyPolyZ, linez): the buffers have no M; we drop it like
  pyogrio. X/Y/Z are compared with both readers.
* memo fields (memotest.dbf): the .FPT holds the text; pyshp raises KeyError and pyogrio
  returns the raw 4-byte block number ('\x01'). We read the memo text from the .FPT (FoxPro
  spec; dbfread, the file's origin, reads the same), so we agree with neither.
* missing .shx (latin1.shp): the spec makes the .shx an index, not the data; records are
  contiguous after the 100-byte header, so we scan the .shp (as pyshp does, and as GDAL does
  with SHAPE_RESTORE_SHX=YES, which is how we compare with pyogrio).
* invalid dates (invalid_value.dbf "NotAYear"): D must be YYYYMMDD; pyshp returns the raw
  string, pyogrio raises. We raise a KernelError naming file, record and field (closer to
  pyogrio: no silently wrong value).
* MultiPatch (multipatch.shp, test_tin.shp): pyshp gives raw parts + partTypes, GDAL a TIN
  per strip/fan part (WKB shapely cannot decode). The buffers have no TIN, so we return a
  MultiPolygon Z of the same triangles (checked against both, GDAL's WKB decoded by hand).
"""
from __future__ import annotations

import datetime as dt
import glob
import json
import math
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapefile as pyshp
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samsyn_fast.errors import KernelError
from samsyn_fast.shapefile import (
    StringColumn,
    iter_shapefile,
    read_dbf,
    read_shapefile,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "testdata"
REFERENCE = json.loads((DATA / "REFERENCE.json").read_text())
REF_BY_PATH = {f["path"]: f for f in REFERENCE["files"]}

SHAPEFILES = sorted(
    p for p in glob.glob(str(DATA / "*" / "*.shp"))
    if os.path.basename(p) not in ("multipatch.shp", "test_tin.shp")  # tested on their own
)
ZIPS = ["fiona-1.10.1/coutwildrnp.zip", "pyshp-3.1.6/blockgroups.zip", "pyshp-3.1.6/REL.zip",
        "geopandas-0.14.4/nybb_16a.zip"]


# ---------------------------------------------------------------- helpers


def features(shp) -> list:
    """Per row: None (null) or a nested list of (n, 2|3) arrays (points, parts or polygons)."""
    g = shp.geometry
    xyz = g.coords if g.z is None else np.column_stack([g.coords, g.z])
    out = []
    for i in range(len(g)):
        if g.null[i]:
            out.append(None)
            continue
        a, b = g.geom_offsets[i], g.geom_offsets[i + 1]
        if g.geometry_type in ("Point", "MultiPoint"):
            out.append([xyz[a:b]])
        elif g.geometry_type == "MultiLineString":
            out.append([xyz[g.ring_offsets[r]:g.ring_offsets[r + 1]] for r in range(a, b)])
        else:
            out.append([[xyz[g.ring_offsets[r]:g.ring_offsets[r + 1]]
                         for r in range(g.polygon_offsets[p], g.polygon_offsets[p + 1])]
                        for p in range(a, b)])
    return out


def shapely_parts(geom, has_z: bool):
    """The same nesting from a shapely geometry (pyogrio)."""
    def xy(c):
        return np.asarray(shapely.get_coordinates(c, include_z=has_z))
    if geom is None or geom.is_empty:
        return None
    t = geom.geom_type
    if t in ("Point", "MultiPoint"):
        return [xy(geom)]
    if t == "LineString":
        return [xy(geom)]
    if t == "MultiLineString":
        return [xy(p) for p in geom.geoms]
    polys = geom.geoms if t == "MultiPolygon" else [geom]
    return [[xy(p.exterior)] + [xy(r) for r in p.interiors] for p in polys]


def assert_nested_equal(a, b, where=""):
    if a is None or b is None:
        assert a is None and b is None, where
        return
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                                      err_msg=where)
        return
    assert len(a) == len(b), f"{where}: {len(a)} != {len(b)}"
    for k, (x, y) in enumerate(zip(a, b)):
        assert_nested_equal(x, y, f"{where}[{k}]")


def pyogrio_read(path: str):
    meta, fids, geoms, data = pyogrio.raw.read(path, return_fids=True)
    return meta, fids, shapely.from_wkb(geoms), data


def value_list(col) -> list:
    return col.to_list() if isinstance(col, StringColumn) else list(col)


# ---------------------------------------------------------------- real files vs pyogrio


def _readable_copy(path: str, tmp_path: Path) -> str:
    """latin1.shp has no .shx: let GDAL rebuild one in a scratch copy (SHAPE_RESTORE_SHX)."""
    stem = os.path.splitext(path)[0]
    for f in glob.glob(stem + ".*"):
        shutil.copy(f, tmp_path)
    return str(tmp_path / os.path.basename(path))


@pytest.mark.parametrize("path", SHAPEFILES + [str(DATA / z) for z in ZIPS],
                         ids=lambda p: os.path.relpath(p, DATA))
def test_real_file_matches_pyogrio(path, tmp_path):
    # Given a real shapefile written by another project
    ours = read_shapefile(path)
    ref_path = path
    if path.endswith(".zip"):   # GDAL needs the member (REL.zip keeps it in a subfolder)
        member = REF_BY_PATH[os.path.relpath(path, DATA)]["member"]
        ref_path = f"/vsizip/{path}/{member}"
    if not os.path.exists(os.path.splitext(path)[0] + ".shx") and path.endswith(".shp"):
        ref_path = _readable_copy(path, tmp_path)
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": "YES"})
    try:
        meta, fids, geoms, data = pyogrio_read(ref_path)
    finally:
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})
    # Then the rows (deleted records skipped, like GDAL), geometries and attributes agree
    np.testing.assert_array_equal(ours.record_numbers - 1, fids)
    has_z = ours.geometry.z is not None
    mine = features(ours)
    assert len(mine) == len(geoms)
    for i, (m, g) in enumerate(zip(mine, geoms)):
        assert_nested_equal(m, shapely_parts(g, has_z), f"{path} feature {i}")
    assert list(meta["fields"]) == [f.name for f in ours.fields]
    for name, ref in zip(meta["fields"], data):
        col = ours.columns[name]
        null = ours.nulls[name]
        vals = value_list(col)
        for i, (v, r) in enumerate(zip(vals, ref)):
            where = f"{path} field {name} row {i}"
            if r is None or (isinstance(r, float) and math.isnan(r)) or (
                    isinstance(r, np.datetime64) and np.isnat(r)):
                assert null[i], where
            else:
                assert not null[i], where
                if isinstance(col, StringColumn):
                    # GDAL also strips leading blanks; dBase C values are left-aligned and
                    # padded on the right, so leading blanks are data: we keep them (as pyshp)
                    assert v == r or v.lstrip() == r, where
                elif isinstance(r, np.datetime64):
                    assert v == r, where
                else:
                    assert float(v) == float(r), where


def test_crs_matches_reference():
    for path in SHAPEFILES:
        rel = os.path.relpath(path, DATA)
        prj = REF_BY_PATH[rel].get("prj")
        crs = read_shapefile(path).crs
        if not prj:
            assert crs is None, rel
        elif prj.get("epsg"):
            assert crs.to_epsg(min_confidence=70) == prj["epsg"], rel
        else:
            assert crs.name == prj["name"], rel


# ---------------------------------------------------------------- real files vs pyshp


def pyshp_rows(path: str, encoding: str):
    """(record number, shape, record) of pyshp's non-deleted rows."""
    r = pyshp.Reader(path, encoding=encoding)
    try:
        out = []
        for i in range(r.numRecords):
            rec = r.record(i)
            if rec is None:       # deleted: pyshp returns None, the shape is dropped with it
                continue
            out.append((i + 1, r.shape(i), list(rec)))
        return out
    finally:
        r.close()


def pyshp_parts(shape, geometry_type: str, has_z: bool):
    if shape.shapeType == pyshp.NULL:
        return None
    pts = np.asarray(shape.points, dtype=float).reshape(-1, 2)
    if has_z:
        pts = np.column_stack([pts, np.asarray(shape.z, dtype=float)])
    if geometry_type in ("Point", "MultiPoint"):
        return [pts]
    bounds = [*shape.parts, len(pts)]
    rings = [pts[bounds[k]:bounds[k + 1]] for k in range(len(shape.parts))]
    if geometry_type == "MultiLineString":
        return rings
    # pyshp's own grouping, on 2D rings (ids map back to the rings with Z)
    ids = [[(tuple(map(float, p[:2])), k) for p in ring] for k, ring in enumerate(rings)]
    polys = pyshp.organize_polygon_rings([[list(p[0]) for p in ring] for ring in ids])
    key = {tuple(map(tuple, r[:, :2].tolist())): r for r in rings}
    return [[key[tuple(map(tuple, ring))] for ring in poly] for poly in polys]


@pytest.mark.parametrize("path", SHAPEFILES, ids=lambda p: os.path.relpath(p, DATA))
def test_real_file_matches_pyshp(path):
    ours = read_shapefile(path)
    rows = pyshp_rows(path, ours.encoding)
    np.testing.assert_array_equal(ours.record_numbers, [n for n, _, _ in rows])
    has_z = ours.geometry.z is not None
    for i, (m, (_, shape, _)) in enumerate(zip(features(ours), rows)):
        assert_nested_equal(m, pyshp_parts(shape, ours.geometry.geometry_type, has_z),
                            f"{path} shape {i}")
    for k, f in enumerate(ours.fields):
        vals = value_list(ours.columns[f.name])
        null = ours.nulls[f.name]
        for i, (_, _, rec) in enumerate(rows):
            r = rec[k]
            where = f"{path} field {f.name} row {i}"
            if r is None or r == "":
                assert null[i] or vals[i] == r, where   # pyshp gives '' for a blank C value
            elif isinstance(r, dt.date):
                assert vals[i] == np.datetime64(r, "D"), where
            elif isinstance(r, str):
                assert vals[i] == r, where
            else:
                assert not null[i] and vals[i] == r, where


def test_zip_member_equals_plain_file():
    a = read_shapefile(DATA / "pyshp-3.1.6" / "blockgroups.zip")
    b = read_shapefile(DATA / "pyshp-2.3.1" / "blockgroups.shp")
    np.testing.assert_array_equal(a.geometry.coords, b.geometry.coords)
    np.testing.assert_array_equal(a.geometry.polygon_offsets, b.geometry.polygon_offsets)
    assert a.columns["BKG_KEY"] == b.columns["BKG_KEY"]


def test_zip_with_several_shapefiles_needs_layer():
    path = DATA / "pyshp-3.1.6" / "blockgroups_multishapefile.zip"
    with pytest.raises(ValueError, match="blockgroups.shp, blockgroups2.shp"):
        read_shapefile(path)
    s = read_shapefile(path, layer="blockgroups2")
    assert len(s) == 663
    with pytest.raises(ValueError, match="no shapefile"):
        read_shapefile(DATA / "pyshp-3.1.6" / "empty_zipfile.zip")


def _wkb_polygons(wkb: bytes) -> list:
    """Polygons (lists of (n, 3) rings) of GDAL's MultiPatch WKB: GeometryCollection / TIN /
    Triangle / (Multi)Polygon, ISO or EWKB Z flags. shapely cannot decode TIN, so by hand."""
    pos = 0

    def u32() -> int:
        nonlocal pos
        v = int.from_bytes(wkb[pos:pos + 4], "little")
        pos += 4
        return v

    def geom() -> list:
        nonlocal pos
        assert wkb[pos] == 1
        pos += 1
        code = u32()
        has_z = bool(code & 0x80000000) or (code & 0xFFFF) // 1000 in (1, 3)
        base = (code & 0xFFFF) % 1000
        dim = 3 if has_z else 2
        if base in (7, 15, 16, 6):          # collection, polyhedral surface, TIN, multipolygon
            return [p for _ in range(u32()) for p in geom()]
        assert base in (3, 17), code        # polygon, triangle
        rings = []
        for _ in range(u32()):
            n = u32()
            pts = np.frombuffer(wkb[pos:pos + 8 * dim * n], dtype="<f8").reshape(n, dim)
            pos += 8 * dim * n
            rings.append(pts)
        return [rings]

    return geom()


def _pyshp_multipatch(shape) -> list:
    """The polygons our reader promises, built in Python from pyshp's parts and partTypes."""
    pts = np.column_stack([np.asarray(shape.points, dtype=float), np.asarray(shape.z)])
    bounds = [*shape.parts, len(pts)]
    polys: list = []
    open_poly = False
    for j, t in enumerate(shape.partTypes):
        part = pts[bounds[j]:bounds[j + 1]]
        if t in (0, 1):
            for k in range(len(part) - 2):
                a = 0 if t == 1 else k
                polys.append([part[[a, k + 1, k + 2, a]]])
            open_poly = False
        else:
            if t in (2, 4) or not open_poly:
                polys.append([])
            polys[-1].append(part)
            open_poly = True
    return polys


@pytest.mark.parametrize("path", ["pyshp-2.3.1/multipatch.shp", "fiona-1.10.1/test_tin.shp"])
def test_multipatch_as_polygons_like_gdal_triangles(path):
    # Given a MultiPatch (triangle strips / fans); GDAL returns TIN WKB, pyshp raw parts
    ours = read_shapefile(DATA / path)
    assert ours.geometry.geometry_type == "MultiPolygon" and ours.geometry.z is not None
    mine = features(ours)
    r = pyshp.Reader(str(DATA / path))
    try:
        shapes = r.shapes()
    finally:
        r.close()
    _, _, wkbs, _ = pyogrio.raw.read(str(DATA / path))
    for m, shape, wkb in zip(mine, shapes, wkbs):
        # Then the polygons are pyshp's parts cut into triangles, in part order ...
        assert_nested_equal(m, _pyshp_multipatch(shape))

        # ... and the same triangles as GDAL's (GDAL groups them per part in a TIN)
        def key(poly):
            return repr(np.asarray(poly[0]).tolist())
        assert_nested_equal(sorted(m, key=key), sorted(_wkb_polygons(bytes(wkb)), key=key))


def test_deleted_records_follow_gdal():
    # The spec's '*' flag removes the record and its shape (pyogrio: 3 features; see module doc)
    s = read_shapefile(DATA / "gdal-3.6.2-generated" / "deleted_records.shp")
    assert list(s.record_numbers) == [1, 2, 4]
    assert s.columns["name"][0] == "Zürich"
    assert s.geometry.null.tolist() == [False, False, True]


def test_standalone_dbfs():
    people = read_dbf(DATA / "dbfread-2.0.7" / "people.dbf")
    assert people.columns["NAME"].to_list() == ["Alice", "Bob"]
    assert list(people.record_numbers) == [1, 2]   # record 3 carries the '*' flag
    # FoxPro memo: the field holds a 4-byte block number into the .FPT. pyogrio returns those
    # raw bytes ('\x01'), pyshp raises KeyError; the spec (and dbfread, whose file it is) says
    # the text lives in block 1 of the .FPT, so we agree with neither reader here.
    memo = read_dbf(DATA / "dbfread-2.0.7" / "memotest.dbf")
    ref = REF_BY_PATH["dbfread-2.0.7/memotest.dbf"]["pyogrio"]["first_record"]
    assert ref[2] == "\x01"
    assert memo.columns["MEMO"].to_list() == ["Alice memo", "Bob memo"]
    assert memo.columns["NAME"].to_list() == ["Alice", "Bob"]
    with pytest.raises(KernelError, match=r"invalid_value.dbf, record 1, field 'BIRTHDATE'"):
        read_dbf(DATA / "dbfread-2.0.7" / "invalid_value.dbf")
    assert len(read_dbf(DATA / "pyshp-2.3.1" / "onlydbf.dbf")) == 0


def test_encodings_follow_cpg_then_ldid_then_fallback():
    assert read_shapefile(DATA / "r-cran-spdata" / "world.shp").encoding == "iso8859-1"  # LDID 0x57
    assert read_shapefile(DATA / "r-cran-maptools" / "fylk-val.shp").encoding == "cp437"  # 0x1B
    assert read_shapefile(DATA / "fiona-1.10.1" / "gre.shp").encoding == "utf-8"  # .cpg
    s = read_shapefile(DATA / "pyshp-2.3.1" / "latin1.shp")   # neither: not UTF-8 -> latin-1
    assert s.encoding == "iso8859-1" and s.columns["Name"][0] == "Ñandú"
    # an explicit encoding is strict: latin-1 bytes are not UTF-8
    with pytest.raises(KernelError, match=r"latin1.dbf, record 1, field 'Name'"):
        read_shapefile(DATA / "pyshp-2.3.1" / "latin1.shp", encoding="utf-8")


def test_stream_equals_whole_read():
    path = DATA / "pyshp-2.3.1" / "blockgroups.shp"
    whole = read_shapefile(path)
    chunks = list(iter_shapefile(path, chunk_records=100))
    assert [len(c) for c in chunks] == [100] * 6 + [63]
    got = [f for c in chunks for f in features(c)]
    assert_nested_equal(got, features(whole))
    assert [v for c in chunks for v in c.columns["BKG_KEY"].to_list()] == \
        whole.columns["BKG_KEY"].to_list()
    assert np.concatenate([c.record_numbers for c in chunks]).tolist() == \
        whole.record_numbers.tolist()


# ---------------------------------------------------------------- generated files

coord = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)


def ring(cw: bool, cx: float, cy: float, r: float, n: int):
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    if cw:
        ang = -ang
    pts = [[cx + r * math.cos(a), cy + r * math.sin(a)] for a in ang]
    return pts + [pts[0]]


@st.composite
def polygon_shapes(draw):
    """Rings of a shape: exteriors (cw) with holes (ccw) inside them, in random order."""
    shapes = []
    for _ in range(draw(st.integers(1, 4))):
        rings = []
        for k in range(draw(st.integers(1, 3))):
            cx, cy = k * 100.0 + draw(st.floats(-5, 5)), draw(st.floats(-5, 5))
            rings.append(ring(True, cx, cy, 20.0, draw(st.integers(3, 8))))
            for _h in range(draw(st.integers(0, 2))):
                rings.append(ring(False, cx + draw(st.floats(-3, 3)), cy, 5.0,
                                  draw(st.integers(3, 6))))
        orphan = draw(st.booleans())
        if orphan:   # a hole far away from every exterior
            rings.append(ring(False, 5000.0, 5000.0, 1.0, 4))
        shapes.append((draw(st.permutations(rings)) if draw(st.booleans()) else rings, orphan))
    return shapes


def _round6(v: float) -> float:
    # a named function, not a lambda: Hypothesis parses lambda sources for its reprs, which
    # trips CPython 3.11's "AST constructor recursion depth mismatch" bug now and then
    return round(v, 6)


attr_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00",
                                  exclude_categories=("Cs",)), max_size=8).map(str.strip)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=polygon_shapes(), data=st.data())
def test_generated_polygons_match_pyshp_and_pyogrio(tmp_path, shapes, data):
    base = str(tmp_path / f"gen{data.draw(st.integers(0, 10**9))}")
    has_z = data.draw(st.booleans(), label="has_z")
    records = []    # drawn before writing: a draw failing inside the Writer leaves it half-done
    for i in range(len(shapes)):
        val = data.draw(st.none() | st.floats(-1e6, 1e6).map(_round6))
        day = data.draw(st.none() | st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)))
        name = data.draw(attr_text).encode("utf-8")[:20].decode("utf-8", "ignore").rstrip()
        records.append((i, val, name, day, data.draw(st.none() | st.booleans())))
    with pyshp.Writer(base, shapeType=pyshp.POLYGONZ if has_z else pyshp.POLYGON,
                      encoding="utf-8") as w:
        w.field("ID", "N", 10, 0)
        w.field("VAL", "N", 18, 6)
        w.field("NAME", "C", 20)
        w.field("DAY", "D")
        w.field("OK", "L")
        for (rings, _), rec in zip(shapes, records):
            if has_z:   # z = x + 2y keeps each vertex's z tied to it through any reordering
                w.polyz([[[x, y, x + 2 * y] for x, y in r] for r in rings])
            else:
                w.poly(rings)
            w.record(*rec)
    # pyshp writes no .cpg: declare UTF-8 so GDAL does not fall back to ISO-8859-1
    Path(base + ".cpg").write_text("UTF-8")
    ours = read_shapefile(base + ".shp")
    rows = pyshp_rows(base + ".shp", "utf-8")
    assert (ours.geometry.z is not None) == has_z
    for m, (_, shape, rec) in zip(features(ours), rows):
        assert_nested_equal(m, pyshp_parts(shape, "MultiPolygon", has_z))
    for k, f in enumerate(ours.fields):
        vals = value_list(ours.columns[f.name])
        for i, (_, _, rec) in enumerate(rows):
            r = rec[k]
            if r is None or r == "":
                assert ours.nulls[f.name][i]
            elif isinstance(r, dt.date):
                assert vals[i] == np.datetime64(r, "D")
            else:
                assert vals[i] == r
    _, _, geoms, cols = pyogrio_read(base + ".shp")
    for f, ref in zip(ours.fields, cols):
        vals, null = value_list(ours.columns[f.name]), ours.nulls[f.name]
        for i, r in enumerate(ref):
            if f.type == "L":
                assert bool(r) == (vals[i] and not null[i])   # GDAL reads a null L as False
            elif null[i]:
                assert r is None or (isinstance(r, float) and math.isnan(r)) or np.isnat(r)
            else:
                assert vals[i] == r, (f.name, i)
    for i, (m, g) in enumerate(zip(features(ours), geoms)):
        if shapes[i][1]:
            # A hole outside every exterior: pyshp's rule (which we follow) gives it to the only
            # exterior, or makes it a polygon after the others; GDAL is inconsistent here
            # (own polygon when it follows the exterior, joined when it precedes it).
            continue
        # GDAL may order the polygons of a multipolygon differently: compare as sets
        ref = shapely_parts(g, has_z)
        assert sorted(repr(np.asarray(p[0]).tolist()) for p in m) == \
            sorted(repr(np.asarray(p[0]).tolist()) for p in ref), i
        assert_nested_equal(sorted(m, key=lambda p: repr(p[0].tolist())),
                            sorted(ref, key=lambda p: repr(np.asarray(p[0]).tolist())))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), kind=st.sampled_from(["POINTZ", "MULTIPOINT", "POLYLINEZ", "POLYLINEM",
                                             "POINT", "POLYLINE"]))
def test_generated_lines_and_points_match_pyshp(tmp_path, data, kind):
    base = str(tmp_path / f"g{data.draw(st.integers(0, 10**9))}")
    stype = getattr(pyshp, kind)
    n = data.draw(st.integers(0, 6))
    pt = st.tuples(coord, coord, coord, coord)
    shapes = []     # drawn before writing: a draw failing inside the Writer leaves it half-done
    for i in range(n):
        if data.draw(st.booleans()) and i % 3 == 2:
            shapes.append(None)
        elif kind.startswith("POINT"):
            shapes.append(data.draw(pt))
        elif kind == "MULTIPOINT":
            shapes.append(data.draw(st.lists(pt, min_size=1, max_size=5)))
        else:
            shapes.append(data.draw(st.lists(st.lists(pt, min_size=2, max_size=5),
                                             min_size=1, max_size=3)))
    with pyshp.Writer(base, shapeType=stype) as w:
        w.field("N", "N", 5, 0)
        for i, shape in enumerate(shapes):
            if shape is None:
                w.null()
            elif kind.startswith("POINT"):
                x, y, z, m = shape
                (w.pointz(x, y, z, m) if kind == "POINTZ" else w.point(x, y))
            elif kind == "MULTIPOINT":
                w.multipoint([p[:2] for p in shape])
            elif kind == "POLYLINEZ":
                w.linez([[list(p) for p in part] for part in shape])
            elif kind == "POLYLINEM":
                w.linem([[[p[0], p[1], p[3]] for p in part] for part in shape])
            else:
                w.line([[p[:2] for p in part] for part in shape])
            w.record(i)
    ours = read_shapefile(base + ".shp")
    assert (ours.geometry.z is not None) == kind.endswith("Z")
    rows = pyshp_rows(base + ".shp", "utf-8")
    assert len(rows) == len(ours) == n
    for m, (_, shape, _) in zip(features(ours), rows):
        assert_nested_equal(m, pyshp_parts(shape, ours.geometry.geometry_type,
                                           ours.geometry.z is not None))
    assert ours.columns["N"].tolist() == list(range(n))


def test_logical_and_numbers(tmp_path):
    base = str(tmp_path / "attrs")
    with pyshp.Writer(base, shapeType=pyshp.POINT) as w:
        w.field("FLAG", "L")
        w.field("BIG", "N", 18, 0)
        w.field("F", "F", 12, 3)
        w.field("NEG", "N", 8, 2)
        for flag, big, f, neg in [(True, 10**17 + 3, 1.5, -0.25), (False, -5, None, 0.0),
                                  (None, None, -1234.125, -99.99)]:
            w.point(0, 0)
            w.record(flag, big, f, neg)
    s = read_shapefile(base + ".shp")
    assert s.columns["FLAG"].tolist()[:2] == [True, False] and s.nulls["FLAG"].tolist() == \
        [False, False, True]
    assert s.columns["BIG"].dtype == np.int64 and s.columns["BIG"][0] == 10**17 + 3
    assert s.columns["F"][2] == -1234.125 and math.isnan(s.columns["F"][1])
    assert s.columns["NEG"].tolist() == [-0.25, 0.0, -99.99]
    _, _, _, cols = pyogrio_read(base + ".shp")
    assert cols[0].tolist() == [True, False, False]          # GDAL: a null L reads False
    # pyogrio turns an integer column with a null into float64 (10**17 + 3 is lost there)
    assert cols[1].tolist()[:2] == [float(10**17 + 3), -5.0]
    assert cols[2][2] == -1234.125 and cols[3].tolist() == [-0.25, 0.0, -99.99]


def test_string_column_api():
    col = StringColumn.from_list(["a", None, "Zürich", ""])
    assert len(col) == 4 and col[2] == "Zürich" and col[1] is None and col[-1] == ""
    assert col[1:3].to_list() == [None, "Zürich"]
    assert col[3:1].to_list() == [] and col[::2].to_list() == ["a", "Zürich"]
    assert col[2:].to_list() == ["Zürich", ""] and col[2:][0] == "Zürich"
    assert col.to_numpy().dtype == object
    arr = col.to_arrow()
    assert arr.to_pylist() == ["a", None, "Zürich", ""]


def test_zip_paths_name_the_member(tmp_path):
    z = tmp_path / "one.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for ext in ("shp", "shx", "dbf"):
            zf.write(DATA / "pyshp-2.3.1" / f"line.{ext}", f"sub/LINE.{ext.upper()}")
    s = read_shapefile(z)
    assert s.geometry.geometry_type == "MultiLineString" and s.columns["name"][0] == "linestring1"


# ---------------------------------------------------------------- errors (issue item 7)


def _write_lines(tmp_path: Path, name: str = "err") -> str:
    base = str(tmp_path / name)
    with pyshp.Writer(base, shapeType=pyshp.POLYLINE) as w:
        w.field("NAME", "C", 10)
        w.field("NUM", "N", 8, 2)
        for i in range(3):
            w.line([[[0, 0], [1, i + 1]], [[2, 2], [3, 3], [4, 4]]])
            w.record(f"r{i}", i * 1.5)
    return base


def _patch(path: str, offset: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def _record_offset(base: str, i: int) -> int:
    shx = Path(base + ".shx").read_bytes()
    return int.from_bytes(shx[100 + 8 * i:104 + 8 * i], "big") * 2


def _expect(base_or_path: str, code: int, match: str) -> KernelError:
    path = base_or_path if base_or_path.endswith((".shp", ".zip")) else base_or_path + ".shp"
    with pytest.raises(KernelError, match=match) as info:
        read_shapefile(path)
    assert info.value.code == code
    with pytest.raises(KernelError):
        for _ in iter_shapefile(path, chunk_records=1):
            pass
    return info.value


def test_wrong_magic_numbers(tmp_path):
    base = _write_lines(tmp_path)
    _patch(base + ".shp", 0, (9995).to_bytes(4, "big"))
    _expect(base, 3, r"err.shp: wrong magic number")
    base = _write_lines(tmp_path, "dbf")
    _patch(base + ".dbf", 0, b"\x99")
    _expect(base, 3, r"dbf.dbf: not a DBF file")


def test_truncated_shp_with_and_without_shx(tmp_path):
    base = _write_lines(tmp_path)
    data = Path(base + ".shp").read_bytes()
    Path(base + ".shp").write_bytes(data[:-10])
    _expect(base, 13, r"err.shx, record 3")          # the .shx points past the end
    os.remove(base + ".shx")
    _expect(base, 2, r"err.shp, record 3")           # sequential scan: record 3 is cut


def test_inconsistent_shx(tmp_path):
    base = _write_lines(tmp_path)
    # entry 2 claims a different content length than the record header
    _patch(base + ".shx", 100 + 8 + 4, (10).to_bytes(4, "big"))
    _expect(base, 13, r"err.shp, record 2: index")


def test_absurd_declared_lengths_do_not_allocate(tmp_path):
    base = _write_lines(tmp_path)
    off = _record_offset(base, 1)
    _patch(base + ".shp", off + 8 + 40, (2**31 - 1).to_bytes(4, "little"))   # numPoints
    _expect(base, 4, r"err.shp, record 2: invalid declared length")
    base = _write_lines(tmp_path, "parts")
    _patch(base + ".shp", _record_offset(base, 0) + 8 + 36, (-5).to_bytes(4, "little", signed=True))
    _expect(base, 4, r"parts.shp, record 1")
    base = _write_lines(tmp_path, "dbfn")
    _patch(base + ".dbf", 4, (2**32 - 1).to_bytes(4, "little"))            # record count
    _expect(base, 2, r"dbfn.dbf: DBF declares 4294967295 records")


def test_nan_and_inf_coordinates(tmp_path):
    base = _write_lines(tmp_path)
    off = _record_offset(base, 2)
    first_x = off + 8 + 44 + 4 * 2
    _patch(base + ".shp", first_x + 8, struct_pack_double(float("nan")))
    _expect(base, 7, r"err.shp, record 3: NaN or infinite")
    base = _write_lines(tmp_path, "inf")
    _patch(base + ".shp", _record_offset(base, 0) + 8 + 44 + 8, struct_pack_double(float("inf")))
    _expect(base, 7, r"inf.shp, record 1")


def struct_pack_double(v: float) -> bytes:
    return np.array([v], dtype="<f8").tobytes()


def test_empty_geometry_and_mixed_types(tmp_path):
    base = _write_lines(tmp_path)
    off = _record_offset(base, 1)
    # two parts starting at the same vertex: an empty part
    _patch(base + ".shp", off + 8 + 44 + 4, (0).to_bytes(4, "little"))
    _expect(base, 8, r"err.shp, record 2: empty geometry")
    base = _write_lines(tmp_path, "mixed")
    _patch(base + ".shp", _record_offset(base, 2) + 8, (5).to_bytes(4, "little"))
    _expect(base, 5, r"mixed.shp, record 3: unsupported or mixed shape type")


def test_shp_dbf_count_mismatch(tmp_path):
    base = _write_lines(tmp_path)
    _patch(base + ".dbf", 4, (2).to_bytes(4, "little"))
    _expect(base, 10, r".shp has 3 shapes but .dbf has 2 records")


def test_bad_number_and_text_name_file_record_field(tmp_path):
    base = _write_lines(tmp_path)
    dbf = Path(base + ".dbf").read_bytes()
    header_len = int.from_bytes(dbf[8:10], "little")
    reclen = int.from_bytes(dbf[10:12], "little")
    _patch(base + ".dbf", header_len + reclen + 1 + 10, b"  1,5x  ")
    e = _expect(base, 6, r"err.dbf, record 2, field 'NUM': invalid N value")
    assert "1,5x" in str(e)
    base = _write_lines(tmp_path, "txt")
    Path(base + ".cpg").write_text("UTF-8")
    _patch(base + ".dbf", header_len + 2 * reclen + 1, b"\xff\xfe")
    _expect(base, 9, r"txt.dbf, record 3, field 'NAME': text does not decode as utf-8")


def test_no_dbf_and_no_shx_still_read(tmp_path):
    base = _write_lines(tmp_path)
    os.remove(base + ".dbf")
    os.remove(base + ".shx")
    s = read_shapefile(base + ".shp")
    assert len(s) == 3 and s.columns == {} and s.geometry.ring_offsets.tolist() == \
        [0, 2, 5, 7, 10, 12, 15]


# ---------------------------------------------------------------- streaming memory


def _nbytes(chunk) -> int:
    g = chunk.geometry
    total = sum(a.nbytes for a in (g.coords, g.geom_offsets, g.ring_offsets, g.polygon_offsets,
                                   g.null) if a is not None)
    total += chunk.record_numbers.nbytes
    for name, col in chunk.columns.items():
        total += col.nbytes + chunk.nulls[name].nbytes
    return total


@pytest.mark.parametrize("with_shx", [True, False])
def test_streaming_peak_memory_within_twice_the_chunk_output(tmp_path, with_shx):
    import tracemalloc

    # Given a 20k-point file shaped like the benchmark (N int, N float, C(20), D, L)
    base = str(tmp_path / "pts")
    rng = np.random.default_rng(5)
    with pyshp.Writer(base, shapeType=pyshp.POINT) as w:
        w.field("ID", "N", 10, 0)
        w.field("VALUE", "N", 18, 6)
        w.field("NAME", "C", 20)
        w.field("DATE", "D")
        w.field("FLAG", "L")
        for i in range(20_000):
            w.point(float(rng.uniform(-180, 180)), float(rng.uniform(-90, 90)))
            w.record(i, round(float(rng.normal()), 6), "x" * int(rng.integers(1, 21)),
                     dt.date(2000, 1, 1 + i % 28), bool(i % 2))
    if not with_shx:     # the .shp is then walked chunk by chunk
        os.remove(base + ".shx")
    # When it is streamed in chunks of 4000 records, one chunk alive at a time
    tracemalloc.start()
    try:
        largest = 0
        base_mem = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        n = 0
        for chunk in iter_shapefile(base + ".shp", chunk_records=4000):
            largest = max(largest, _nbytes(chunk))
            n += len(chunk)
            del chunk
        peak = tracemalloc.get_traced_memory()[1] - base_mem
    finally:
        tracemalloc.stop()
    # Then the peak stays within twice one chunk's output (+ a small fixed overhead)
    assert n == 20_000
    print(f"streamed peak {peak} bytes, largest chunk output {largest} bytes")
    assert peak <= 2 * largest + 64 * 1024, (peak, largest)


def test_encoding_names_from_cpg_and_ldid():
    from samsyn_fast.shapefile import _LDID, _normalize_encoding

    assert _normalize_encoding("UTF-8\n") == "utf-8"
    assert _normalize_encoding("88591") == "iso8859-1"
    assert _normalize_encoding("ANSI 1251") == "cp1251"
    assert _normalize_encoding("1252") == "cp1252"
    assert _normalize_encoding("65001") == "utf-8"
    assert _normalize_encoding("ISO-8859-1") == "iso8859-1"
    assert _normalize_encoding("no such thing") is None
    for ldid, name in _LDID.items():       # every LDID maps to a codec Python has
        assert codecs_lookup(name), ldid


def codecs_lookup(name: str) -> bool:
    import codecs

    return bool(codecs.lookup(name).name)


def test_stream_keeps_record_numbers_across_deleted_records():
    path = DATA / "gdal-3.6.2-generated" / "deleted_records.shp"
    chunks = list(iter_shapefile(path, chunk_records=2))
    assert [c.record_numbers.tolist() for c in chunks] == [[1, 2], [4]]
    assert [c.geometry.null.tolist() for c in chunks] == [[False, False], [True]]


def test_stream_zip_and_fallback_encoding(tmp_path):
    z = DATA / "pyshp-3.1.6" / "REL.zip"
    assert [len(c) for c in iter_shapefile(z, chunk_records=1)] == [1]
    chunks = list(iter_shapefile(DATA / "pyshp-2.3.1" / "latin1.shp", chunk_records=1))
    assert chunks[0].encoding == "iso8859-1" and chunks[0].columns["Name"][0] == "Ñandú"


def test_unknown_cpg_is_ignored_with_a_warning(tmp_path):
    for f in (DATA / "pyshp-2.3.1").glob("point.*"):
        shutil.copy(f, tmp_path)
    (tmp_path / "point.cpg").write_text("KLINGON-1")
    with pytest.warns(UserWarning, match="unknown code page"):
        s = read_shapefile(tmp_path / "point.shp")
    assert s.encoding == "utf-8"


def _dbf_with_memo(version: int, memo_cells: list[bytes]) -> bytes:
    fields = [(b"NAME", b"C", 10), (b"NOTES", b"M", 10)]
    header_len = 32 + 32 * len(fields) + 1
    reclen = 1 + sum(f[2] for f in fields)
    out = bytearray([version, 124, 1, 1]) + len(memo_cells).to_bytes(4, "little")
    out += header_len.to_bytes(2, "little") + reclen.to_bytes(2, "little") + bytes(20)
    for name, ftype, size in fields:
        out += name.ljust(11, b"\x00") + ftype + bytes(4) + bytes([size, 0]) + bytes(14)
    out += b"\x0d"
    for i, cell in enumerate(memo_cells):
        out += b" " + f"n{i}".encode().ljust(10) + cell.rjust(10)
    return bytes(out + b"\x1a")


def test_dbase_memo_files(tmp_path):
    # dBase III: 512-byte blocks, text ends at 0x1A
    (tmp_path / "m3.dbf").write_bytes(_dbf_with_memo(0x83, [b"1", b"", b"2"]))
    dbt = bytearray(512 * 3)
    dbt[0:4] = (3).to_bytes(4, "little")
    dbt[512:512 + 12] = b"first\x1a\x1a"
    dbt[1024:1024 + 14] = "Zürich".encode() + b"\x1a\x1a"
    (tmp_path / "m3.dbt").write_bytes(bytes(dbt))
    t = read_dbf(tmp_path / "m3.dbf", encoding="utf-8")
    assert t.columns["NOTES"].to_list() == ["first", None, "Zürich"]
    # dBase IV: block size in the header, blocks start with FF FF 08 00 + length
    (tmp_path / "m4.dbf").write_bytes(_dbf_with_memo(0x8B, [b"1"]))
    dbt = bytearray(1024)
    dbt[20:22] = (512).to_bytes(2, "little")
    body = b"dBase IV memo"
    dbt[512:520] = b"\xff\xff\x08\x00" + (8 + len(body)).to_bytes(4, "little")
    dbt[520:520 + len(body)] = body
    (tmp_path / "m4.dbt").write_bytes(bytes(dbt))
    assert read_dbf(tmp_path / "m4.dbf").columns["NOTES"].to_list() == ["dBase IV memo"]
    # a block number past the end of the memo file names the record and field
    (tmp_path / "bad.dbf").write_bytes(_dbf_with_memo(0x83, [b"99"]))
    (tmp_path / "bad.dbt").write_bytes(bytes(1024))
    with pytest.raises(KernelError, match=r"bad.dbf, record 1, field 'NOTES'"):
        read_dbf(tmp_path / "bad.dbf")


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 3, 0, 1), (1, 3, 0, 2)])
def test_nested_islands_group_like_pyshp_and_gdal(tmp_path, order):
    # Given an exterior A with a hole B, an island C inside B and a hole D inside C: D's bbox
    # lies inside both A and C, so the sample-point test and then the smallest area decide
    rings = [ring(True, 0, 0, 100, 16), ring(False, 0, 0, 60, 16),
             ring(True, 0, 0, 40, 16), ring(False, 0, 0, 10, 16)]
    base = str(tmp_path / "islands")
    with pyshp.Writer(base, shapeType=pyshp.POLYGON) as w:
        w.field("ID", "N", 5, 0)
        w.poly([rings[k] for k in order])
        w.record(1)
    ours = read_shapefile(base + ".shp")
    (_, shape, _), = pyshp_rows(base + ".shp", "utf-8")
    # Then the polygons are A+B and C+D, in pyshp's order, and GDAL builds the same set
    got = features(ours)[0]
    assert_nested_equal(got, pyshp_parts(shape, "MultiPolygon", False))
    assert sorted(len(p) for p in got) == [2, 2]
    _, _, geoms, _ = pyogrio_read(base + ".shp")
    ref = shapely_parts(geoms[0], False)
    def key(p):
        return repr(np.asarray(p[0]).tolist())

    assert_nested_equal(sorted(got, key=key), sorted(ref, key=key))


# ---------------------------------------------------------------- number parsing (kernel)

number_text = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"\A[ ]{0,3}[-+]?[0-9]{1,22}(\.[0-9]{0,20})?([eE][-+]?[0-9]{1,3})?[ ]{0,3}\Z"),
    st.from_regex(r"\A[ ]{0,2}[-+]?\.[0-9]{1,17}[ ]{0,2}\Z"),
    st.from_regex(r"\A[-+]?[0-9]{1,18}\Z"),
)


def _decode_one(text: str, kind: int):
    from samsyn_fast import _dbf

    raw = text.encode("ascii")
    width = max(len(raw), 1)
    rec = b" " + raw.ljust(width)
    st_, _, _, outs = _dbf.decode_fields(
        np.frombuffer(rec, dtype=np.uint8), len(rec), None,
        np.array([kind], dtype=np.int32), np.array([1], dtype=np.int64),
        np.array([width], dtype=np.int64), None, 1)
    return st_, outs


@settings(max_examples=400, deadline=None)
@given(text=number_text)
def test_number_parsing_equals_python_float(text):
    if len(text) > 254:     # a DBF field holds at most 254 characters
        return
    try:
        want = float(text)
    except ValueError:
        want = None
    st_, outs = _decode_one(text, 2)
    if want is None:
        assert st_ == 6
        return
    assert st_ == 0, text
    got = outs[0][0][0]
    if not math.isfinite(want):
        return          # overflowing exponents: strtod gives inf like float(); not compared
    assert got == want and math.copysign(1, got) == math.copysign(1, want), text


@settings(max_examples=200, deadline=None)
@given(value=st.integers(-(10**17) + 1, 10**18 - 1), pad=st.integers(0, 3))
def test_integer_fields_parse_exactly(value, pad):
    text = " " * pad + str(value)
    if len(text) > 18:
        text = str(value)
    st_, outs = _decode_one(text, 1)
    assert st_ == 0 and outs[0][0][0] == value


def test_stream_without_shx_walks_chunk_by_chunk(tmp_path):
    for f in (DATA / "pyshp-2.3.1").glob("blockgroups.*"):
        shutil.copy(f, tmp_path)
    os.remove(tmp_path / "blockgroups.shx")
    path = tmp_path / "blockgroups.shp"
    whole = read_shapefile(DATA / "pyshp-2.3.1" / "blockgroups.shp")
    for chunk_records in (1, 7, 100, 663, 10_000):
        got = [f for c in iter_shapefile(path, chunk_records=chunk_records) for f in features(c)]
        assert_nested_equal(got, features(whole))


def test_stream_without_shx_checks_the_shape_count(tmp_path):
    base = _write_lines(tmp_path)
    os.remove(base + ".shx")
    _patch(base + ".dbf", 4, (2).to_bytes(4, "little"))      # the .shp holds 3 shapes
    with pytest.raises(KernelError, match="more shapes than the 2 records"):
        list(iter_shapefile(base + ".shp", chunk_records=1))
    _patch(base + ".dbf", 4, (4).to_bytes(4, "little"))      # and now one too few
    dbf = Path(base + ".dbf")
    raw = dbf.read_bytes()
    header_len, reclen = (int.from_bytes(raw[k:k + 2], "little") for k in (8, 10))
    dbf.write_bytes(raw[:header_len + 3 * reclen] + b" " * reclen + b"\x1a")
    with pytest.raises(KernelError, match=".shp has 3 shapes but .dbf has 4 records"):
        list(iter_shapefile(base + ".shp", chunk_records=2))
    with pytest.raises(KernelError, match=".shp has 3 shapes but .dbf has 4 records"):
        read_shapefile(base + ".shp")


def test_generated_multipatch_rings_and_strips(tmp_path):
    # outer ring + inner ring, a first ring + ring, a triangle fan: GDAL builds the same polygons
    def z(r, h):
        return [[x, y, h] for x, y in r]
    parts = [z(ring(True, 0, 0, 10, 6), 1.0), z(ring(False, 0, 0, 3, 4), 1.0),
             z(ring(True, 50, 0, 10, 5), 2.0), z(ring(False, 50, 0, 2, 4), 2.0),
             [[0, 0, 5], [1, 0, 5], [1, 1, 6], [0, 1, 7]]]
    types = [pyshp.OUTER_RING, pyshp.INNER_RING, pyshp.FIRST_RING, pyshp.RING, pyshp.TRIANGLE_FAN]
    base = str(tmp_path / "mp")
    with pyshp.Writer(base, shapeType=pyshp.MULTIPATCH) as w:
        w.field("ID", "N", 5, 0)
        w.multipatch(parts, partTypes=types)
        w.record(1)
        w.null()
        w.record(2)
    ours = read_shapefile(base + ".shp")
    got = features(ours)
    assert got[1] is None and [len(p) for p in got[0]] == [2, 2, 1, 1]
    (_, shape, _), _ = pyshp_rows(base + ".shp", "utf-8")
    assert_nested_equal(got[0], _pyshp_multipatch(shape))
    _, _, wkbs, _ = pyogrio.raw.read(base + ".shp")

    def key(poly):
        return repr(np.asarray(poly[0]).tolist())
    assert_nested_equal(sorted(got[0], key=key), sorted(_wkb_polygons(bytes(wkbs[0])), key=key))


def test_repeated_and_empty_field_names_stay_distinct(tmp_path):
    base = _write_lines(tmp_path)
    raw = bytearray(Path(base + ".dbf").read_bytes())
    raw[32 + 32:32 + 32 + 11] = b"NAME".ljust(11, b"\x00")   # the 2nd field renamed NAME
    Path(base + ".dbf").write_bytes(bytes(raw))
    s = read_shapefile(base + ".shp")
    assert [f.name for f in s.fields] == ["NAME", "NAME_1"]
    assert s.columns["NAME"][0] == "r0" and s.columns["NAME_1"].tolist() == [0.0, 1.5, 3.0]
    raw[32:32 + 11] = bytes(11)
    Path(base + ".dbf").write_bytes(bytes(raw))
    assert [f.name for f in read_shapefile(base + ".shp").fields] == ["FIELD_1", "NAME"]


def test_big_zip_members_are_spooled_to_temp_files(tmp_path, monkeypatch):
    import tempfile

    import samsyn_fast.shapefile as mod

    monkeypatch.setattr(mod, "_ZIP_IN_MEMORY", 1024)     # every member counts as "big"
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    z = DATA / "pyshp-3.1.6" / "blockgroups.zip"
    a = read_shapefile(z)
    chunks = list(iter_shapefile(z, chunk_records=300))
    assert list(spool.iterdir()) == []                     # temp files removed
    b = read_shapefile(DATA / "pyshp-2.3.1" / "blockgroups.shp")
    np.testing.assert_array_equal(a.geometry.coords, b.geometry.coords)
    assert sum(len(c) for c in chunks) == 663
