"""/ready: the database answers and the schema is at the migrations' head."""
from __future__ import annotations

from typing import Any

from samsyn.api.compat import views
from litestar import Response, get
from sqlalchemy import text

from samsyn.db.engine import get_engine


@get("/ready", sync_to_thread=views.SYNC_TO_THREAD, include_in_schema=False)
def ready() -> Response[Any]:
    """503 until the database is reachable and migrated to head."""
    try:
        with get_engine().connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        from samsyn.db.migrate import head_revision
        if current != head_revision():
            return Response(content=b'{"status":"migrations pending"}', status_code=503,
                            media_type="application/json")
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return Response(content=b'{"status":"database unavailable"}', status_code=503,
                        media_type="application/json")
    return Response(content=b'{"status":"ready"}', media_type="application/json")
