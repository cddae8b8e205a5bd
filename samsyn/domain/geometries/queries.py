"""The only module that builds SQL for geometries (the /api/v1/wfs/ GeoJSON view)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Text, bindparam, cast, func, literal, select

from samsyn.db.models import Geometry
from samsyn.db.reads import Query, Reader
from samsyn.domain.sources.queries import source_exists

# One row per feature: the gid, PostGIS's own GeoJSON text for the geometry (the legacy's
# ST_AsGeoJSON, so coordinates are formatted by PostGIS exactly as before) and the legacy
# property merge `metadata || {geometry_type, source_id}` as jsonb text (jsonb key order).
_PROPERTIES = cast(
    Geometry.metadata_.op("||")(func.jsonb_build_object(
        literal("geometry_type"), Geometry.geometry_type, literal("source_id"), Geometry.source_id)),
    Text)
_FEATURES = select(Geometry.gid, func.ST_AsGeoJSON(Geometry.geom), _PROPERTIES).where(
    Geometry.source_id == bindparam("source_id"))
_ALL_FEATURES = Query(_FEATURES.limit(bindparam("limit")))
_FEATURES_IN_BBOX = Query(_FEATURES.where(func.ST_Intersects(
    Geometry.geom, func.ST_MakeEnvelope(bindparam("minx"), bindparam("miny"), bindparam("maxx"),
                                        bindparam("maxy"), 4326))).limit(bindparam("limit")))

# The fast path: raw columns streamed with binary COPY into samsyn_fast's FeatureCollection
# writer (the geometry as EWKB, the properties as jsonb, the merge done in the kernel).
_RAW = select(Geometry.gid, Geometry.geom, Geometry.metadata_, Geometry.geometry_type,
              Geometry.source_id).where(Geometry.source_id == bindparam("source_id"))
_RAW_ALL = Query(_RAW.limit(bindparam("limit")))
_RAW_IN_BBOX = Query(_RAW.where(func.ST_Intersects(
    Geometry.geom, func.ST_MakeEnvelope(bindparam("minx"), bindparam("miny"), bindparam("maxx"),
                                        bindparam("maxy"), 4326))).limit(bindparam("limit")))
RAW_IN_BBOX = _RAW_IN_BBOX  # what bench/api's bare endpoint runs

__all__ = ["feature_copy", "feature_rows", "source_exists"]


def _params(source_id: int, bbox: tuple[float, float, float, float] | None,
            limit: int) -> tuple[Query, dict[str, Any]]:
    params: dict[str, Any] = {"source_id": source_id, "limit": limit}
    if bbox is None:
        return _RAW_ALL, params
    params.update(minx=bbox[0], miny=bbox[1], maxx=bbox[2], maxy=bbox[3])
    return _RAW_IN_BBOX, params


def feature_copy(conn: Reader, source_id: int, bbox: tuple[float, float, float, float] | None,
                 limit: int) -> bytes:
    """The feature rows as one PostgreSQL binary COPY stream (parameters bound client-side:
    COPY takes none)."""
    query, params = _params(source_id, bbox, limit)
    with conn.cursor() as cur, cur.copy(f"COPY ({query.sql}) TO STDOUT (FORMAT binary)",
                                        query.bind(params)) as copy:
        return b"".join(copy)


def feature_rows(conn: Reader, source_id: int, bbox: tuple[float, float, float, float] | None,
                 limit: int) -> list[Any]:
    if bbox is None:
        return _ALL_FEATURES.all(conn, source_id=source_id, limit=limit)
    minx, miny, maxx, maxy = bbox
    return _FEATURES_IN_BBOX.all(conn, source_id=source_id, limit=limit, minx=minx, miny=miny,
                                 maxx=maxx, maxy=maxy)
