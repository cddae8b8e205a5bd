"""samsyn_fast.columns.StringColumn (pieces + null mask) vs a plain list of str/None."""
from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import samsyn_fast
from samsyn_fast import csv_points
from samsyn_fast import shapefile as shp
from samsyn_fast.columns import StringColumn


def build(values: list[str | None], cuts: list[int], pad: int = 0,
          with_mask: bool = True) -> StringColumn:
    """A column of `values` in pieces cut at `cuts`; each piece's text sits after `pad` junk
    bytes and before some more (so its offsets start above 0), null rows hold a ghost value."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(values)}), len(values)]
    pieces = []
    for a, b in itertools.pairwise(bounds):
        enc = [("ghost" if v is None else v).encode() for v in values[a:b]]
        offsets = np.zeros(len(enc) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in enc], out=offsets[1:])
        data = b"#" * pad + b"".join(enc) + b"\xff" * pad   # junk is not even UTF-8
        pieces.append((offsets + pad, np.frombuffer(data, dtype=np.uint8)))
    null = np.array([v is None for v in values], dtype=bool) if with_mask else None
    return StringColumn(null=null, pieces=pieces)


def check(col: StringColumn, values: list[str | None]) -> None:
    """Every accessor of `col` agrees with `values`."""
    n = len(values)
    assert len(col) == n
    assert col.to_list() == values and list(col) == values and col == values
    assert col.to_numpy().dtype == object and col.to_numpy().tolist() == values
    assert [col[i] for i in range(n)] == values
    assert [col[i - n] for i in range(n)] == values
    assert col.null.tolist() == [v is None for v in values]
    arr = col.to_arrow()
    assert arr.type == pa.large_string() and arr.to_pylist() == values
    assert arr.null_count == sum(v is None for v in values)
    # the joined single-buffer view follows the buffer convention (offsets[0] == 0)
    off, data = col.offsets, col.data
    assert off.dtype == np.int64 and off.shape == (n + 1,) and off[0] == 0
    assert int(off[-1]) == data.shape[0]
    flat = StringColumn(off, data, col.null)
    assert flat.to_list() == values and flat == col
    assert col.nbytes >= off.nbytes - 8   # offsets (one fewer per extra piece) + text + mask


def test_one_class_under_every_name():
    assert samsyn_fast.StringColumn is StringColumn
    assert shp.StringColumn is StringColumn
    assert csv_points.StringColumn is StringColumn


def test_pieces_and_nulls_together():
    values = ["a", None, "Zürich", "", None, "日本", "x,y", None]
    col = build(values, [2, 3, 6], pad=3)
    assert len(col.pieces) == 4
    check(col, values)
    # slices across piece boundaries keep the mask aligned and share the text
    for a in range(-1, len(values) + 2):
        for b in range(-1, len(values) + 2):
            sub = col.slice(a, b)
            check(sub, values[max(a, 0):max(b, 0)])   # bounds clamp, no counting from the end
            assert all(any(np.shares_memory(d, pd) for _, pd in col.pieces) for _, d in sub.pieces)
    assert col[1:7].to_list() == values[1:7] and col[5:].to_list() == values[5:]
    assert col[::2].to_list() == values[::2] and col[::-1].to_list() == values[::-1]
    assert col[6:1].to_list() == [] and col[-3:][2] is None
    assert col[[7, 0, -3, 0]].to_list() == [None, "a", "日本", "a"]
    mask = np.array([v is not None for v in values])
    assert col[mask].to_list() == [v for v in values if v is not None]
    assert col.to_arrow().num_chunks == 4
    assert pa.chunked_array([col.to_arrow()]).combine_chunks().to_pylist() == values


def test_no_mask_means_no_nulls():
    col = build(["p", "q", "r"], [1], with_mask=False)
    assert col.null.tolist() == [False] * 3 and col.null.dtype == bool
    assert col.to_arrow().null_count == 0
    check(col, ["p", "q", "r"])


def test_single_flat_piece_is_not_copied():
    col = StringColumn.from_list(["ab", None, "c"])
    o, d = col.pieces[0]
    assert col.offsets is o and col.data is d            # already the flat layout
    assert col.null.tolist() == [False, True, False]
    arr = col.to_arrow()                                  # shares the offsets and the text
    assert np.frombuffer(arr.buffers()[1], dtype=np.int64).ctypes.data == o.ctypes.data
    assert np.frombuffer(arr.buffers()[2], dtype=np.uint8).ctypes.data == d.ctypes.data
    assert col.nbytes == o.nbytes + d.nbytes + 3


def test_joined_once_and_cached():
    col = build(["a", "bb", None, "ccc"], [1, 3], pad=2)
    assert col.offsets is col.offsets and col.data is col.data
    assert col.offsets.tolist() == [0, 1, 3, 8, 11] and col.data.tobytes() == b"abbghostccc"


def test_empty_columns():
    for col in (StringColumn.from_list([]), StringColumn(pieces=[]), build([], []),
                build(["a"], []).slice(1, 1), build(["a", None], [1]).slice(5, 9)):
        check(col, [])
        assert col[:].to_list() == [] and col[[]].to_list() == []
        with pytest.raises(IndexError):
            col[0]


def test_errors():
    col = build(["a", None, "b"], [1])
    for bad in (3, -4):
        with pytest.raises(IndexError):
            col[bad]
    with pytest.raises(IndexError):
        col[[0, 3]]
    with pytest.raises(IndexError):
        col[np.array([True, False])]
    with pytest.raises(TypeError):
        col["a"]
    with pytest.raises(TypeError):
        StringColumn(np.zeros(1, np.int64))
    with pytest.raises(TypeError):
        StringColumn(np.zeros(1, np.int64), np.zeros(0, np.uint8), pieces=[])
    with pytest.raises(ValueError, match="null mask"):
        StringColumn(np.array([0, 1]), np.frombuffer(b"a", np.uint8), np.zeros(2, bool))
    with pytest.raises(ValueError, match="offsets"):   # never read outside the buffer
        StringColumn(np.array([0, 5]), np.frombuffer(b"a", np.uint8)).to_list()
    with pytest.raises(ValueError, match="offsets"):
        StringColumn(np.array([0, 1, 0]), np.frombuffer(b"a", np.uint8)).to_list()
    assert (col == 3) is False and col != ["a"]
    with pytest.raises(TypeError):
        hash(col)


def test_repr_shows_a_head():
    assert repr(StringColumn.from_list(["a", None])) == "StringColumn(['a', None], n=2)"
    long = repr(build([str(i) for i in range(9)], [4]))
    assert long == "StringColumn(['0', '1', '2', '3', '4', '...'], n=9)"


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.none() | text, max_size=30),
       cuts=st.lists(st.integers(0, 30), max_size=5), pad=st.integers(0, 3),
       with_mask=st.booleans(), data=st.data())
def test_random_pieces_match_a_list(values, cuts, pad, with_mask, data):
    if not with_mask:
        values = ["ghost" if v is None else v for v in values]
    col = build(values, cuts, pad, with_mask)
    check(col, values)
    n = len(values)
    a, b = data.draw(st.integers(-2, n + 2)), data.draw(st.integers(-2, n + 2))
    check(col.slice(a, b), values[max(0, min(a, n)):max(0, min(b, n))])
    step = data.draw(st.sampled_from([None, 1, 2, -1, 3]))
    check(col[a:b:step], values[a:b:step])
    idx = data.draw(st.lists(st.integers(-n, n - 1), max_size=10)) if n else []
    check(col[idx], [values[i] for i in idx])
    check(col.slice(a, b).slice(1, n), values[max(0, min(a, n)):max(0, min(b, n))][1:])


def test_csv_columns_are_pieces(tmp_path):
    # a parse in several chunks: one piece per chunk, never joined unless asked
    rows = [f"{i},{-i},name {i} é,{'' if i % 3 else 'x'}" for i in range(200)]
    data = ("Longitude,Latitude,name,tag\n" + "\n".join(rows) + "\n").encode()
    with mock.patch.object(csv_points, "_PARALLEL_MIN_BYTES", 0), \
            mock.patch.object(csv_points, "_CHUNK_BYTES", 512):
        points = csv_points.read_csv_points(data)
    name, tag = points.columns["name"], points.columns["tag"]
    assert isinstance(name, StringColumn) and len(name.pieces) > 1 and name._joined is None
    want = [f"name {i} é" for i in range(200)]
    check(name, want)
    check(tag, ["" if i % 3 else "x" for i in range(200)])
    assert name.to_arrow().num_chunks == len(name.pieces)
    sub = points.slice(50, 150)
    check(sub.columns["name"], want[50:150])
    check(points.metadata_json()[10:12],
          [f'{{"name":"name {i} é","tag":"{"x" if i % 3 == 0 else ""}"}}' for i in (10, 11)])


def test_shapefile_columns_have_nulls(tmp_path):
    import shapefile as pyshp

    base = str(tmp_path / "t")
    with pyshp.Writer(base, shapeType=pyshp.POINT) as w:
        w.field("NAME", "C", 12)
        for i, v in enumerate(["a", "", "Zürich", "  lead", ""]):
            w.point(i, i)
            w.record(v)
    s = shp.read_shapefile(base + ".shp")
    col = s.columns["NAME"]
    values = ["a", None, "Zürich", "  lead", None]
    assert isinstance(col, StringColumn) and len(col.pieces) == 1
    check(col, values)
    assert s.nulls["NAME"].tolist() == [v is None for v in values]
    check(col[1:4], values[1:4])
    check(col.slice(2, 5), values[2:5])
