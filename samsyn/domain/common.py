"""What the legacy's generic DRF views share: the paginated, searchable, orderable list, and
writes whose unique constraints may lose a race."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from samsyn.compat import pagination
from samsyn.errors import InvalidInput

T = TypeVar("T")
PageFetch = Callable[[list[str], tuple[str, ...], int, int], tuple[int, list[Any]]]


def list_page(query: dict[str, str], fetch: PageFetch, *, ordering_fields: tuple[str, ...],
              default_order: tuple[str, ...]) -> tuple[int, int, int, list[Any]]:
    """(count, page number, page size, rows) of a list view: DRF's SearchFilter terms, its
    OrderingFilter (allowed fields only) and PageNumberPagination over `fetch`."""
    terms = pagination.search_terms(query)
    order = pagination.ordering(query, ordering_fields, default_order)
    return pagination.paginate(query, lambda limit, offset: fetch(terms, order, limit, offset))


def write_or_conflict(db: Session, write: Callable[[], T],
                      errors: Callable[[IntegrityError], Any]) -> T:
    """Run a write in a savepoint; a unique constraint that a concurrent request took between
    validation and write becomes the same 400 the validation would have given."""
    try:
        with db.begin_nested():
            return write()
    except IntegrityError as exc:
        raise InvalidInput(errors(exc)) from None
