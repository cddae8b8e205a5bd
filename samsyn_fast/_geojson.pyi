"""Stubs for the compiled GeoJSON coordinates kernel (private; use samsyn_fast.geojson)."""
from enum import IntEnum
from typing import Any

class GeomCode(IntEnum):
    NULL_GEOMETRY = 0
    POINT = 1
    MULTIPOINT = 2
    LINESTRING = 3
    MULTILINESTRING = 4
    POLYGON = 5
    MULTIPOLYGON = 6
    FAM_POINTS = 0
    FAM_LINES = 1
    FAM_POLYGONS = 2

class Problem(IntEnum):
    PROBLEM_NONE = 0
    PROBLEM_NESTING = 1
    PROBLEM_NOT_NUMBER = 2
    PROBLEM_SHORT_POSITION = 3
    PROBLEM_NONFINITE = 4
    PROBLEM_MISSING = 5
    PROBLEM_TRAILING = 6
    PROBLEM_INVALID_UTF8 = 7
    PROBLEM_NUL_ESCAPE = 8
    PROBLEM_LONE_SURROGATE = 9

def flatten(coordinates: list[Any], codes: Any, null_family: int
            ) -> tuple[list[dict[str, Any] | None] | None, int, int, int, int]: ...
def check_text(members: list[Any]) -> tuple[int, int, int]: ...
def deepest(doc: Any) -> tuple[int, int]: ...
