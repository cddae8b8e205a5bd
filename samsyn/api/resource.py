"""Route builders for the legacy ListCreate / RetrieveUpdateDestroy views.

Sources, layers and projects share DRF's generic views; their routes differ only in the
service functions and the View metadata plugged in here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, route
from litestar.params import FromPath, RawBody
from sqlalchemy.orm import Session

from samsyn.api import views
from samsyn.api.views import Call, View, dispatch, ok
from samsyn.compat import pagination, wire
from samsyn.db.engine import get_sessions
from samsyn.db.reads import Reader, reader
from samsyn.errors import NotFound
from samsyn.settings import get_settings


@dataclass(frozen=True)
class Resource:
    """The service functions behind one model's list and detail views (a read-only resource
    has no write functions; its views do not allow the methods)."""

    list_view: View
    detail_view: View
    page: Callable[[Reader, dict[str, str]], tuple[int, int, int, list[Any]]]
    retrieve: Callable[[Reader, int], Any]            # -> an encodable Struct
    exists: Callable[[Reader, int], bool]
    create: Callable[[Session, Any], dict[str, Any]] | None = None  # -> the echo to render
    update: Callable[[Session, int, Callable[[], Any], bool], dict[str, Any]] | None = None
    delete: Callable[[Session, int], None] | None = None


def page_body(call: Call, count: int, number: int, size: int, results: list[Any]) -> bytes:
    """The DRF page envelope around already-mapped results."""
    links = pagination.page_links(call.absolute_url(), number, count, size)
    return wire.encode_struct({"count": count, "next": links.next, "previous": links.previous,
                               "results": results})


def list_route(path: str, res: Resource, *, in_schema: bool = True) -> Any:
    """GET (paginated, searchable, orderable) and POST on the list URL; in_schema=False for
    samsyn's own resources, which the recorded OpenAPI document does not hold."""
    view = res.list_view

    def list_(call: Call) -> Response[Any]:
        with reader() as conn:
            count, number, size, results = res.page(conn, call.query)
        return ok(view, call, page_body(call, count, number, size, results))

    def create(call: Call) -> Response[Any]:
        data = call.data
        assert res.create is not None
        with get_sessions().begin() as db:
            created = res.create(db, data)
        return ok(view, call, wire.render(created), status=201)

    handlers = {"GET": list_, **({"POST": create} if res.create else {})}

    def handler(request: Request[Any, Any, Any], body: RawBody) -> Response[Any]:
        return dispatch(request, body, view, handlers,
                        secret=get_settings().secret_key)

    handler.__name__ = handler.__qualname__ = view.name.lower().replace(" ", "_")
    handler.__doc__ = view.description
    return route(path, http_method=views.ALL_METHODS, sync_to_thread=views.SYNC_TO_THREAD,
                 include_in_schema=in_schema)(handler)


def detail_route(path: str, res: Resource, *, in_schema: bool = True) -> Any:
    """GET/PUT/PATCH/DELETE on `<path>{pk}/`; a pk that is not `[0-9]+` is Django's HTML 404."""
    view = res.detail_view

    def handler(request: Request[Any, Any, Any], body: RawBody, pk: FromPath[str]) -> Response[Any]:
        try:
            object_id = views.path_pk(pk)
        except views.PathNotFound:
            return views.html_not_found(views.request_path(request))

        def need_id() -> int:
            if object_id is None:
                raise NotFound
            return object_id

        def retrieve(call: Call) -> Response[Any]:
            with reader() as conn:
                out = res.retrieve(conn, need_id())
            return ok(view, call, wire.encode_struct(out))

        def update(call: Call, partial: bool) -> Response[Any]:
            assert res.update is not None
            with get_sessions().begin() as db:
                updated = res.update(db, need_id(), lambda: call.data, partial)
            return ok(view, call, wire.render(updated))

        def destroy(call: Call) -> Response[Any]:
            assert res.delete is not None
            with get_sessions().begin() as db:
                res.delete(db, need_id())
            return views.no_content(view)

        def exists() -> bool:
            if object_id is None:
                return False
            with reader() as conn:
                return res.exists(conn, object_id)

        handlers: dict[str, Any] = {"GET": retrieve}
        if res.update is not None:
            handlers.update({"PUT": lambda c: update(c, False), "PATCH": lambda c: update(c, True)})
        if res.delete is not None:
            handlers["DELETE"] = destroy
        return dispatch(request, body, view, handlers,
                        secret=get_settings().secret_key, object_exists=exists)

    handler.__name__ = handler.__qualname__ = view.name.lower().replace(" ", "_")
    handler.__doc__ = view.description
    return route(path + "{pk:str}/", http_method=views.ALL_METHODS,
                 sync_to_thread=views.SYNC_TO_THREAD, include_in_schema=in_schema)(handler)
