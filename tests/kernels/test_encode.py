"""samsyn_fast.encode against PostGIS 3.3 (ST_AsGeoJSON + Python json, ST_GeomFromEWKB, binary
COPY) and shapely."""

from __future__ import annotations

import json
import struct
import uuid

import numpy as np
import psycopg
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.encode import (
    buffers_to_geojson,
    encode_ewkb,
    pgcopy_binary,
    pgcopy_fields,
    wkb_to_geojson,
)
from samsyn_fast.errors import KernelError

PG = "host=127.0.0.1 port=5432 user=postgres"


@pytest.fixture(scope="module")
def pg():
    """A throwaway PostGIS database on the local server, dropped afterwards."""
    name = f"samsyn_kernels_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG + " dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(PG + f" dbname={name}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
            yield conn
    finally:
        with psycopg.connect(PG + " dbname=postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _legacy(text: str) -> bytes:
    """What the legacy API sent: ST_AsGeoJSON parsed by json and re-rendered compactly."""
    return json.dumps(json.loads(text), separators=(",", ":")).encode()


def _split(text: bytes, offsets: np.ndarray) -> list[bytes]:
    return [text[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def _concat(values: list[bytes]) -> tuple[bytes, np.ndarray]:
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in values])]).astype(np.int64)
    return b"".join(values), offsets


def _postgis_rows(pg, ewkt: list[str]):
    """(ST_AsGeoJSON, EWKB NDR, ISO NDR, EWKB XDR, ISO XDR) per geometry; None where PostGIS
    refuses ST_AsGeoJSON (e.g. a collection inside a collection)."""
    rows = []
    for t in ewkt:
        binaries = pg.execute(
            "SELECT ST_AsEWKB(g), ST_AsBinary(g), ST_AsEWKB(g, 'XDR'), ST_AsBinary(g, 'XDR') "
            "FROM ST_GeomFromEWKT(%s) AS g",
            (t,),
        ).fetchone()
        try:
            text = pg.execute("SELECT ST_AsGeoJSON(ST_GeomFromEWKT(%s))", (t,)).fetchone()[0]
        except psycopg.errors.InternalError_:
            text = None
        rows.append((text, *(bytes(b) for b in binaries)))
    return rows


def _check_against_postgis(pg, ewkt: list[str]) -> None:
    rows = _postgis_rows(pg, ewkt)
    for column in (1, 2, 3, 4):
        for r, t in zip(rows, ewkt):
            if r[0] is None:  # the legacy API failed here; so does the writer
                with pytest.raises(KernelError):
                    wkb_to_geojson(r[column], np.array([0, len(r[column])]))
        ok = [r for r in rows if r[0] is not None]
        data, offsets = _concat([r[column] for r in ok])
        text, text_offsets = wkb_to_geojson(data, offsets)
        got = _split(text, text_offsets)
        for g, r, t in zip(got, ok, [t for r, t in zip(rows, ewkt) if r[0] is not None]):
            want = json.loads(r[0])
            if column in (2, 4):  # ISO WKB carries no SRID, so no "crs" member can come back
                want.pop("crs", None)
            assert g == json.dumps(want, separators=(",", ":")).encode(), (t, column)


# Magnitudes from subnormal to huge, many digits, exact ties at 9 decimals (k / 2**n), values
# at the 1e-8 / 1e15 switches to exponent notation, negative zero.
coord = st.one_of(
    st.floats(-180, 180),
    st.floats(-2.1e7, 2.1e7),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**40), 2**40).map(lambda k: k / 2**10),
    st.integers(-(10**12), 10**12).map(lambda k: k / 1e9 + 5e-10),
    st.decimals(-1e6, 1e6, places=12, allow_nan=False, allow_infinity=False).map(float),
    st.sampled_from(
        [
            0.0,
            -0.0,
            1e-8,
            -1e-8,
            1.00000001e-8,
            9.999999e-9,
            1e15,
            999999999999999.9,
            1e16,
            4194304.0,
            4194303.9999999995,
            1e-4,
            9.9999e-5,
            5e-324,
            1e308,
        ]
    ),
)
pt = st.tuples(coord, coord)


def _pts(points):
    return ", ".join(f"{x!r} {y!r}" for x, y in points)


def _ring(points):
    return f"({_pts(points + [points[0]])})"


point = pt.map(lambda p: f"POINT({_pts([p])})")
line = st.lists(pt, min_size=2, max_size=6).map(lambda ps: f"LINESTRING({_pts(ps)})")
polygon = st.lists(st.lists(pt, min_size=3, max_size=5), min_size=1, max_size=3).map(
    lambda rings: "POLYGON(" + ", ".join(_ring(r) for r in rings) + ")"
)
empty = st.sampled_from(
    [
        "POINT EMPTY",
        "LINESTRING EMPTY",
        "POLYGON EMPTY",
        "MULTIPOINT EMPTY",
        "MULTILINESTRING EMPTY",
        "MULTIPOLYGON EMPTY",
        "GEOMETRYCOLLECTION EMPTY",
    ]
)
z_point = st.tuples(coord, coord, coord).map(lambda p: f"POINT Z ({p[0]!r} {p[1]!r} {p[2]!r})")
m_line = st.tuples(coord, coord, coord).map(
    lambda p: f"LINESTRING M (0 0 1, {p[0]!r} {p[1]!r} {p[2]!r})"
)
simple = st.one_of(point, line, polygon, empty)  # 2D: collections cannot mix dimensions
multi = st.one_of(
    st.lists(pt, min_size=1, max_size=4).map(
        lambda ps: "MULTIPOINT(" + ", ".join(f"({_pts([p])})" for p in ps) + ")"
    ),
    st.lists(line, min_size=1, max_size=3).map(
        lambda ls: "MULTILINESTRING(" + ", ".join(wkt[10:] for wkt in ls) + ")"
    ),
    st.lists(polygon, min_size=1, max_size=3).map(
        lambda ps: "MULTIPOLYGON(" + ", ".join(p[7:] for p in ps) + ")"
    ),
)
collection = st.lists(st.one_of(simple, multi), min_size=0, max_size=3).map(
    lambda gs: "GEOMETRYCOLLECTION(" + ", ".join(gs) + ")" if gs else "GEOMETRYCOLLECTION EMPTY"
)
nested = st.lists(st.one_of(simple, collection), min_size=1, max_size=3).map(
    lambda gs: "GEOMETRYCOLLECTION(" + ", ".join(gs) + ")"
)
geometry = st.tuples(
    st.sampled_from(["", "SRID=4326;", "SRID=3857;", "SRID=0;", "SRID=2154;"]),
    st.one_of(simple, multi, collection, nested, z_point, m_line),
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ewkt=st.lists(geometry, min_size=1, max_size=25))
def test_geojson_matches_postgis_then_python_json(pg, ewkt):
    # Given geometries of every type (EWKB/ISO, NDR/XDR), When converted, Then byte-identical
    _check_against_postgis(pg, ewkt)


def test_geojson_bulk_random_numbers_match_postgis(pg):
    rng = np.random.default_rng(20261122)
    n = 20_000
    values = np.concatenate(
        [
            rng.uniform(-180, 180, n),
            rng.uniform(-2.1e7, 2.1e7, n),
            np.array(
                [round(v, d) for v, d in zip(rng.uniform(-180, 180, n), rng.integers(0, 12, n))]
            ),
            rng.standard_normal(n) * 10.0 ** rng.integers(-12, 20, n),
            rng.integers(-(10**9), 10**9, n) / 2.0 ** rng.integers(0, 40, n),
        ]
    )
    xy = values.reshape(-1, 2)
    rows = pg.execute(
        "SELECT ST_AsGeoJSON(ST_MakePoint(x, y)), ST_AsEWKB(ST_MakePoint(x, y)) "
        "FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS u(x, y, o) ORDER BY o",
        (xy[:, 0].tolist(), xy[:, 1].tolist()),
    ).fetchall()
    data, offsets = _concat([bytes(r[1]) for r in rows])
    text, text_offsets = wkb_to_geojson(data, offsets)
    got = _split(text, text_offsets)
    bad = [(r[0], g) for r, g in zip(rows, got) if _legacy(r[0]) != g]
    assert not bad, bad[:5]


def test_geojson_special_values_and_crs_names(pg):
    _check_against_postgis(
        pg,
        [
            "POINT(1 2)",
            "SRID=3857;POINT(0.1 -0.0)",
            "POINT(1e20 -1e-20)",
            "POINT ZM (1 2 3 4)",
            "SRID=3857;GEOMETRYCOLLECTION(POINT(1 2))",
        ],
    )
    nan_point = struct.pack("<BIdd", 1, 1, float("nan"), float("nan"))
    inf_point = struct.pack("<BIdd", 1, 1, float("inf"), -float("inf"))
    text, offsets = wkb_to_geojson(nan_point + inf_point, np.array([0, 21, 42]))
    assert _split(text, offsets) == [
        b'{"type":"Point","coordinates":[]}',
        b'{"type":"Point","coordinates":[Infinity,-Infinity]}',
    ]
    ewkb = struct.pack("<BIidd", 1, 0x20000001, 900913, 1.0, 2.0)
    text, _ = wkb_to_geojson(
        ewkb, np.array([0, len(ewkb)]), {900913: "spatialreferencing.org:900913"}
    )
    want = pg.execute("SELECT ST_AsGeoJSON('SRID=900913;POINT(1 2)'::geometry)").fetchone()[0]
    assert text == _legacy(want)


def test_geojson_nulls_and_errors():
    point = struct.pack("<BIdd", 1, 1, 1.0, 2.0)
    text, offsets = wkb_to_geojson(point + point, np.array([0, 21, 21, 42]))
    assert _split(text, offsets) == [
        b'{"type":"Point","coordinates":[1,2]}',
        b"",
        b'{"type":"Point","coordinates":[1,2]}',
    ]
    with pytest.raises(KernelError) as err:
        wkb_to_geojson(point, np.array([0, 20]))
    assert err.value.code == 2 and "0" in err.value.where
    with pytest.raises(KernelError) as err:
        wkb_to_geojson(struct.pack("<BIIdddddd", 1, 8, 3, 0, 0, 1, 1, 2, 0), np.array([0, 57]))
    assert err.value.code == 5
    with pytest.raises(KernelError):
        wkb_to_geojson(b"\x07" + point[1:], np.array([0, 21]))


def _buffers_from_shapely(geoms, kind):
    geoms = np.asarray(geoms, dtype=object)
    null = shapely.is_missing(geoms)
    filled = np.where(null, shapely.from_wkt(f"{kind.upper()} EMPTY"), geoms)
    _, coords, offs = shapely.to_ragged_array(filled, include_z=False)
    zero = np.zeros(1, dtype=np.int64)
    if kind == "Point":
        goff = np.arange(len(geoms) + 1, dtype=np.int64)
        empty = shapely.is_empty(filled)
        goff = np.concatenate([[0], np.cumsum(~empty)]).astype(np.int64)
        coords = coords[~np.isnan(coords[:, 0])] if len(coords) else coords
        return GeometryBuffers("Point", coords, None, goff, zero, zero, null)
    if kind == "MultiPoint":
        return GeometryBuffers(kind, coords, None, offs[0], zero, zero, null)
    if kind == "MultiLineString":
        return GeometryBuffers(kind, coords, None, offs[1], offs[0], zero, null)
    return GeometryBuffers(kind, coords, None, offs[2], offs[0], offs[1], null)


SAMPLES = {
    "Point": ["POINT(1 2)", None, "POINT(-179.5 85.05112878)", "POINT EMPTY"],
    "MultiPoint": ["MULTIPOINT(1 2, 3 4)", "MULTIPOINT EMPTY", None, "MULTIPOINT(0.1 0.2)"],
    "MultiLineString": [
        "MULTILINESTRING((0 0, 1 1), (2 2, 3 3, 4 5))",
        None,
        "MULTILINESTRING EMPTY",
        "MULTILINESTRING((1e-9 1e9, 2 2))",
    ],
    "MultiPolygon": [
        "MULTIPOLYGON(((0 0, 10 0, 10 10, 0 0), (1 1, 2 1, 2 2, 1 1)), "
        "((20 20, 30 20, 30 30, 20 20)))",
        None,
        "MULTIPOLYGON EMPTY",
        "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))",
    ],
}


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_ewkb_round_trips_through_shapely_and_postgis(pg, kind):
    wkts = SAMPLES[kind]
    geoms = np.array([shapely.from_wkt(w) if w else None for w in wkts], dtype=object)
    buffers = _buffers_from_shapely(geoms, kind)
    data, offsets = encode_ewkb(buffers, srid=4326)
    values = _split(data.tobytes(), offsets)
    for w, v in zip(wkts, values):
        if w is None:
            assert v == b""
            continue
        back = shapely.from_wkb(v)
        assert shapely.get_srid(back) == 4326
        assert shapely.equals_identical(back, shapely.from_wkt(w)) or (
            back.is_empty and shapely.from_wkt(w).is_empty
        )
        ewkt, again = pg.execute(
            "SELECT ST_AsEWKT(ST_GeomFromEWKB(%s)), ST_AsEWKB(ST_GeomFromEWKB(%s))", (v, v)
        ).fetchone()
        assert ewkt.startswith("SRID=4326;")
        assert bytes(again) == v  # PostGIS writes the very same EWKB back
    # Binary COPY: an int column and the geometry column, NULL shapes as SQL NULL.
    ids = [struct.pack(">i", 4) + struct.pack(">i", i) for i in range(len(wkts))]
    id_data, id_offsets = _concat(ids)
    stream = pgcopy_binary(
        [(np.frombuffer(id_data, np.uint8), id_offsets), pgcopy_fields(data, offsets)], len(wkts)
    )
    pg.execute("CREATE TEMP TABLE t (id int, geom geometry(Geometry, 4326))")
    try:
        with pg.cursor() as cur, cur.copy("COPY t (id, geom) FROM STDIN (FORMAT binary)") as copy:
            copy.write(stream.tobytes())
        rows = pg.execute("SELECT id, ST_AsEWKB(geom) FROM t ORDER BY id").fetchall()
    finally:
        pg.execute("DROP TABLE t")
    assert [r[0] for r in rows] == list(range(len(wkts)))
    assert [bytes(r[1]) if r[1] is not None else b"" for r in rows] == values


def test_ewkb_z_and_geojson_of_buffers(pg):
    buffers = GeometryBuffers(
        "MultiLineString",
        np.array([[0.0, 0.0], [1.5, 2.25], [3.0, 4.0]]),
        np.array([1.0, 2.0, 3.0]),
        np.array([0, 1, 1]),
        np.array([0, 3]),
        np.array([0]),
        np.array([False, True]),
    )
    data, offsets = encode_ewkb(buffers, srid=3857, include_z=True)
    assert shapely.from_wkb(data[offsets[0] : offsets[1]].tobytes()).has_z
    text, text_offsets = buffers_to_geojson(buffers, srid=3857)
    want = pg.execute(
        "SELECT ST_AsGeoJSON(ST_GeomFromEWKB(%s))", (data[offsets[0] : offsets[1]].tobytes(),)
    ).fetchone()[0]
    assert _split(text, text_offsets) == [_legacy(want), b""]
    data2, _ = encode_ewkb(buffers, srid=3857)
    assert not shapely.from_wkb(data2[: len(data2)].tobytes()).has_z


def test_ewkb_rejects_bad_input():
    zero = np.zeros(1, dtype=np.int64)
    with pytest.raises(KernelError):
        encode_ewkb(
            GeometryBuffers(
                "Point", np.zeros((1, 2)), None, np.array([0, 2]), zero, zero, np.zeros(1, bool)
            )
        )
    with pytest.raises(KernelError):
        encode_ewkb(
            GeometryBuffers(
                "Polygon", np.zeros((1, 2)), None, np.array([0, 1]), zero, zero, np.zeros(1, bool)
            )
        )


@settings(max_examples=3000, deadline=None)
@given(
    v=st.one_of(
        st.floats(min_value=5e-324, allow_infinity=False),
        st.floats(1e-3, 2.0**53),
        st.integers(-1074, 1023).map(lambda e: 2.0**e),
    )
)
def test_shortest_digits_match_python_repr(v):
    # Both shortest-digit paths (exact integer one for 1e-3 <= v < 2^53, snprintf one elsewhere)
    from samsyn_fast import _encode

    fast = _encode.repr_positive(v, True)
    assert _encode.repr_positive(v, False) == repr(v).encode()
    assert fast is None or fast == repr(v).encode()


def test_geojson_output_buffer_grows():
    # EWKB points with an SRID and a long crs name print ~6x their size: the buffer must grow.
    one = struct.pack("<BIidd", 1, 0x20000001, 2154, -1.25, 47.5)
    name = "EPSG:" + "2154" * 20
    data, offsets = _concat([one] * 20_000)
    text, text_offsets = wkb_to_geojson(data, offsets, {2154: name})
    single, _ = wkb_to_geojson(one, np.array([0, len(one)]), {2154: name})
    assert single == (b'{"type":"Point","crs":{"type":"name","properties":{"name":"'
                      + name.encode() + b'"}},"coordinates":[-1.25,47.5]}')
    assert _split(text, text_offsets) == [single] * 20_000
