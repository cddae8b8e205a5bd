"""wfs bbox numbers are read as PostgreSQL's float8 input reads them (the legacy's PL/pgSQL cast
`split_part(bbox, ',', n)::float`): the same values accepted, the same rejected, for inputs far
beyond the recorded ones (hexadecimal, nan(...), exponents, signs, C whitespace, overflow,
subnormals), checked against PostgreSQL itself."""
from __future__ import annotations

import math
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samsyn.db.local import LocalCluster
from samsyn.domain.geometries.service import parse_bbox, pg_float8
from samsyn.errors import BadParameter

EDGE_CASES = [
    "1", " 1 ", "+1", "-0", "0001", ".5", "5.", "1e3", "1E+3", "1e-3", "0x1", "0X1P3", "0x1.8p1",
    "0x", "0x.p1", "nan", "NaN", "nan(123)", "-nan", "inf", "-Inf", "+inf", "infinity",
    "-Infinity", "infinit", "INFINITYx", "1e999", "-1e999", "1e-400", "4e-320",
    "2.2250738585072011e-308",
    "1_0", "1,0", "", " ", "\t1\n", "\x0b1\x0c", "\u00a01", "１", "1 2", "e3", "+", "-", ".", "1e",
    "1e+", "0x1p", "0x1p+", "12abc", "١", "1\u2003",
]


@pytest.fixture(scope="module")
def pg(pg_cluster: LocalCluster) -> Iterator[psycopg.Connection]:
    with pg_cluster.connect() as conn:
        yield conn


def postgres_reads(conn: psycopg.Connection, text: str) -> float | str:
    try:
        row = conn.execute("SELECT %s::text::float8", (text,)).fetchone()
    except psycopg.errors.NumericValueOutOfRange:
        return "out of range"
    except psycopg.errors.InvalidTextRepresentation:
        return "not a number"
    assert row is not None
    return float(row[0])


def samsyn_reads(text: str) -> float | str:
    try:
        return pg_float8(text)
    except ValueError as exc:
        return str(exc)


def same(a: float | str, b: float | str) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return ((math.isnan(a) and math.isnan(b))
                or (a == b and math.copysign(1, a) == math.copysign(1, b)))
    return a == b


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_as_postgres(pg: psycopg.Connection, text: str) -> None:
    assert same(samsyn_reads(text), postgres_reads(pg, text)), text


number_like = st.text(alphabet="0123456789+-.eEpPxXaAfFnNiItTyY() \t\n\r\x0b\x0c_,\u00a0",
                      max_size=14)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(number_like, st.floats(allow_nan=True).map(repr),
                      st.floats().map(float.hex)))
def test_any_text_as_postgres(pg: psycopg.Connection, text: str) -> None:
    assert same(samsyn_reads(text), postgres_reads(pg, text)), repr(text)


def test_bbox_messages() -> None:
    assert parse_bbox("0x0, -0x1p1 ,0X10,1e1") == (0.0, -2.0, 16.0, 10.0)
    with pytest.raises(BadParameter, match=r"'1e999' is out of range"):
        parse_bbox("0,0,1e999,1")
    with pytest.raises(BadParameter, match=r"'x' is not a number"):
        parse_bbox("0,x,1,1")
    with pytest.raises(BadParameter, match=r"'1\\x00' is not a number"):
        parse_bbox("0,0,1\x00,1")
