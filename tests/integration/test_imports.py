"""samsyn.imports on a real PostGIS: what lands in core_geometry equals what pyogrio/shapely read
from the same third-party files (after reprojection); every bad input; one transaction."""
from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psycopg
import pyogrio
import pyproj
import pytest
import shapefile as pyshp
import shapely

from samsyn.db.migrate import upgrade_head
from samsyn.imports import ImportFailed, ImportOptions, run_import, update_source_stats

DATA = Path(__file__).resolve().parents[1] / "data" / "testdata"


@pytest.fixture(scope="module")
def dsn(new_database: Callable[..., str]) -> str:
    url = new_database("imports")
    upgrade_head(url)
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn) as c:
        yield c


def stored(conn: psycopg.Connection, source_pk: int) -> list[tuple[bytes, dict, str]]:
    with conn.transaction():
        return [(bytes(g), m, t) for g, m, t in conn.execute(
            "SELECT ST_AsBinary(geom), metadata, geometry_type FROM core_geometry "
            "WHERE source_id = %s ORDER BY gid", (source_pk,))]


def counts(conn: psycopg.Connection) -> tuple[int, int]:
    with conn.transaction():
        row = conn.execute("SELECT (SELECT count(*) FROM core_geometry), "
                           "(SELECT count(*) FROM core_source)").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _value(v: object, subtype: str) -> object:
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else str(v.astype("datetime64[D]"))
    if isinstance(v, (float, np.floating)) and math.isnan(v):
        return None
    if subtype == "OFSTBoolean" and v is not None:
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, str):
        return v.strip()        # GDAL drops leading blanks of C fields, samsyn keeps them
    return v


def reference(path: Path) -> list[tuple[shapely.Geometry, dict]]:
    """pyogrio's features (null geometries dropped), reprojected to EPSG:4326 by pyproj."""
    meta, _, wkb, fields = pyogrio.raw.read(str(path))
    geoms = shapely.from_wkb(wkb)
    crs = meta["crs"]
    if crs and pyproj.CRS.from_user_input(crs).to_epsg() != 4326:
        t = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0],
                                                                                 xy[:, 1])))
    out = []
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        attrs = {name: _value(fields[k][i], meta["ogr_subtypes"][k])
                 for k, name in enumerate(meta["fields"])}
        out.append((shapely.force_2d(g), attrs))
    return out


SHAPEFILES = [
    "pyshp-2.3.1/point.shp", "pyshp-2.3.1/line.shp", "pyshp-2.3.1/polygon.shp",
    "pyshp-2.3.1/linez.shp", "pyshp-2.3.1/multipoint.shp", "pyshp-2.3.1/blockgroups.shp",
    "r-cran-sf/nc.shp", "r-cran-spdata/NY8_utm18.shp", "r-cran-spdata/world.shp",
    "r-cran-spdata/baltim.shp", "r-cran-maptools/fylk-val.shp",
    "geopandas-0.14.4/naturalearth_cities.shp", "geopandas-0.14.4/nybb_16a.zip",
    "gdal-3.6.2-generated/deleted_records.shp", "pyogrio-0.13.0/naturalearth_lowres.shp",
]


@pytest.mark.parametrize("name", SHAPEFILES)
def test_shapefile_rows_equal_pyogrio(conn: psycopg.Connection, name: str) -> None:
    path = DATA / name
    # no .prj and planar coordinates: only an explicit --srid loads them (here: as they are)
    srid = 4326 if name.endswith(("baltim.shp", "fylk-val.shp")) else None
    res = run_import(conn, ImportOptions(format="shapefile", path=str(path), chunk_size=50,
                                         srid=srid))
    ref = reference(path)
    rows = stored(conn, res.source_pk)
    assert res.loaded == len(rows) == len(ref)
    assert res.created_source and res.sid == str(res.source_pk)
    for (wkb, meta, gtype), (want, attrs) in zip(rows, ref, strict=True):
        got = shapely.from_wkb(wkb)
        assert gtype == got.geom_type == want.geom_type
        assert shapely.equals_exact(got, want, tolerance=1e-7), (name, got.wkt[:80])
        assert {k: v.strip() if isinstance(v, str) else v for k, v in meta.items()} == attrs
    # attribute statistics filled (shapefile default)
    with conn.transaction():
        (attributes,) = conn.execute("SELECT attributes FROM core_source WHERE id = %s",
                                     (res.source_pk,)).fetchone()
    assert set(attributes) == set(ref[0][1]) if ref and ref[0][1] else True


def test_deleted_records_skip_null_shape_with_record_number(conn: psycopg.Connection) -> None:
    res = run_import(conn, ImportOptions(
        format="shapefile", path=str(DATA / "gdal-3.6.2-generated/deleted_records.shp")))
    assert (res.total, res.loaded, res.skipped) == (3, 2, 1)
    assert res.skipped_rows == [(4, "null or empty geometry")]


def test_geojson_equals_pyogrio(conn: psycopg.Connection) -> None:
    path = DATA / "r-cran-spdata/cycle_hire.geojson"
    res = run_import(conn, ImportOptions(format="geojson", path=str(path), chunk_size=300))
    ref = reference(path)
    rows = stored(conn, res.source_pk)
    assert res.loaded == len(rows) == len(ref) == 742
    raw = json.loads(path.read_text())["features"]
    for (wkb, meta, gtype), (want, _), feat in zip(rows, ref, raw, strict=True):
        assert gtype == "Point"
        assert shapely.equals_exact(shapely.from_wkb(wkb), want, tolerance=1e-12)
        assert meta == feat["properties"]


def test_geojson_null_geometry_skipped(conn: psycopg.Connection) -> None:
    path = DATA / "geopandas-0.14.4/null_geom.geojson"
    res = run_import(conn, ImportOptions(format="geojson", path=str(path)))
    raw = json.loads(path.read_text())["features"]
    nulls = [i + 1 for i, f in enumerate(raw) if f["geometry"] is None]
    assert nulls and [r for r, _ in res.skipped_rows] == nulls
    assert res.loaded == len(raw) - len(nulls) == len(stored(conn, res.source_pk))


# ------------------------------------------------------------------------------------ CSV

def write(tmp_path: Path, name: str, data: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def test_csv_points_strings_and_legacy_source(conn: psycopg.Connection, tmp_path: Path) -> None:
    path = DATA / "r-cran-spdata/cycle_hire_xy.csv"
    res = run_import(conn, ImportOptions(format="csv", path=str(path), lon="X", lat="Y",
                                         sid="cycle", source_name="Cycles"))
    rows = stored(conn, res.source_pk)
    import csv
    with open(path, newline="") as f:
        ref = list(csv.DictReader(f))
    assert len(rows) == len(ref) == res.loaded
    for (wkb, meta, gtype), want in zip(rows, ref, strict=True):
        g = shapely.from_wkb(wkb)
        assert gtype == "Point" and (g.x, g.y) == (float(want.pop("X")), float(want.pop("Y")))
        assert meta == want
    with conn.transaction():
        src = conn.execute("SELECT sid, name, description, source_type, attributes FROM "
                           "core_source WHERE id = %s", (res.source_pk,)).fetchone()
    assert src == ("cycle", "Cycles", "", "", {})   # csv: no stats, as upload_csv_file


BAD_CSV = (b"Name,Longitude,Latitude\n"
           b"a,1,2\n"
           b"no lon,,3\n"
           b"no lat,4,\n"
           b"words,x1,5\n"
           b"b,6,7\n")


def test_csv_bad_rows_skipped_with_row_numbers(conn: psycopg.Connection,
                                               tmp_path: Path) -> None:
    res = run_import(conn, ImportOptions(format="csv", path=write(tmp_path, "b.csv", BAD_CSV)))
    assert (res.total, res.loaded, res.skipped) == (5, 2, 3)
    assert res.skipped_rows == [(2, "no coordinates"), (3, "empty latitude"),
                                (4, "could not convert 'Longitude' value 'x1' to float")]
    assert [m["Name"] for _, m, _ in stored(conn, res.source_pk)] == ["a", "b"]


def test_csv_strict_fails_and_leaves_nothing(conn: psycopg.Connection, tmp_path: Path) -> None:
    before = counts(conn)
    path = write(tmp_path, "b.csv", BAD_CSV)
    with pytest.raises(ImportFailed) as err:
        run_import(conn, ImportOptions(format="csv", path=path, sid="strict", strict=True))
    assert str(err.value) == f"{path}: row 2: no coordinates"
    assert counts(conn) == before


def test_csv_latin1_detected(conn: psycopg.Connection, tmp_path: Path) -> None:
    body = "Name,Longitude,Latitude\n" + "plain,1,1\n" * 3000 + "Café Zoë,2,2\n"
    path = write(tmp_path, "l.csv", body.encode("latin-1"))
    res = run_import(conn, ImportOptions(format="csv", path=path, chunk_size=1000))
    rows = stored(conn, res.source_pk)
    assert len(rows) == 3001 and rows[-1][1] == {"Name": "Café Zoë"}
    # the explicit --encoding wins (utf-8 cannot read it: a clear error, nothing loaded)
    before = counts(conn)
    with pytest.raises(ImportFailed, match="l.csv"):
        run_import(conn, ImportOptions(format="csv", path=path, encoding="utf-8"))
    assert counts(conn) == before


def test_reupload_to_existing_sid_appends(conn: psycopg.Connection, tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", b"Longitude,Latitude,k\n1,2,x\n3,4,y\n")
    first = run_import(conn, ImportOptions(format="csv", path=path, sid="42", source_name="S"))
    with conn.transaction():
        conn.execute("UPDATE core_source SET attributes = '{\"k\": 1}' WHERE id = %s",
                     (first.source_pk,))
    second = run_import(conn, ImportOptions(format="csv", path=path, sid="42", source_name="S"))
    assert first.created_source and not second.created_source
    assert second.source_pk == first.source_pk
    assert len(stored(conn, first.source_pk)) == 4
    # no id burnt by the re-upload: the next new source takes the next id
    third = run_import(conn, ImportOptions(format="csv", path=path, sid="43", source_name="T"))
    assert third.source_pk == first.source_pk + 1


def test_failure_before_commit_leaves_no_rows_no_source(conn: psycopg.Connection) -> None:
    before = counts(conn)

    def boom(c: psycopg.Connection, result: object) -> None:
        assert c.execute("SELECT count(*) FROM core_geometry").fetchone()[0] > before[0]
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError, match="worker killed"):
        run_import(conn, ImportOptions(format="shapefile", sid="boom",
                                       path=str(DATA / "r-cran-sf/nc.shp")), before_commit=boom)
    assert counts(conn) == before


def test_progress_reported_per_chunk(conn: psycopg.Connection) -> None:
    seen: list[tuple[int, int | None]] = []
    run_import(conn, ImportOptions(format="shapefile", path=str(DATA / "r-cran-sf/nc.shp"),
                                   chunk_size=30), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(30, 100), (60, 100), (90, 100), (100, 100)]


# ----------------------------------------------------------------------- bad shapefiles

def test_bad_geometries_skipped_or_strict(conn: psycopg.Connection, tmp_path: Path) -> None:
    w = pyshp.Writer(str(tmp_path / "bad_poly"), shapeType=pyshp.POLYGON)
    w.field("name", "C")
    w.poly([[(0, 0), (0, 1), (1, 1), (1, 0), (0, 0)]])
    w.record("ok")
    w.shape(pyshp.Shape(shapeType=pyshp.POLYGON, points=[(0, 0), (0, 2), (2, 2), (2, 0)],
                        parts=[0]))
    w.record("unclosed")
    w.shape(pyshp.Shape(shapeType=pyshp.POLYGON, points=[(0, 0), (0, 2), (0, 0)], parts=[0]))
    w.record("short")
    w.close()
    w = pyshp.Writer(str(tmp_path / "bad_line"), shapeType=pyshp.POLYLINE)
    w.field("name", "C")
    w.shape(pyshp.Shape(shapeType=pyshp.POLYLINE, points=[(5, 5)], parts=[0]))
    w.record("one")
    w.line([[(0, 0), (1, 1)], [(2, 2), (3, 3)]])
    w.record("two parts")
    w.close()
    res = run_import(conn, ImportOptions(format="shapefile", path=str(tmp_path / "bad_poly.shp")))
    assert res.skipped_rows == [(2, "polygon ring not closed"),
                                (3, "polygon ring with fewer than 4 positions")]
    assert [(m, t) for _, m, t in stored(conn, res.source_pk)] == [({"name": "ok"}, "Polygon")]
    res = run_import(conn, ImportOptions(format="shapefile", path=str(tmp_path / "bad_line.shp")))
    assert res.skipped_rows == [(1, "line with fewer than 2 positions")]
    assert [t for _, _, t in stored(conn, res.source_pk)] == ["MultiLineString"]
    before = counts(conn)
    with pytest.raises(ImportFailed, match=r"bad_line.shp: record 1: line with fewer"):
        run_import(conn, ImportOptions(format="shapefile", strict=True,
                                       path=str(tmp_path / "bad_line.shp")))
    assert counts(conn) == before


def _copy_shapefile(src: Path, dst: Path, exts: tuple[str, ...]) -> Path:
    for ext in exts:
        shutil.copy(src.with_suffix(ext), dst.with_suffix(ext))
    return dst.with_suffix(".shp")


def test_truncated_shp_names_file_and_record(conn: psycopg.Connection, tmp_path: Path) -> None:
    shp = _copy_shapefile(DATA / "r-cran-sf/nc", tmp_path / "nc", (".shp", ".shx", ".dbf"))
    data = shp.read_bytes()
    shp.write_bytes(data[:len(data) // 2])
    before = counts(conn)
    with pytest.raises(ImportFailed) as err:
        run_import(conn, ImportOptions(format="shapefile", path=str(shp), chunk_size=10))
    msg = str(err.value)
    assert str(shp) in msg and "record" in msg and "Traceback" not in msg
    assert counts(conn) == before


def test_missing_dbf(conn: psycopg.Connection, tmp_path: Path) -> None:
    shp = _copy_shapefile(DATA / "r-cran-sf/nc", tmp_path / "nc", (".shp", ".shx"))
    before = counts(conn)
    with pytest.raises(ImportFailed, match=r"nc.shp: no .dbf"):
        run_import(conn, ImportOptions(format="shapefile", path=str(shp)))
    assert counts(conn) == before


def test_latin1_dbf_without_cpg(conn: psycopg.Connection) -> None:
    path = DATA / "pyshp-2.3.1/latin1.shp"     # no .cpg, no .shx: detected as ISO-8859-1
    res = run_import(conn, ImportOptions(format="shapefile", path=str(path)))
    ref = pyshp.Reader(str(path), encoding="latin-1")
    want = [dict(zip([f[0] for f in ref.fields[1:]], r, strict=True)) for r in ref.records()]
    got = [m for _, m, _ in stored(conn, res.source_pk)]
    assert got == want and any(not v.isascii() for m in got for v in m.values()
                               if isinstance(v, str))


def test_stats_on_empty_source_leave_attributes(conn: psycopg.Connection,
                                                tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", b"Longitude,Latitude,k\n,,x\n")
    res = run_import(conn, ImportOptions(format="csv", path=path, stats=True))
    assert (res.loaded, res.skipped) == (0, 1)
    with conn.transaction():
        st = update_source_stats(conn, res.source_pk)
        (attrs,) = conn.execute("SELECT attributes FROM core_source WHERE id = %s",
                                (res.source_pk,)).fetchone()
    assert not st.updated and attrs == {}


def test_simplify_after_reprojection(conn: psycopg.Connection) -> None:
    path = DATA / "r-cran-sf/nc.shp"      # NAD27: reprojected, then simplified in degrees
    plain = run_import(conn, ImportOptions(format="shapefile", path=str(path)))
    simple = run_import(conn, ImportOptions(format="shapefile", path=str(path), simplify=0.01))
    a = [shapely.from_wkb(w) for w, _, _ in stored(conn, plain.source_pk)]
    b = [shapely.from_wkb(w) for w, _, _ in stored(conn, simple.source_pk)]
    assert sum(shapely.get_num_coordinates(b)) < 0.8 * sum(shapely.get_num_coordinates(a))
    assert all(shapely.is_valid(g) for g in b)
    assert all(shapely.hausdorff_distance(x, y) < 0.02 for x, y in zip(a, b, strict=True))


def test_srid_reprojects_csv(conn: psycopg.Connection, tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", b"Longitude,Latitude\n1113194.9079327357,0\n0,0\n")
    res = run_import(conn, ImportOptions(format="csv", path=path, srid=3857))
    got = [shapely.from_wkb(w) for w, _, _ in stored(conn, res.source_pk)]
    assert [(round(g.x, 9), round(g.y, 9)) for g in got] == [(10.0, 0.0), (0.0, 0.0)]


def test_crs_is_never_guessed(conn: psycopg.Connection, tmp_path: Path) -> None:
    """UTM shapes without a .prj, or with one pyproj cannot read, are refused (they would load
    far from where they are); --srid says what the file is."""
    before = counts(conn)
    bare = _copy_shapefile(DATA / "r-cran-spdata/NY8_utm18", tmp_path / "bare",
                           (".shp", ".shx", ".dbf"))
    with pytest.raises(ImportFailed, match=r"bare.shp: no .prj, and its coordinates are not "
                                           r"longitude/latitude .*pass --srid"):
        run_import(conn, ImportOptions(format="shapefile", path=str(bare)))
    garbled = _copy_shapefile(DATA / "r-cran-spdata/NY8_utm18", tmp_path / "garbled",
                              (".shp", ".shx", ".dbf"))
    garbled.with_suffix(".prj").write_text('PROJCS["nothing I know",GEOGCS[')
    with pytest.raises(ImportFailed, match=r"garbled.shp: the .prj is not a coordinate system"):
        run_import(conn, ImportOptions(format="shapefile", path=str(garbled)))
    assert counts(conn) == before
    res = run_import(conn, ImportOptions(format="shapefile", path=str(bare), srid=32618))
    assert res.loaded == 281 and res.skipped == 0
    with conn.transaction():
        row = conn.execute("SELECT ST_XMin(ST_Extent(geom)), ST_YMax(ST_Extent(geom)) "
                           "FROM core_geometry WHERE source_id = %s", (res.source_pk,)).fetchone()
    assert row is not None and -77 < row[0] < -75 and 42 < row[1] < 44   # central New York


@pytest.mark.parametrize("props, problem", [
    (b'{"name":"a\\u0000b"}', r"feature 1: 'properties' holds \\u0000"),
    (b'{"name":"caf\xe9"}', r"feature 1: 'properties' is not valid UTF-8"),
    (b'{"name":' + b"[" * 3000 + b"]" * 3000 + b"}", r"feature 1\): JSON nested \d+ levels"),
])
def test_geojson_text_postgres_refuses_fails_before_any_row(
        conn: psycopg.Connection, tmp_path: Path, props: bytes, problem: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_bytes(b'{"type":"FeatureCollection","features":['
                     b'{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},'
                     b'"properties":{"name":"ok"}},'
                     b'{"type":"Feature","geometry":{"type":"Point","coordinates":[3,4]},'
                     b'"properties":' + props + b"}]}")
    before = counts(conn)
    with pytest.raises(ImportFailed, match=problem) as err:
        run_import(conn, ImportOptions(format="geojson", path=str(path), sid="bad-text"))
    assert "Traceback" not in str(err.value) and "psycopg" not in str(err.value)
    assert counts(conn) == before


def test_geojson_unicode_properties_round_trip_through_jsonb(conn: psycopg.Connection,
                                                             tmp_path: Path) -> None:
    props = {"name": "caf\u00e9 \U0001F600", "\u65e5": ["\\u0000 is text here", None, 1.5]}
    path = tmp_path / "ok.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
         "properties": props}]}, ensure_ascii=True))
    res = run_import(conn, ImportOptions(format="geojson", path=str(path), sid="unicode"))
    assert [m for _, m, _ in stored(conn, res.source_pk)] == [props]


NUL_REASON = "a value holds a NUL character, which PostgreSQL cannot store"


def test_csv_nul_in_a_value_is_a_skipped_row(conn: psycopg.Connection, tmp_path: Path) -> None:
    # PostgreSQL text and jsonb cannot hold NUL: the row is skipped with its reason (or ends a
    # --strict import), never a COPY that fails on "unsupported Unicode escape sequence"
    path = tmp_path / "nul.csv"
    path.write_bytes(b"Longitude,Latitude,Name,Note\n1,2,a,x\n3,4,b\x00c,y\n5,6,d,\x00\n"
                     b"7,8,e,z\n")
    res = run_import(conn, ImportOptions(format="csv", path=str(path), chunk_size=2))
    assert (res.total, res.loaded, res.skipped) == (4, 2, 2)
    assert res.skipped_rows == [(2, NUL_REASON), (3, NUL_REASON)]
    assert [m["Name"] for _, m, _ in stored(conn, res.source_pk)] == ["a", "e"]
    before = counts(conn)
    with pytest.raises(ImportFailed) as err:
        run_import(conn, ImportOptions(format="csv", path=str(path), sid="nul", strict=True))
    assert str(err.value) == f"{path}: row 2: {NUL_REASON}"
    assert counts(conn) == before


def test_dbf_text_ends_at_its_first_nul_as_gdal_reads_it(conn: psycopg.Connection,
                                                          tmp_path: Path) -> None:
    w = pyshp.Writer(str(tmp_path / "nul"), shapeType=pyshp.POINT)
    w.field("name", "C", 10)
    for i, value in enumerate(["a\x00b", "\x00xy", "plain"]):
        w.point(i, i)
        w.record(value)
    w.close()
    path = tmp_path / "nul.shp"
    res = run_import(conn, ImportOptions(format="shapefile", path=str(path)))
    got = [m["name"] for _, m, _ in stored(conn, res.source_pk)]
    assert got == [a["name"] for _, a in reference(path)] == ["a", None, "plain"]
