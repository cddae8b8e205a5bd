"""The only module that builds SQL for geometries (the /api/v1/wfs/ GeoJSON view)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Text, cast, func, literal, select
from sqlalchemy.orm import Session

from samsyn.db.models import Geometry, Source

# One row per feature: the gid, PostGIS's own GeoJSON text for the geometry (the legacy's
# ST_AsGeoJSON, so coordinates are formatted by PostGIS exactly as before) and the legacy
# property merge `metadata || {geometry_type, source_id}` as jsonb text (jsonb key order).
_PROPERTIES = cast(
    Geometry.metadata_.op("||")(func.jsonb_build_object(
        literal("geometry_type"), Geometry.geometry_type, literal("source_id"), Geometry.source_id)),
    Text)


def source_exists(db: Session, source_id: int) -> bool:
    return db.execute(select(Source.id).where(Source.id == source_id)).first() is not None


def feature_rows(db: Session, source_id: int, bbox: tuple[float, float, float, float] | None,
                 limit: int) -> list[Any]:
    stmt = select(Geometry.gid, func.ST_AsGeoJSON(Geometry.geom), _PROPERTIES).where(
        Geometry.source_id == source_id)
    if bbox is not None:
        stmt = stmt.where(func.ST_Intersects(Geometry.geom, func.ST_MakeEnvelope(*bbox, 4326)))
    return list(db.execute(stmt.limit(limit)).all())
