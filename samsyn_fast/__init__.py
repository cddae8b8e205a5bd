"""samsyn_fast: compiled kernels over numpy buffers (parsing, reprojection, simplification,
encoding). Never imports samsyn. The public API is re-exported here; the compiled modules
(`_*.pyx`) are private.
"""
from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.columns import StringColumn
from samsyn_fast.csv_points import CsvPoints, iter_csv_points, read_csv_points
from samsyn_fast.encode import (
                                buffers_to_geojson,
                                encode_ewkb,
                                pgcopy_binary,
                                pgcopy_fields,
                                wkb_to_geojson,
)
from samsyn_fast.errors import KernelError
from samsyn_fast.features import SlowPath, feature_collection_from_copy, jsonb_text_to_drf
from samsyn_fast.geojson import GeoJsonData, read_geojson
from samsyn_fast.reproject import reproject, reproject_buffers
from samsyn_fast.shapefile import (
                                DbfField,
                                DbfTable,
                                Shapefile,
                                iter_shapefile,
                                read_dbf,
                                read_shapefile,
)
from samsyn_fast.simplify import simplify_buffers, simplify_lines, simplify_polygons

__all__ = [
    "CsvPoints", "DbfField", "DbfTable", "GeoJsonData", "GeometryBuffers", "KernelError",
    "Shapefile", "SlowPath", "StringColumn", "buffers_to_geojson", "encode_ewkb",
    "feature_collection_from_copy", "iter_csv_points", "iter_shapefile", "jsonb_text_to_drf",
    "pgcopy_binary", "pgcopy_fields", "read_csv_points", "read_dbf", "read_geojson",
    "read_shapefile", "reproject", "reproject_buffers", "simplify_buffers", "simplify_lines",
    "simplify_polygons", "wkb_to_geojson",
]
