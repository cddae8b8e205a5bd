"""The ragged geometry layout shared by every kernel.

GeoArrow-style, as shapely.to_ragged_array lays it out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class GeometryBuffers:
    """A batch of geometries of one type in contiguous buffers.

    Attributes:
        geometry_type: "Point", "MultiPoint", "MultiLineString" or "MultiPolygon"
            (shapefile polylines are multi-part lines, polygon files multi-polygons).
        coords: (N, 2) float64 C-contiguous x/y (lon/lat for EPSG:4326).
        z: (N,) float64 when the source had Z values, else None (M is always dropped).
        geom_offsets: (G + 1,) int64. Point/MultiPoint: into coords; MultiLineString:
            into ring_offsets (parts); MultiPolygon: into polygon_offsets.
        ring_offsets: (R + 1,) int64 into coords (line parts or polygon rings); empty
            (just [0]) for points.
        polygon_offsets: (P + 1,) int64 into ring_offsets; MultiPolygon only, else [0].
        null: (G,) bool, True for a null shape (no parts; its offsets span nothing).
    """

    geometry_type: str
    coords: np.ndarray
    z: np.ndarray | None
    geom_offsets: np.ndarray
    ring_offsets: np.ndarray
    polygon_offsets: np.ndarray
    null: np.ndarray

    def __len__(self) -> int:
        return int(self.geom_offsets.shape[0] - 1)
