"""DRF PageNumberPagination, SearchFilter and OrderingFilter semantics (DRF 3.14).

Mirrors `rest_framework.pagination.PageNumberPagination.get_page_size` (`_positive_int`
with `strict=True` and the `max_page_size` cutoff), `paginate_queryset` (`last_page_strings`,
Django 4.1 `Paginator.validate_number` and `num_pages`), `get_next_link` /
`get_previous_link` (`rest_framework.utils.urls.replace_query_param` /
`remove_query_param`), `SearchFilter.get_search_terms` and `OrderingFilter.get_ordering`
(`remove_invalid_fields`: one leading "-" per term). tests/unit/test_pagination_rules.py
checks each against a model of the DRF function over generated queries.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
INVALID_PAGE = "Invalid page."
_MAX_OFFSET = 2**62


class InvalidPage(Exception):
    """404 {"detail": "Invalid page."}."""


def page_size(query: dict[str, str]) -> int:
    """`page_size` honoured up to 100; missing, non-integer or <= 0 -> the default 25."""
    raw = query.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    if size <= 0:
        return DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE)


def num_pages(count: int, size: int) -> int:
    """Django Paginator.num_pages with allow_empty_first_page."""
    return max(1, -(-count // size))


def requested_page(query: dict[str, str]) -> int | str:
    """The raw page number: an int, or 'last' (resolved once the count is known)."""
    raw = query.get("page", "1")
    if raw == "last":
        return "last"
    try:
        number = int(raw)
    except ValueError:
        raise InvalidPage from None
    if number < 1:
        raise InvalidPage
    return number


def resolve_page(requested: int | str, count: int, size: int) -> int:
    """Validate the page number against the count as Django's Paginator does."""
    pages = num_pages(count, size)
    number = pages if requested == "last" else int(requested)
    if number > pages:
        raise InvalidPage
    return number


def _with_page(url: str, number: int | None) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    if number is None:
        params.pop("page", None)
    else:
        params["page"] = [str(number)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True),
                       fragment))


@dataclass(frozen=True, slots=True)
class PageLinks:
    next: str | None
    previous: str | None


def page_links(absolute_url: str, number: int, count: int, size: int) -> PageLinks:
    """next/previous exactly as DRF builds them (query re-encoded, sorted; page 1 drops `page`)."""
    pages = num_pages(count, size)
    nxt = _with_page(absolute_url, number + 1) if number < pages else None
    if number <= 1:
        prev = None
    elif number - 1 == 1:
        prev = _with_page(absolute_url, None)
    else:
        prev = _with_page(absolute_url, number - 1)
    return PageLinks(nxt, prev)


def search_terms(query: dict[str, str]) -> list[str]:
    """DRF 3.14 SearchFilter terms: split on white space and commas; no phrase quoting."""
    return query.get("search", "").replace("\x00", "").replace(",", " ").split()


def ordering(query: dict[str, str], allowed: tuple[str, ...],
             default: tuple[str, ...]) -> tuple[str, ...]:
    """DRF OrderingFilter: keep the allowed terms; none left (or no parameter) -> the default."""
    raw = query.get("ordering")
    if raw:
        # remove_invalid_fields' term_valid: drop one leading "-" ("--name" is not valid)
        terms = tuple(t for t in (p.strip() for p in raw.split(","))
                      if (t[1:] if t.startswith("-") else t) in allowed)
        if terms:
            return terms
    return default


def paginate(query: dict[str, str], fetch: Callable[[int, int], tuple[int, list[Any]]]
             ) -> tuple[int, int, int, list[Any]]:
    """Run `fetch(limit, offset) -> (count, rows)` for the requested page; (count, page, size,
    rows).

    Raises:
        InvalidPage: the page number is not an integer >= 1, or beyond the last page.
    """
    size = page_size(query)
    requested = requested_page(query)
    if requested == "last":
        count, _ = fetch(1, 0)
        number = resolve_page("last", count, size)
    else:
        number = int(requested)
    if (number - 1) * size > _MAX_OFFSET:  # past any real table; PostgreSQL's OFFSET is a bigint
        raise InvalidPage
    count, rows = fetch(size, (number - 1) * size)
    resolve_page(number, count, size)
    return count, number, size, rows
