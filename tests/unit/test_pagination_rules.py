"""The list rules as DRF 3.14 / Django 4.1 state them, over generated queries (not the recorded
bytes): PageNumberPagination page size and number, its next/previous links, SearchFilter
terms and OrderingFilter fields. Each `drf_*` function is a model of the documented rule."""
from __future__ import annotations

import math
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samsyn.compat import pagination

ALLOWED = ("name", "sid", "id")


def drf_page_size(query: dict[str, str]) -> int:
    # _positive_int(value, strict=True, cutoff=max_page_size); any failure -> page_size
    try:
        value = int(query["page_size"])
        if value < 0 or value == 0:
            raise ValueError
        return min(value, 100)
    except (KeyError, ValueError):
        return 25


def drf_page(query: dict[str, str], count: int, size: int) -> int | None:
    # paginate_queryset: "last" -> num_pages; Paginator.validate_number; None = "Invalid page."
    pages = max(1, math.ceil(max(1, count) / size))
    raw = query.get("page", 1)
    if raw == "last":
        return pages
    try:
        number = int(raw)
    except ValueError:
        return None
    if number < 1 or number > pages:
        return None
    return number


def drf_link(url: str, key: str, value: int | None) -> str:
    # replace_query_param / remove_query_param: parse_qs(keep_blank_values), sorted, doseq
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params.pop(key, None)
    if value is not None:
        params[key] = [str(value)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True),
                       fragment))


def drf_ordering(query: dict[str, str]) -> tuple[str, ...] | None:
    raw = query.get("ordering")
    if not raw:
        return None
    fields = [p.strip() for p in raw.split(",")]
    kept = tuple(t for t in fields if (t[1:] if t.startswith("-") else t) in ALLOWED)
    return kept or None


numbers = st.one_of(st.integers(-3, 300).map(str), st.sampled_from(
    ["", " 7 ", "+3", "1.0", "1e2", "last", "LAST", "0", "-0", "٣", "1_0", "9" * 30, "x"]))
queries = st.dictionaries(st.sampled_from(["page", "page_size", "search", "ordering", "a", "b"]),
                          numbers | st.text(max_size=12), max_size=6)


@settings(max_examples=500, deadline=None)
@given(query=queries, count=st.integers(0, 10_000))
def test_page_size_and_number_follow_drf(query: dict[str, str], count: int) -> None:
    size = pagination.page_size(query)
    assert size == drf_page_size(query)
    expected = drf_page(query, count, size)
    try:
        requested = pagination.requested_page(query)
        number = pagination.resolve_page(requested, count, size)
    except pagination.InvalidPage:
        number = None
    assert number == expected


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(["page", "page_size", "search", "q", "ä"]),
                                st.text(max_size=8)), max_size=6),
       number=st.integers(1, 50), count=st.integers(0, 2000), size=st.integers(1, 100))
def test_links_follow_replace_and_remove_query_param(pairs: list[tuple[str, str]], number: int,
                                                     count: int, size: int) -> None:
    url = "http://testserver/api/v1/sources/?" + urlencode(pairs)
    pages = pagination.num_pages(count, size)
    links = pagination.page_links(url, number, count, size)
    assert links.next == (drf_link(url, "page", number + 1) if number < pages else None)
    if number <= 1:
        assert links.previous is None
    elif number == 2:
        assert links.previous == drf_link(url, "page", None)
    else:
        assert links.previous == drf_link(url, "page", number - 1)


@settings(max_examples=300, deadline=None)
@given(raw=st.text(alphabet="name,sid -+x\t", max_size=20))
def test_ordering_keeps_drfs_valid_terms(raw: str) -> None:
    expected = drf_ordering({"ordering": raw}) or ("id",)
    assert pagination.ordering({"ordering": raw}, ALLOWED, ("id",)) == expected


@pytest.mark.parametrize("raw", ["--name", "-+name", "- name"])
def test_ordering_drops_a_doubled_sign(raw: str) -> None:
    assert pagination.ordering({"ordering": raw}, ALLOWED, ("id",)) == ("id",)


@settings(max_examples=300, deadline=None)
@given(raw=st.text(alphabet="ab ,\x00\t\n\u3000\u00a0", max_size=16))
def test_search_terms_are_drfs(raw: str) -> None:
    want = raw.replace("\x00", "").replace(",", " ").split()
    assert pagination.search_terms({"search": raw}) == want
