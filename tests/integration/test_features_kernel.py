"""samsyn_fast's FeatureCollection writer against the legacy rendering, on a real PostGIS.

The legacy API returned json.dumps(json.loads(text)) of PostGIS's ST_AsGeoJSON and of the jsonb
merge `metadata || {geometry_type, source_id}`; the kernel must write the same bytes from the
binary COPY stream of the raw columns.
"""
from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from samsyn_fast.features import SlowPath, feature_collection_from_copy

COPY = ("COPY (SELECT gid, geom, metadata, geometry_type, source_id FROM core_geometry "
        "ORDER BY gid) TO STDOUT (FORMAT binary)")
EXPECTED = ("SELECT gid, ST_AsGeoJSON(geom), (metadata || jsonb_build_object('geometry_type', "
            "geometry_type, 'source_id', source_id))::text FROM core_geometry ORDER BY gid")


@pytest.fixture(scope="module")
def conn(migrated_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(migrated_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as connection:
        connection.execute("INSERT INTO core_source (sid, name, description, source_type, "
                           "attributes) VALUES ('kernel', 'k', 'd', 't', '{}') "
                           "ON CONFLICT DO NOTHING")
        yield connection


def legacy_bytes(conn: psycopg.Connection) -> bytes:
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    features = [
        f'{{"type":"Feature","id":{gid},"geometry":{dumps(json.loads(geom))},'
        f'"properties":{dumps(json.loads(props))}}}'
        for gid, geom, props in conn.execute(EXPECTED).fetchall()]
    return ('{"type":"FeatureCollection","features":[' + ",".join(features) + "]}").encode()


def kernel_bytes(conn: psycopg.Connection) -> bytes:
    with conn.cursor() as cur, cur.copy(COPY) as copy:
        return feature_collection_from_copy(b"".join(copy))


def load(conn: psycopg.Connection, rows: list[tuple[str, Any, str]]) -> None:
    source_id = conn.execute("SELECT id FROM core_source WHERE sid = 'kernel'").fetchone()[0]
    conn.execute("DELETE FROM core_geometry")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO core_geometry (geom, metadata, geometry_type, source_id) "
            "VALUES (ST_GeomFromText(%s, 4326), %s, %s, %s)",
            [(wkt, Jsonb(meta), gtype, source_id) for wkt, meta, gtype in rows])


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
ordinate = st.one_of(
    st.floats(-180, 180), finite,
    st.integers(-10**6, 10**6).map(float),
    st.builds(lambda m, e: m * 10.0 ** e, st.floats(-10, 10), st.integers(-20, 20)),
    st.decimals(-180, 180, places=12, allow_nan=False, allow_infinity=False).map(float),
    st.sampled_from([0.0, -0.0, 1e-8, 1.5e-8, 1e15, 9.999999999e14, 0.1234567895, 1e-5, 5e16]))


def pos(x: float, y: float) -> str:
    return f"{x!r} {y!r}"


point = st.builds(pos, ordinate, ordinate)
points = st.lists(point, min_size=2, max_size=6)
ring = st.lists(point, min_size=3, max_size=6).map(lambda pts: pts + [pts[0]])
geometries = st.one_of(
    point.map(lambda p: f"POINT({p})"),
    points.map(lambda p: f"LINESTRING({', '.join(p)})"),
    st.lists(ring, min_size=1, max_size=3).map(
        lambda rings: "POLYGON(" + ", ".join(f"({', '.join(r)})" for r in rings) + ")"),
    st.lists(point, min_size=1, max_size=4).map(
        lambda p: "MULTIPOINT(" + ", ".join(f"({q})" for q in p) + ")"),
    st.lists(points, min_size=1, max_size=3).map(
        lambda ls: "MULTILINESTRING(" + ", ".join(f"({', '.join(coords)})" for coords in ls) + ")"),
    st.lists(st.lists(ring, min_size=1, max_size=2), min_size=1, max_size=3).map(
        lambda polys: "MULTIPOLYGON(" + ", ".join(
            "(" + ", ".join(f"({', '.join(r)})" for r in rings) + ")" for rings in polys) + ")"),
    st.lists(point, min_size=0, max_size=3).map(
        lambda p: "GEOMETRYCOLLECTION(" + ", ".join(f"POINT({q})" for q in p) + ")"
        if p else "GEOMETRYCOLLECTION EMPTY"),
    st.sampled_from(["POINT EMPTY", "LINESTRING EMPTY", "POLYGON EMPTY", "MULTIPOINT EMPTY"]),
)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(10**25), 10**25), finite,
                        st.text(max_size=12))
json_value = st.recursive(json_scalar, lambda c: st.lists(c, max_size=3)
                          | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=8)
keys = st.one_of(st.text(max_size=15), st.sampled_from(
    ["source_id", "geometry_type", "id", "type", "a", "sourceid", "geometry_typf", "zzzzzzzzz"]))
metadata = st.dictionaries(keys.filter(lambda k: "\\" not in json.dumps(k, ensure_ascii=False)
                                       and "\x00" not in k),
                           json_value, max_size=6)


def storable(value: Any) -> bool:
    text = json.dumps(value)
    return "\\u0000" not in text and all(
        math.isfinite(v) and abs(v) < 1e300 for v in _floats(value))


def _floats(value: Any) -> Iterator[float]:
    if isinstance(value, float):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _floats(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _floats(v)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(geometries, metadata, st.text(max_size=8)), min_size=1, max_size=8))
def test_kernel_writes_what_the_legacy_rendered(conn: psycopg.Connection,
                                                rows: list[tuple[str, Any, str]]) -> None:
    rows = [r for r in rows if storable(r[1]) and "\x00" not in r[2]]
    if not rows:
        return
    load(conn, rows)
    assert kernel_bytes(conn) == legacy_bytes(conn)


def test_special_coordinates(conn: psycopg.Connection) -> None:
    values = [1e-7, 1.5e-8, 1e-8, 9.99e-9, 5e-10, 1e-13, 1e14, 999999999999000.0, 1e15, 1.5e15,
              123456.5, 1.234567891234e-07, 1.0000000005, 0.1234567895, 2.0000000015,
              1234567.0123456789, -73.985428, 40.748817, 0.123456789012345, -179.999999999]
    rows = [(f"POINT({v!r} {-v!r})", {"v": v}, "Point") for v in values]
    load(conn, rows)
    assert kernel_bytes(conn) == legacy_bytes(conn)


def test_escaped_top_level_key_takes_the_slow_path(conn: psycopg.Connection) -> None:
    load(conn, [("POINT(1 2)", {'we"ird': 1}, "Point")])
    with pytest.raises(SlowPath):
        kernel_bytes(conn)


def test_non_object_metadata_takes_the_slow_path(conn: psycopg.Connection) -> None:
    load(conn, [("POINT(1 2)", [1, 2], "Point")])
    with pytest.raises(SlowPath):
        kernel_bytes(conn)


@pytest.mark.parametrize("cut", [0, 5, 11, 19, 25, 40, 60])
def test_truncated_streams_are_kernel_errors(conn: psycopg.Connection, cut: int) -> None:
    from samsyn_fast.errors import KernelError
    load(conn, [("LINESTRING(0 0, 1 1, 2 2)", {"a": 1}, "LineString")])
    with conn.cursor() as cur, cur.copy(COPY) as copy:
        data = b"".join(copy)
    with pytest.raises(KernelError):
        feature_collection_from_copy(data[:cut])
    corrupted = bytearray(data)
    corrupted[19 + 2 + 4 + 8 + 4 + 1] = 0x7F  # the geometry type byte
    with pytest.raises(KernelError):
        feature_collection_from_copy(bytes(corrupted))
    assert struct.calcsize("d") == 8


def test_ordinate_that_overflows_after_postgis_rounding_is_an_error(
        conn: psycopg.Connection) -> None:
    from samsyn_fast.errors import KernelError
    load(conn, [("POINT(0 1.7976931345000002e+308)", {}, "Point")])
    with pytest.raises(KernelError):
        kernel_bytes(conn)
