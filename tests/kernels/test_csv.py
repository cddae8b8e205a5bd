"""samsyn_fast.csv_points vs the csv module + float() (the legacy upload_csv_file semantics)."""
from __future__ import annotations

import csv
import io
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samsyn_fast.csv_points import CsvPoints, StringColumn, iter_csv_points, read_csv_points
from samsyn_fast.errors import KernelError

DATA = Path(__file__).resolve().parents[1] / "data" / "testdata"
csv.field_size_limit(1 << 30)   # samsyn has no field size limit (the csv module's is 128 KiB)


def legacy(text: str, lon: str = "Longitude", lat: str = "Latitude", delimiter: str = ","):
    """What the legacy command read: csv.DictReader, skip empty longitude, float() both."""
    coords, meta, rows = [], [], []
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    for i, row in enumerate(reader, 1):
        if not row[lon]:
            continue
        coords.append((float(row[lon]), float(row[lat])))
        meta.append({k: v for k, v in row.items() if k not in (lon, lat)})
        rows.append(i)
    return coords, meta, rows


def assert_same(points: CsvPoints, expected) -> None:
    coords, meta, rows = expected
    assert len(points) == len(coords)
    got = points.coords
    want = np.array(coords, dtype=np.float64).reshape(-1, 2)
    # bit-for-bit, so -0.0 and 0.0 differ
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))
    assert points.row_numbers.tolist() == rows
    assert points.records() == meta


def bits(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", x))[0]


SHOPS = ("Name,Category,Score,Mixed,Empty,Longitude,Latitude\n"
         "Cafe One,coffee,10,1,,1.5,42.5\n"
         "Café Two,coffee,20.5,x,,2.25,43.75\n"
         "Shop Three,retail,-3,2,,-0.5,41\n"
         "No coords,retail,7,3,,,\n")


# --- the contract's examples ------------------------------------------------------------------

def test_contract_shops_csv():
    # Given the CSV of the recorded upload_csv_file case
    points = read_csv_points(SHOPS.encode())
    # Then three points, the coordinate-less row skipped, metadata as strings
    assert_same(points, legacy(SHOPS))
    assert points.fieldnames == ("Name", "Category", "Score", "Mixed", "Empty", "Longitude",
                                 "Latitude")
    assert list(points.columns) == ["Name", "Category", "Score", "Mixed", "Empty"]
    assert points.metadata(1) == {"Name": "Café Two", "Category": "coffee", "Score": "20.5",
                                  "Mixed": "x", "Empty": ""}


def test_contract_empty_latitude_rejects_file_with_row_number():
    text = b"Longitude,Latitude,label\n10,10,a\n,5,skipped\n11,,crash\n"
    with pytest.raises(KernelError, match=r"row 3 \(line 4\).*empty 'Latitude'"):
        read_csv_points(text)


def test_path_and_bytes_agree(tmp_path):
    p = tmp_path / "shops.csv"
    p.write_bytes(SHOPS.encode())
    assert read_csv_points(p).records() == read_csv_points(SHOPS.encode()).records()
    assert read_csv_points(str(p)).coords.tolist() == [[1.5, 42.5], [2.25, 43.75], [-0.5, 41.0]]


# --- tokenizing: RFC 4180 as the csv module reads it ----------------------------------------

@pytest.mark.parametrize("text", [
    'Longitude,Latitude,a\r\n1,2,"x,y"\r\n3,4,"say ""hi"""\r\n',
    'Longitude,Latitude,a\n1,2,"multi\nline\r\ntext"\n5,6,\n',
    'Longitude,Latitude,a\r1,2,cr only\r3,4,x\r',
    'Longitude,Latitude,a\n\n1,2,blank lines\n\r\n\n3,4,between\n\n',
    'Longitude,Latitude,a\n1,2,no final newline',
    'Longitude,Latitude,a\n1,2,"quoted at end"',
    'Longitude,Latitude,a\n1,2,ab"c\n3,4,"ab"cd\n',        # stray quotes kept like csv does
    'Longitude,Latitude,a\n"1.5","-2.5",""\n',
    '"Longitude","Latitude","a,b"\n1,2,3\n',
    'a,Longitude,b,Latitude,c\nx,1,,2,\n,3,y,4,z\n',
    'Longitude,Latitude\n1,2\n',
    'Longitude,Latitude,a\n\x00,2,nul\n' if False else 'Longitude,Latitude,a\n1,2,nul\x00byte\n',
])
def test_quoting_like_csv_module(text):
    assert_same(read_csv_points(text.encode()), legacy(text))


def test_bom_is_dropped():
    text = "Longitude,Latitude,x\n1,2,a\n"
    points = read_csv_points(b"\xef\xbb\xbf" + text.encode())
    assert points.fieldnames == ("Longitude", "Latitude", "x")
    assert_same(points, legacy(text))


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters(delimiter):
    text = f"Longitude{delimiter}Latitude{delimiter}a\n1{delimiter}2{delimiter}\"x{delimiter}y\"\n"
    assert_same(read_csv_points(text.encode(), delimiter=delimiter),
                legacy(text, delimiter=delimiter))


def test_other_encodings():
    text = "Longitude,Latitude,name\n1,2,Café\n3,4,Zürich\n"
    for enc in ("latin-1", "utf-16", "cp1252"):
        assert_same(read_csv_points(text.encode(enc), encoding=enc), legacy(text))


def test_duplicate_names_last_wins_like_dictreader():
    text = "a,Longitude,a,Latitude,Longitude\nfirst,9,second,2,1\n"
    points = read_csv_points(text.encode())
    assert_same(points, legacy(text))
    assert points.coords.tolist() == [[1.0, 2.0]]


def test_empty_output_shapes():
    points = read_csv_points(b"Longitude,Latitude,a\n,1,x\n")
    assert points.coords.shape == (0, 2) and points.coords.dtype == np.float64
    assert points.row_numbers.shape == (0,)
    assert points.columns["a"].to_list() == []


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,pattern", [
    (b"Longitude,Latitude,a\n1,2,x\n3,4\n", r"row 2 \(line 3\): 2 fields, the header has 3"),
    (b"Longitude,Latitude,a\n1,2,x,extra\n", r"row 1 \(line 2\): more fields than the header's 3"),
    (b"Longitude,Latitude\n1,2\n\"3,4\n", r"line 3: unterminated quoted field"),
    (b"Longitude,Latitude\n1,2\n3,abc\n", r"row 2: could not convert 'Latitude' value 'abc'"),
    (b"Longitude,Latitude\nx1,2\n", r"row 1: could not convert 'Longitude' value 'x1'"),
    (b"Longitude,Latitude\n1,nan\n", r"row 1: 'Latitude' value 'nan' is not a finite number"),
    (b"Longitude,Latitude\n-inf,1\n", r"not a finite number"),
    (b"Longitude,Latitude\n1e999,1\n", r"row 1: 'Longitude' value overflows"),
    (b"Longitude,Latitude,a\n1,2,x\n3,4,\xff\n", r"line 3: text is not valid utf-8"),
    (b"Longitude,Latitude\n \t,2\n", r"row 1: could not convert 'Longitude'"),
])
def test_errors_name_the_row(text, pattern):
    with pytest.raises(KernelError, match=pattern):
        read_csv_points(text)


def test_missing_columns_named():
    with pytest.raises(ValueError, match=r"no 'Longitude' / 'Latitude' column; columns found: "
                                         r"\['X', 'Y', 'id'\]"):
        read_csv_points(b"X,Y,id\n1,2,3\n")
    with pytest.raises(ValueError, match="no header"):
        read_csv_points(b"")
    with pytest.raises(ValueError, match="delimiter"):
        read_csv_points(b"a", delimiter='"')


def test_crlf_after_ragged_row_counts_lines():
    text = b"Longitude,Latitude\r\n1,2\r\n\"a\r\nb\",3\r\n4\r\n"
    with pytest.raises(KernelError, match=r"row 3 \(line 5\)"):
        read_csv_points(text)


# --- numbers: exactly float() -------------------------------------------------------------------

def number_texts():
    floats = st.floats(allow_nan=False, allow_infinity=False)
    return st.one_of(
        floats.map(repr),
        st.tuples(floats, st.integers(0, 25)).map(lambda t: f"{t[0]:.{t[1]}e}"),
        st.tuples(st.floats(-1e6, 1e6), st.integers(0, 20)).map(lambda t: f"{t[0]:.{t[1]}f}"),
        st.from_regex(r"\A[+-]?[0-9]{0,30}\.?[0-9]{0,30}([eE][+-]?[0-9]{1,3})?\Z").filter(
            lambda s: any(c.isdigit() for c in s.split("e")[0].split("E")[0])),
        st.sampled_from(["0", "-0", "+0.0", ".5", "5.", "1_000.5", " 7 ", "\t-1e-3\n".strip("\n"),
                         "4.9e-324", "2.2250738585072011e-308", "1.7976931348623157e308",
                         "9007199254740993", "0.1", "1e22", "1e23", "123456789012345678901234",
                         "8.98846567431158e307", "2.4703282292062328e-324", "1e-400",
                         "0.000000000000000000000000000000001"]),
    ).filter(lambda s: math.isfinite(float(s)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(number_texts(), min_size=1, max_size=20))
def test_numbers_equal_python_float_bit_for_bit(texts):
    lines = ["Longitude,Latitude"] + [f'"{t}",{t if "," not in t else 0}' for t in texts]
    points = read_csv_points(("\n".join(lines) + "\n").encode())
    assert [bits(x) for x in points.coords[:, 0]] == [bits(float(t)) for t in texts]


# --- property: random tables written by csv.writer ------------------------------------------

cell = st.text(alphabet=st.sampled_from(list('ab ,;"\r\n\tcé€𝄞\x00\'')), max_size=8)
coord = st.one_of(st.just(""), st.floats(-180, 180).map(repr),
                  st.floats(allow_nan=False, allow_infinity=False).map(lambda x: f"{x:.6g}"))


@st.composite
def tables(draw):
    ncols = draw(st.integers(0, 4))
    names = [f"c{i}" for i in range(ncols)]
    order = draw(st.permutations(names + ["Longitude", "Latitude"]))
    nrows = draw(st.integers(0, 30))
    rows = []
    for _ in range(nrows):
        row = {n: draw(cell) for n in names}
        row["Longitude"] = draw(coord)
        row["Latitude"] = draw(coord.filter(bool))
        rows.append(row)
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    if quoting == csv.QUOTE_MINIMAL and terminator == "\n":
        # csv.writer leaves a lone '\r' unquoted then, which no reader can read back
        rows = [{k: v.replace("\r", "r") for k, v in row.items()} for row in rows]
    out = io.StringIO(newline="")
    w = csv.DictWriter(out, fieldnames=order, quoting=quoting, lineterminator=terminator)
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=tables())
def test_random_tables_match_dictreader(text):
    expected = legacy(text)
    assert_same(read_csv_points(text.encode()), expected)
    chunks = list(iter_csv_points(text.encode(), chunk_rows=3, block_bytes=7))
    assert all(len(c) <= 3 for c in chunks)
    assert_chunks_same(chunks, expected)


def assert_chunks_same(chunks, expected):
    coords, meta, rows = expected
    got_coords = [tuple(xy) for c in chunks for xy in c.coords.tolist()]
    assert [tuple(map(bits, xy)) for xy in got_coords] == [tuple(map(bits, xy)) for xy in coords]
    assert [r for c in chunks for r in c.row_numbers.tolist()] == rows
    assert [m for c in chunks for m in c.records()] == meta


# --- two threads and streaming on bigger inputs -----------------------------------------------

def big_text(n: int, quoted_newlines_every: int = 0) -> str:
    rng = np.random.default_rng(0)
    lon = rng.uniform(-180, 180, n).round(7)
    lat = rng.uniform(-90, 90, n).round(7)
    lines = ["Longitude,Latitude,name,note"]
    for i in range(n):
        note = f'"line\n{i}, ""q"""' if quoted_newlines_every and i % quoted_newlines_every == 0 \
            else f"n{i}"
        lo = "" if i % 97 == 5 else repr(float(lon[i]))
        lines.append(f"{lo},{float(lat[i])!r},name{i},{note}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("every", [0, 3])
def test_two_threads_equal_one_and_csv_module(every):
    text = big_text(40_000, every)
    data = text.encode()
    assert len(data) > 1 << 20
    one = read_csv_points(data, threads=1)
    two = read_csv_points(data, threads=2)
    assert_same(two, legacy(text))
    np.testing.assert_array_equal(one.coords, two.coords)
    assert one.records() == two.records()


def test_split_inside_a_quoted_newline_falls_back():
    # A single huge quoted field with newlines straddles the middle of the buffer.
    body = "x\n" * 400_000
    text = f'Longitude,Latitude,a\n1,2,"{body}"\n3,4,b\n'
    points = read_csv_points(text.encode(), threads=2)
    assert_same(points, legacy(text))


def test_errors_in_the_second_half_have_global_row_numbers():
    text = big_text(40_000)
    lines = text.split("\n")
    lines[30_001] = lines[30_001] + ",extra"
    with pytest.raises(KernelError, match=r"row 30001 \(line 30002\)"):
        read_csv_points("\n".join(lines).encode(), threads=2)


@pytest.mark.parametrize("chunk_rows,block_bytes", [(1000, None), (7, 1000), (50_000, 4096)])
def test_iter_chunks_equal_whole(tmp_path, chunk_rows, block_bytes):
    text = big_text(20_000, 7).replace("\n", "\r\n")
    p = tmp_path / "big.csv"
    p.write_bytes(text.encode())
    chunks = list(iter_csv_points(p, chunk_rows=chunk_rows, block_bytes=block_bytes))
    assert all(0 < len(c) <= chunk_rows for c in chunks)
    assert_chunks_same(chunks, legacy(text))


def test_iter_error_row_number_is_global():
    text = big_text(5_000)
    lines = text.split("\n")
    lines[4_000] = lines[4_000].split(",")[0] + ",,x,y"
    with pytest.raises(KernelError, match=r"row 4000 \(line 4001\)"):
        list(iter_csv_points("\n".join(lines).encode(), chunk_rows=100, block_bytes=2048))


# --- real files written by other projects -----------------------------------------------------

def test_cycle_hire_xy():
    p = DATA / "r-cran-spdata" / "cycle_hire_xy.csv"
    text = p.read_text(encoding="utf-8")
    points = read_csv_points(p, lon="X", lat="Y")
    assert len(points) == 742
    assert_same(points, legacy(text, lon="X", lat="Y"))


def test_sf_pt_csv():
    p = DATA / "r-cran-sf" / "pt.csv"
    text = p.read_text(encoding="utf-8")
    assert_same(read_csv_points(p, lon="Int32", lat="Id"), legacy(text, lon="Int32", lat="Id"))


@pytest.mark.parametrize("name", ["curves_line.csv", "test_tin.csv"])
def test_fiona_wkt_csv_quoted_fields(name):
    # Real quoted WKT columns; add coordinates with the csv module, read them back.
    src = list(csv.reader((DATA / "fiona-1.10.1" / name).read_text().splitlines()))
    out = io.StringIO(newline="")
    w = csv.writer(out)
    w.writerow(src[0] + ["Longitude", "Latitude"])
    for i, row in enumerate(src[1:]):
        w.writerow(row + [str(i), str(-i / 3)])
    text = out.getvalue()
    assert_same(read_csv_points(text.encode()), legacy(text))


# --- StringColumn ------------------------------------------------------------------------------

def test_string_column_api():
    col = StringColumn(np.array([0, 1, 1, 7], dtype=np.int64),
                       np.frombuffer("aCafé!".encode(), dtype=np.uint8))
    assert len(col) == 3 and col[0] == "a" and col[1] == ""
    assert col[2] == "Café!" and col[-1] == "Café!"
    assert col.to_list() == ["a", "", "Café!"]
    assert col.slice(1, 3).to_list() == ["", "Café!"]
    assert col.slice(2, 3).to_arrow().to_pylist() == ["Café!"]
    with pytest.raises(IndexError):
        col[3]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=tables(), chunk=st.integers(1, 64), threads=st.sampled_from([1, 2]))
def test_random_tables_in_many_speculative_chunks(text, chunk, threads):
    # Force the chunked two-thread parse on tiny inputs: chunk marks land inside quoted
    # fields, on \r\n pairs and blank lines, and must give the same result as one pass.
    from unittest import mock

    import samsyn_fast.csv_points as cp
    with mock.patch.object(cp, "_PARALLEL_MIN_BYTES", 0), \
            mock.patch.object(cp, "_CHUNK_BYTES", chunk):
        expected = legacy(text)
        assert_same(read_csv_points(text.encode(), threads=threads), expected)
        chunks = list(iter_csv_points(text.encode(), chunk_rows=5, block_bytes=40, threads=threads))
        assert_chunks_same(chunks, expected)


def test_speculative_chunk_errors_only_when_real():
    # A quoted field holding text that looks like a ragged row must not fail the parse.
    from unittest import mock

    import samsyn_fast.csv_points as cp
    text = 'Longitude,Latitude,a\n1,2,"x\n9,9,9,9,9\n"\n3,4,y\n'
    with mock.patch.object(cp, "_PARALLEL_MIN_BYTES", 0), mock.patch.object(cp, "_CHUNK_BYTES", 4):
        assert_same(read_csv_points(text.encode()), legacy(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=300), chunk=st.integers(1, 40))
def test_arbitrary_bytes_never_crash(body, chunk):
    # Whatever the bytes, the reader returns points or raises ValueError (KernelError is one);
    # when it returns, the csv module must agree (on text that decodes).
    from unittest import mock

    import samsyn_fast.csv_points as cp
    data = b"Longitude,Latitude,a\n" + body
    with mock.patch.object(cp, "_PARALLEL_MIN_BYTES", 0), \
            mock.patch.object(cp, "_CHUNK_BYTES", chunk):
        try:
            points = read_csv_points(data)
        except ValueError:
            return
    text = data.decode("utf-8")
    try:
        expected = legacy(text)
    except (ValueError, TypeError, csv.Error):
        return   # the legacy crashed where samsyn read something: nothing to compare
    rows = csv.DictReader(io.StringIO(text, newline=""))
    if any(None in row or None in row.values() for row in rows):
        return
    assert_same(points, expected)


def test_iter_other_encoding_and_bom(tmp_path):
    text = "Longitude,Latitude,name\n" + "".join(f"{i},{-i},Zürich {i}\n" for i in range(500))
    p = tmp_path / "latin.csv"
    p.write_bytes(text.encode("latin-1"))
    chunks = list(iter_csv_points(p, encoding="latin-1", chunk_rows=64, block_bytes=512))
    assert_chunks_same(chunks, legacy(text))
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    chunks = list(iter_csv_points(p, chunk_rows=1000))
    assert chunks[0].fieldnames[0] == "Longitude"
    assert_chunks_same(chunks, legacy(text))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=tables(), chunk=st.integers(1, 64))
def test_metadata_json_equals_json_dumps(text, chunk):
    import json
    from unittest import mock

    import samsyn_fast.csv_points as cp
    with mock.patch.object(cp, "_PARALLEL_MIN_BYTES", 0), \
            mock.patch.object(cp, "_CHUNK_BYTES", chunk):
        points = read_csv_points(text.encode())
    got = points.metadata_json().to_list()
    want = [json.dumps(m, ensure_ascii=False, separators=(",", ":")) for m in legacy(text)[1]]
    assert got == want
    if len(points) > 2:
        assert points.slice(1, len(points)).metadata_json().to_list() == want[1:]


def test_metadata_json_escapes_and_no_columns():
    import json
    text = 'Longitude,Latitude,"a""b",c\n1,2,"x\n""\\\ty",\x01é\n'
    got = read_csv_points(text.encode()).metadata_json().to_list()
    assert got == [json.dumps({'a"b': 'x\n"\\\ty', "c": "\x01é"}, ensure_ascii=False,
                              separators=(",", ":"))]
    two = read_csv_points(b"Longitude,Latitude\n1,2\n3,4\n")
    assert two.metadata_json().to_list() == ["{}", "{}"]


def test_buffer_pool_limit():
    from samsyn_fast.csv_points import set_buffer_pool_limit
    p = big_text(40_000).encode()
    for _ in range(2):
        read_csv_points(p)
    assert set_buffer_pool_limit(0) == 0
    points = read_csv_points(p)          # still works with no pooling
    assert len(points) == len(legacy(p.decode())[0])
    set_buffer_pool_limit(256 << 20)
