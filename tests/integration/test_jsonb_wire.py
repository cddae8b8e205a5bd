"""jsonb text from a real PostgreSQL, converted by compat.wire, equals what the legacy rendered:
DRF's compact json.dumps of psycopg's json.loads of the same jsonb value."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samsyn.compat.wire import jsonb_to_drf

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)


@pytest.fixture(scope="module")
def conn(new_database: Callable[..., str]) -> Iterator[psycopg.Connection]:
    url = new_database("wire").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_jsonb_text_renders_like_the_legacy(conn: psycopg.Connection, value: object) -> None:
    literal = json.dumps(value, ensure_ascii=False)
    if "\\u0000" in literal:  # jsonb cannot store NUL
        return
    text = conn.execute("SELECT %s::jsonb::text", (literal,)).fetchone()[0]
    legacy = json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    assert jsonb_to_drf(text) == legacy
