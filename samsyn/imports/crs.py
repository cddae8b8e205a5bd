"""Input CRS from --srid or a GeoJSON crs name (pyproj)."""
from __future__ import annotations

from typing import Any

from samsyn.errors import ImportFailed


def crs_from_srid(srid: int, path: str) -> Any:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_epsg(int(srid))
    except (CRSError, ValueError, TypeError):
        raise ImportFailed(f"{path}: --srid {srid} is not an EPSG code pyproj knows") from None


def crs_from_name(name: str, path: str) -> Any:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(name)
    except CRSError:
        raise ImportFailed(f"{path}: unknown crs {name!r}") from None
