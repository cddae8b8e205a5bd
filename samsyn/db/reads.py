"""The read path: SQLAlchemy Core statements compiled once, run on a pool of autocommit
psycopg connections with server-side prepared statements.

A read is then one round trip and a few microseconds of Python: the SQLAlchemy Session and
Core execution layers cost more than the query itself on the hot list/detail endpoints
(measured 0.5-0.8 ms against 0.15 ms for the same prepared statement). Writes keep the ORM
Session and its transactions (samsyn.db.engine).
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ClauseElement

from samsyn.db import engine
from samsyn.settings import get_settings

_DIALECT = postgresql.psycopg.dialect()  # type: ignore[attr-defined]

Reader = psycopg.Connection


class Query:
    """A statement compiled for psycopg once; parameters are passed by name at run time."""

    __slots__ = ("sql", "defaults")

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.sql: str = compiled.string
        self.defaults: dict[str, Any] = dict(compiled.params)

    def bind(self, params: dict[str, Any]) -> dict[str, Any]:
        """The run-time parameters plus the literals SQLAlchemy turned into parameters."""
        if not self.defaults:
            return params
        return {**self.defaults, **params}

    def all(self, conn: Reader, **params: Any) -> list[tuple[Any, ...]]:
        return conn.execute(self.sql, self.bind(params), prepare=True).fetchall()

    def first(self, conn: Reader, **params: Any) -> tuple[Any, ...] | None:
        return conn.execute(self.sql, self.bind(params), prepare=True).fetchone()

    def scalar(self, conn: Reader, **params: Any) -> Any:
        row = self.first(conn, **params)
        return None if row is None else row[0]


def copy_out(conn: Reader, query: Query, params: dict[str, Any]) -> bytes:
    """`COPY (query) TO STDOUT (FORMAT binary)` as one bytes object.

    PostgreSQL sends a COPY stream as one message per row; psycopg's Copy iterator spends
    ~5 us of Python per message, which dominated a 10,000-row response. This drains the
    messages through the libpq connection directly (~1 us each). COPY takes no bind
    parameters, so they are merged client-side, quoted by psycopg.
    """
    statement = psycopg.ClientCursor(conn).mogrify(
        f"COPY ({query.sql}) TO STDOUT (FORMAT binary)", query.bind(params))
    pgconn = conn.pgconn
    result = pgconn.exec_(statement.encode())
    if result.status != psycopg.pq.ExecStatus.COPY_OUT:
        raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
    parts: list[bytes] = []
    get = pgconn.get_copy_data
    while True:
        size, data = get(0)
        if size < 0:  # -1: done, -2: error (reported by the final result)
            break
        parts.append(data)
    error = None
    while (final := pgconn.get_result()) is not None:
        if final.status == psycopg.pq.ExecStatus.FATAL_ERROR and error is None:
            error = psycopg.errors.error_from_result(final, encoding=conn.info.encoding)
    if error is not None:
        raise error
    return b"".join(parts)


@functools.cache
def get_read_pool() -> ConnectionPool:
    """One pool per process (created lazily: workers fork)."""
    settings = get_settings()
    return ConnectionPool(
        engine.dsn(settings.database_url),
        min_size=1,
        max_size=settings.pool_size,
        kwargs={"autocommit": True, "application_name": "samsyn-read",
                "connect_timeout": engine.CONNECT_TIMEOUT},
        open=True,
        check=None,  # reader() checks the socket instead: no round trip, no backoff sleep
        timeout=engine.POOL_TIMEOUT,  # then PoolTimeout: a 503 (samsyn.app)
    )


@contextmanager
def reader() -> Iterator[Reader]:
    """A pooled autocommit connection for read-only work (DatabaseUnavailable at once while
    the database is known to be down)."""
    engine.breaker.guard()
    pool = get_read_pool()
    conn = pool.getconn()
    for attempt in range(pool.max_size):
        if engine.connection_alive(conn):
            break
        conn.close()  # closed by the server (restart): the pool replaces it
        pool.putconn(conn)
        if attempt == 0:
            engine.confirm_reachable()
        conn = pool.getconn()
    try:
        yield conn
    finally:
        pool.putconn(conn)


class ListQueries:
    """The DRF list-view SQL of one model: search (icontains on every search column, AND of
    terms), ordering, and a page with its total count in one round trip.

    Statements are built with SQLAlchemy Core and compiled once per shape (number of search
    terms, ordering), then run as prepared statements.
    """

    def __init__(self, columns: tuple[Any, ...], joins: tuple[tuple[Any, Any], ...],
                 search: tuple[Any, ...], order: dict[str, Any], tiebreak: Any) -> None:
        self.columns = columns
        self.joins = joins
        self.search = search
        self.order = order
        self.tiebreak = tiebreak
        self._cache: dict[tuple[int, tuple[str, ...]], tuple[Query, Query]] = {}

    def _where(self, n_terms: int) -> Any:
        from sqlalchemy import Text, and_, bindparam, cast, func, or_
        return and_(*(or_(*(func.upper(cast(c, Text)).like(func.upper(bindparam(f"term{i}")),
                                                           escape="\\")
                            for c in self.search)) for i in range(n_terms)))

    def _compiled(self, n_terms: int, ordering: tuple[str, ...]) -> tuple[Query, Query]:
        key = (n_terms, ordering)
        cached = self._cache.get(key)
        if cached is None:
            from sqlalchemy import bindparam, func, select
            order = [self.order[t.lstrip("-")].desc() if t.startswith("-") else self.order[t].asc()
                     for t in ordering]
            page = select(func.count().over(), *self.columns)
            count = select(func.count()).select_from(self.joins[0][0])
            for target, onclause in self.joins[1:]:
                page = page.join(target, onclause)
                count = count.join(target, onclause)
            if n_terms:
                page = page.where(self._where(n_terms))
                count = count.where(self._where(n_terms))
            page = page.order_by(*order, self.tiebreak).limit(bindparam("limit")).offset(
                bindparam("offset"))
            cached = self._cache[key] = (Query(page), Query(count))
        return cached

    def page(self, conn: Reader, terms: list[str], ordering: tuple[str, ...], limit: int,
             offset: int) -> tuple[int, list[tuple[Any, ...]]]:
        """(total count, rows of the page); a second round trip only for an empty page."""
        page_q, count_q = self._compiled(len(terms), ordering)
        params = {f"term{i}": like_pattern(t) for i, t in enumerate(terms)}
        rows = page_q.all(conn, limit=limit, offset=offset, **params)
        if rows:
            return rows[0][0], [r[1:] for r in rows]
        return count_q.scalar(conn, **params), []


def like_pattern(term: str) -> str:
    """The `%term%` pattern of Django's icontains, with LIKE's own characters escaped."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
