"""The legacy SQL functions (samsyn/db/sql/functions.sql) against the recorded corpus.

The wfs golden steps (contract/golden/wfs.jsonl) are replayed at the SQL level: the fixture rows
are inserted as recorded, and every recorded FeatureCollection must come out of
``generate_geojson_feature_collection_v3`` identically (values, feature order and key order).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import psycopg
import pytest

from samsyn.db import migrate
from samsyn.db.local import LocalCluster

GOLDEN = Path(__file__).resolve().parents[2] / "contract" / "golden"


def _golden(name: str) -> dict[str, dict[str, Any]]:
    steps = (json.loads(line) for line in (GOLDEN / name).read_text().splitlines() if line)
    return {s["id"]: s for s in steps}


WFS = _golden("wfs.jsonl")
MGMT = _golden("management.jsonl")


@pytest.fixture(scope="module")
def wfs_db(pg_cluster: LocalCluster, new_database) -> Iterator[psycopg.Connection]:
    """A migrated database holding the wfs corpus' sources and geometries."""
    url = new_database("fn")
    migrate.upgrade_head(url)
    with pg_cluster.connect(url.rsplit("/", 1)[1]) as conn:
        for sid in ("wfs-001", "wfs-002", "wfs-003", "wfs-004", "wfs-005"):
            body = WFS[sid]["response"]["body"]
            conn.execute(
                "INSERT INTO core_source (id, sid, name, description, source_type, attributes) "
                "VALUES (%s, %s, %s, %s, %s, '{}')",
                (body["id"], body["sid"], body["name"], body["description"],
                 body["source_type"]))
        for sid in ("wfs-006", "wfs-007", "wfs-008", "wfs-009"):
            for row in WFS[sid]["fixture"]["rows"]:
                conn.execute(
                    "INSERT INTO core_geometry (gid, geom, metadata, geometry_type, source_id) "
                    "VALUES (%s, ST_GeomFromText(%s, %s), %s, %s, %s)",
                    (row["gid"], row["wkt"], row.get("srid", 4326), json.dumps(row["metadata"]),
                     row["geometry_type"], row["source_id"]))
        # explicit ids were inserted: move the identity sequences past them
        conn.execute("SELECT setval('core_source_id_seq', (SELECT max(id) FROM core_source))")
        conn.execute("SELECT setval('core_geometry_gid_seq', (SELECT max(gid) FROM core_geometry))")
        yield conn


def _call_args(step: dict[str, Any]) -> tuple[int, str | None, int | None]:
    """The arguments the legacy view passed for a recorded /api/v1/wfs/ request."""
    request = step["request"]
    if "raw_query" in request:
        pairs = parse_qsl(request["raw_query"], keep_blank_values=True)
    elif isinstance(request.get("query"), list):
        pairs = [tuple(p) for p in request["query"]]
    else:
        pairs = list((request.get("query") or {}).items())
    params = dict(pairs)  # repeated parameters: the last wins, as in Django's QueryDict.get
    limit = params.get("limit")
    return int(params["source_id"]), params.get("bbox") or None, int(limit) if limit else None


def _feature_collection(conn: psycopg.Connection, source_id: int, bbox: str | None,
                        limit: int | None) -> Any:
    if limit is None:
        row = conn.execute("SELECT generate_geojson_feature_collection_v3(%s, %s)::text",
                           (source_id, bbox)).fetchone()
    else:
        row = conn.execute("SELECT generate_geojson_feature_collection_v3(%s, %s, %s)::text",
                           (source_id, bbox, limit)).fetchone()
    return json.loads(row[0])


RECORDED_COLLECTIONS = sorted(
    sid for sid, s in WFS.items()
    if s["kind"] == "http" and s["request"]["method"] == "GET"
    and s["response"]["status"] == 200 and isinstance(s["response"].get("body"), dict)
    and s["response"]["body"].get("type") == "FeatureCollection")


def test_corpus_has_the_interesting_cases() -> None:
    assert {"wfs-027", "wfs-029", "wfs-031", "wfs-032", "wfs-042", "wfs-044", "wfs-048",
            "wfs-055", "wfs-056", "wfs-057"} <= set(RECORDED_COLLECTIONS)


@pytest.mark.parametrize("step_id", RECORDED_COLLECTIONS)
def test_feature_collection_matches_the_recording(wfs_db: psycopg.Connection,
                                                  step_id: str) -> None:
    step = WFS[step_id]
    got = _feature_collection(wfs_db, *_call_args(step))
    expected = step["response"]["body"]
    assert got == expected
    # same key order too (jsonb order of properties, type/features, type/id/geometry/properties)
    assert json.dumps(got) == json.dumps(expected)


def test_features_null_when_nothing_matches(wfs_db: psycopg.Connection) -> None:
    for args in [(1, "100,-10,101,-9", None), (2, "-180,-90,180,90", None),
                 (1, "-180,-90,180,90", 0), (1, "NaN,NaN,NaN,NaN", None), (999, None, None)]:
        assert _feature_collection(wfs_db, *args) == {"type": "FeatureCollection",
                                                      "features": None}


def test_without_bbox_all_features_of_the_source(wfs_db: psycopg.Connection) -> None:
    # The legacy function failed here (LIMIT bound to the NULL bbox); samsyn's works.
    world = _feature_collection(wfs_db, 1, "-180,-90,180,90", None)
    everything = _feature_collection(wfs_db, 1, None, None)
    assert {f["id"] for f in everything["features"]} >= {f["id"] for f in world["features"]}
    assert {f["id"] for f in everything["features"]} == set(range(1, 10))
    assert len(_feature_collection(wfs_db, 1, None, 2)["features"]) == 2


@pytest.mark.parametrize("step_id", ["wfs-036", "wfs-037", "wfs-038", "wfs-039", "wfs-040",
                                     "wfs-049"])
def test_malformed_bbox_and_negative_limit_fail_like_the_legacy(
        wfs_db: psycopg.Connection, step_id: str) -> None:
    step = WFS[step_id]
    expected_first_line = step["response"]["body"]["error"].split("\n", 1)[0]
    with pytest.raises(psycopg.Error) as info:
        with wfs_db.transaction():
            _feature_collection(wfs_db, *_call_args(step))
    assert str(info.value).split("\n", 1)[0] == expected_first_line


@pytest.mark.parametrize("step_id, message", [("wfs-010", "Z dimension"), ("wfs-011", "SRID")])
def test_the_geometry_column_rejects_what_the_legacy_rejected(
        wfs_db: psycopg.Connection, step_id: str, message: str) -> None:
    row = WFS[step_id]["fixture"]["rows"][0]
    with pytest.raises(psycopg.Error, match=message) as info:
        with wfs_db.transaction():
            wfs_db.execute("INSERT INTO core_geometry (geom, metadata, geometry_type, source_id) "
                           "VALUES (ST_GeomFromText(%s, %s), '{}', 'Point', 5)",
                           (row["wkt"], row.get("srid", 4326)))
    assert str(info.value).startswith(WFS[step_id]["result"]["error"])


# ------------------------------------------------------------------ update_source_attributes

def _csv_rows(step: dict[str, Any]) -> list[dict[str, str]]:
    lines = step["fixture"]["file"]["content"].splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]


@pytest.fixture
def csv_source(wfs_db: psycopg.Connection) -> Iterator[int]:
    """mgmt-001: the CSV upload's source and points (rolled back afterwards)."""
    with wfs_db.transaction(force_rollback=True):
        source_id = wfs_db.execute(
            "INSERT INTO core_source (sid, name, description, source_type, attributes) "
            "VALUES ('42', 'CSV shops', '', '', '{}') RETURNING id").fetchone()[0]
        for row in _csv_rows(MGMT["mgmt-001"]):
            if not row["Longitude"]:
                continue
            lon, lat = float(row.pop("Longitude")), float(row.pop("Latitude"))
            wfs_db.execute(
                "INSERT INTO core_geometry (geom, metadata, geometry_type, source_id) "
                "VALUES (ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, 'Point', %s)",
                (lon, lat, json.dumps(row), source_id))
        yield source_id


def test_update_source_attributes_as_recorded(wfs_db: psycopg.Connection,
                                              csv_source: int) -> None:
    wfs_db.execute("SELECT update_source_attributes(%s)", (csv_source,))
    got = json.loads(wfs_db.execute("SELECT attributes::text FROM core_source WHERE id = %s",
                                    (csv_source,)).fetchone()[0])
    expected = MGMT["mgmt-005"]["response"]["body"]["attributes"]
    assert got == expected
    assert json.dumps(got) == json.dumps(expected)


def test_csv_points_feature_collection_as_recorded(wfs_db: psycopg.Connection,
                                                   csv_source: int) -> None:
    got = _feature_collection(wfs_db, csv_source, "-180,-90,180,90", None)
    expected = MGMT["mgmt-003"]["response"]["body"]
    for feature in expected["features"]:  # the recording's source id was 1
        feature["properties"]["source_id"] = csv_source
    assert [f["properties"] for f in got["features"]] == [
        f["properties"] for f in expected["features"]]
    assert [f["geometry"] for f in got["features"]] == [
        f["geometry"] for f in expected["features"]]


def test_update_source_attributes_without_geometries_fails_and_keeps_attributes(
        wfs_db: psycopg.Connection) -> None:
    with wfs_db.transaction(force_rollback=True):
        source_id = wfs_db.execute(
            "INSERT INTO core_source (sid, name, description, source_type, attributes) "
            "VALUES ('api-src', 'API source', 'desc', 'vector', '{\"keep\": true}') "
            "RETURNING id").fetchone()[0]
        with pytest.raises(psycopg.Error, match="FOREACH expression must not be null"):
            with wfs_db.transaction():
                wfs_db.execute("SELECT update_source_attributes(%s)", (source_id,))
        assert wfs_db.execute("SELECT attributes FROM core_source WHERE id = %s",
                              (source_id,)).fetchone()[0] == {"keep": True}


def test_update_source_attributes_many_distinct_values(wfs_db: psycopg.Connection) -> None:
    with wfs_db.transaction(force_rollback=True):
        source_id = wfs_db.execute(
            "INSERT INTO core_source (sid, name, description, source_type, attributes) "
            "VALUES ('many', 'Many', '', '', '{}') RETURNING id").fetchone()[0]
        wfs_db.execute(
            "INSERT INTO core_geometry (geom, metadata, geometry_type, source_id) "
            "SELECT ST_SetSRID(ST_MakePoint(0, 0), 4326), "
            "       jsonb_build_object('label', 'v' || i, 'few', 'f' || (i %% 3), 'n', i), "
            "       'Point', %s FROM generate_series(1, 600) AS i", (source_id,))
        wfs_db.execute("SELECT update_source_attributes(%s)", (source_id,))
        attributes = wfs_db.execute("SELECT attributes FROM core_source WHERE id = %s",
                                    (source_id,)).fetchone()[0]
    assert attributes == {
        "label": {"dtype": "object"},  # >= 500 distinct values
        "few": {"dtype": "object", "values": ["f0", "f1", "f2"]},
        "n": {"dtype": "numeric", "min": 1, "max": 600},  # JSON numbers count as numeric text
    }


# ------------------------------------------------------------------ tiles

def test_tilebbox(wfs_db: psycopg.Connection) -> None:
    half = 6378137 * math.pi
    row = wfs_db.execute(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b), ST_SRID(b) "
        "FROM tilebbox(0, 0, 0) AS b").fetchone()
    assert row[:4] == pytest.approx((-half, -half, half, half))
    assert row[4] == 3857
    row = wfs_db.execute(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b), ST_SRID(b) "
        "FROM tilebbox(1, 1, 0) AS b").fetchone()
    assert row[:4] == pytest.approx((0, 0, half, half))
    row = wfs_db.execute(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b), ST_SRID(b) "
        "FROM tilebbox(1, 0, 1, 4326) AS b").fetchone()
    assert row[:4] == pytest.approx((-180, -85.0511287798066, 0, 0), abs=1e-9)
    assert row[4] == 4326
    same = wfs_db.execute("SELECT ST_Equals(tilebbox(7, 33, 77), ST_TileEnvelope(7, 33, 77))"
                          ).fetchone()[0]
    assert same


@pytest.mark.parametrize("lat, lon, z, xy", [
    (0.0, 0.0, 0, (0, 0)),
    (0.0, 0.0, 1, (1, 1)),
    (51.5074, -0.1278, 10, (511, 340)),     # London
    (40.748817, -73.985428, 12, (1206, 1539)),  # NYC
    (-33.8688, 151.2093, 8, (235, 153)),     # Sydney
])
def test_get_tile_coords(wfs_db: psycopg.Connection, lat: float, lon: float, z: int,
                         xy: tuple[int, int]) -> None:
    assert wfs_db.execute("SELECT x, y FROM get_tile_coords(%s, %s, %s)",
                          (lat, lon, z)).fetchall() == [xy]
    # the tile found really holds the point
    inside = wfs_db.execute(
        "SELECT ST_Intersects(tilebbox(%s, %s, %s), "
        "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 3857))",
        (z, xy[0], xy[1], lon, lat)).fetchone()[0]
    assert inside


def test_mvt_tile_returns_a_vector_tile(wfs_db: psycopg.Connection) -> None:
    tile = wfs_db.execute("SELECT mvt_tile(0, 0, 0, %s::json)",
                          (json.dumps({"source_id": 1}),)).fetchone()[0]
    assert isinstance(tile, bytes) and len(tile) > 0
    assert b"layer" in tile and b"name" in tile and b"poly-hole" in tile  # layer + metadata
    empty = wfs_db.execute("SELECT mvt_tile(3, 0, 0, %s::json)",  # far from every feature
                           (json.dumps({"source_id": 1}),)).fetchone()[0]
    assert empty == b""
    other = wfs_db.execute("SELECT mvt_tile(0, 0, 0, %s::json)",
                           (json.dumps({"source_id": 4}),)).fetchone()[0]
    assert b"poly-hole" not in other and len(other) > 0
    assert wfs_db.execute("SELECT mvt_tile(0, 0, 0, NULL)").fetchone()[0] is None  # STRICT
