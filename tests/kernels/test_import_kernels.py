"""Kernel features the import pipelines use: CSV skip_bad, typed JSON records, single-part EWKB."""
from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from samsyn_fast import GeometryBuffers, _csv, encode_ewkb, iter_csv_points, read_csv_points

DATA = (b"Name,Longitude,Latitude\nA,1,2\nB,,3\nC,4,\nD,abc,5\nE,1e999,1\nF,6,7\n")


def test_skip_bad_lists_rows_instead_of_raising() -> None:
    p = read_csv_points(DATA, skip_bad=True)
    assert p.coords.tolist() == [[1, 2], [6, 7]] and p.row_numbers.tolist() == [1, 6]
    assert p.columns["Name"].to_list() == ["A", "F"]
    assert p.skipped is not None
    assert p.skipped.rows.tolist() == [2, 3, 4, 5]
    assert [p.skipped.reason(i) for i in range(4)] == [
        "no coordinates", "empty latitude", "could not convert 'Longitude' value 'abc' to float",
        "coordinate overflows to infinity"]
    with pytest.raises(ValueError, match="csv row 3"):
        read_csv_points(DATA)


@pytest.mark.parametrize("chunk_rows", [1, 2, 100])
def test_skip_bad_streaming_keeps_every_skip_once(chunk_rows: int) -> None:
    big = DATA + b"".join(b"G,%d,1\n" % i for i in range(5000)) + b"H,,\n"
    parts = list(iter_csv_points(big, skip_bad=True, chunk_rows=chunk_rows, block_bytes=4096))
    rows = np.concatenate([c.skipped.rows for c in parts if c.skipped is not None])
    assert rows.tolist() == [2, 3, 4, 5, 5007]
    assert sum(len(c) for c in parts) == 5002


def test_metadata_json_jsonb_prefix() -> None:
    p = read_csv_points(b"Longitude,Latitude,k\n1,2,\"a\"\"b\"\n", skip_bad=True)
    assert bytes(p.metadata_json(jsonb=True).data) == b'\x01{"k":"a\\"b"}'
    assert bytes(p.metadata_json().data) == b'{"k":"a\\"b"}'


def test_json_records_types() -> None:
    floats = np.array([1.5, np.nan, 1e300, -0.0, 0.1 + 0.2])
    days = np.array(["2020-02-29", "1899-12-31", "0001-01-01", "9999-12-31", "1970-01-01"],
                    dtype="datetime64[D]").view(np.int64)
    ints = np.array([-5, 2**62, 0, -(2**63), 7])
    text = [b"x\"\\\n", "é".encode(), b"", b"\x01", b"z"]
    offs = np.zeros(6, np.int64)
    np.cumsum([len(t) for t in text], out=offs[1:])
    nulls = [np.zeros(5, np.uint8)] * 4 + [np.array([0, 1, 0, 0, 0], np.uint8)]
    o, d = _csv.json_records(
        [b'"t"', b'"i"', b'"f"', b'"d"', b'"b"'], [0, 1, 2, 3, 4],
        [(offs, np.frombuffer(b"".join(text), np.uint8)), ints, floats, days,
         np.array([1, 0, 0, 1, 0], np.uint8)], nulls, 5, 1)
    rows = [bytes(d[o[i]:o[i + 1]]) for i in range(5)]
    assert all(r.startswith(b"\x01") for r in rows)
    got = [json.loads(r[1:]) for r in rows]
    assert got == [
        {"t": "x\"\\\n", "i": -5, "f": 1.5, "d": "2020-02-29", "b": True},
        {"t": "é", "i": 2**62, "f": None, "d": "1899-12-31", "b": None},
        {"t": "", "i": 0, "f": 1e300, "d": "0001-01-01", "b": False},
        {"t": "\x01", "i": -(2**63), "f": -0.0, "d": "9999-12-31", "b": True},
        {"t": "z", "i": 7, "f": 0.1 + 0.2, "d": "1970-01-01", "b": False},
    ]
    assert b'"f":0.30000000000000004' in rows[4]


def test_encode_single_parts() -> None:
    lines = GeometryBuffers("MultiLineString", np.array([[0, 0], [1, 1], [2, 2], [3, 3.]]), None,
                            np.array([0, 1, 2, 2]), np.array([0, 2, 4]), np.array([0]),
                            np.array([False, False, True]))
    lines2 = GeometryBuffers("MultiLineString", lines.coords, None, np.array([0, 2]),
                             np.array([0, 2, 4]), np.array([0]), np.array([False]))
    for b, want in ((lines, ["LineString", "LineString", None]), (lines2, ["MultiLineString"])):
        d, o = encode_ewkb(b, single=True)
        got = [shapely.from_wkb(bytes(d[o[i]:o[i + 1]])).geom_type if o[i + 1] > o[i] else None
               for i in range(len(o) - 1)]
        assert got == want
    ring = np.array([[0, 0], [0, 1], [1, 1], [0, 0.]])
    poly = GeometryBuffers("MultiPolygon", ring, None, np.array([0, 1]), np.array([0, 4]),
                           np.array([0, 1]), np.array([False]))
    d, o = encode_ewkb(poly, single=True)
    assert shapely.from_wkb(bytes(d)).wkt == "POLYGON ((0 0, 0 1, 1 1, 0 0))"
    d, _ = encode_ewkb(poly)
    assert shapely.from_wkb(bytes(d)).geom_type == "MultiPolygon"
