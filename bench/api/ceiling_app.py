"""The two ceilings of bench/api/run.py, served exactly like samsyn (granian, same workers).

* `/const`: a trivial Litestar endpoint returning a constant (the server + framework floor);
* `/bare/<case>`: the same SQL samsyn runs for the case, through psycopg (autocommit pool,
  prepared statements), rows encoded with msgspec: no ORM, no compat layer, no DRF rendering.

Handlers run on the event loop thread as samsyn's do (samsyn.api.views.SYNC_TO_THREAD).
"""
from __future__ import annotations

import functools
import os
from typing import Any

import msgspec
from litestar import Litestar, Response, get
from psycopg_pool import ConnectionPool

from samsyn.domain.geometries import queries as geometry_queries
from samsyn.domain.layers import queries as layer_queries
from samsyn.domain.projects import queries as project_queries
from samsyn.domain.sources import queries as source_queries

_encode = msgspec.json.Encoder().encode


@functools.cache
def pool() -> ConnectionPool:
    dsn = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    return ConnectionPool(dsn, min_size=1, max_size=8, kwargs={"autocommit": True}, open=True)


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pool().connection() as conn:
        return conn.execute(sql, params, prepare=True).fetchall()


def _json(body: bytes) -> Response[Any]:
    return Response(content=body, media_type="application/json")


_SOURCE_PAGE = source_queries.SOURCE_LIST._compiled(0, ("name",))[0]
_SOURCE_ROW = source_queries._SOURCE_BY_ID
_PROJECT_PAGE = project_queries.PROJECT_LIST._compiled(0, ("name",))[0]
_LAYERS = layer_queries._LAYERS_OF_PROJECTS


@get("/const", sync_to_thread=False)
def const() -> Response[Any]:
    return _json(b'{"ok":true}')


@get("/bare/sources", sync_to_thread=False)
def sources() -> Response[Any]:
    return _json(_encode(_rows(_SOURCE_PAGE.sql, {"limit": 25, "offset": 0})))


@get("/bare/sources/{source_id:int}", sync_to_thread=False)
def source(source_id: int) -> Response[Any]:
    return _json(_encode(_rows(_SOURCE_ROW.sql, {"id": source_id})))


@get("/bare/projects", sync_to_thread=False)
def projects() -> Response[Any]:
    with pool().connection() as conn:
        page = conn.execute(_PROJECT_PAGE.sql, {"limit": 25, "offset": 0}, prepare=True).fetchall()
        layers = conn.execute(_LAYERS.sql, {"ids": [r[1] for r in page]}, prepare=True).fetchall()
    return _json(_encode([page, layers]))


@get("/bare/wfs", sync_to_thread=False)
def wfs(source_id: int, bbox: str, limit: int = 10_000) -> Response[Any]:
    minx, miny, maxx, maxy = (float(v) for v in bbox.split(",")[:4])
    with pool().connection() as conn:
        conn.execute(source_queries._SOURCE_EXISTS.sql, {"id": source_id}, prepare=True).fetchone()
        query = geometry_queries.RAW_IN_BBOX
        rows = conn.execute(query.sql, query.bind({
            "source_id": source_id, "limit": limit, "minx": minx, "miny": miny, "maxx": maxx,
            "maxy": maxy}), prepare=True).fetchall()
    return _json(_encode(rows))


app = Litestar([const, sources, source, projects, wfs], openapi_config=None)
