"""Stubs for the private .shp/.shx kernels (samsyn_fast/_shapefile.pyx)."""
from typing import Any

import numpy as np
import numpy.typing as npt

SHAPE_TYPES: dict[int, str]

def read_header(
    buf: Any,
) -> tuple[int, int, int, tuple[float, float, float, float, float, float, float, float] | None]: ...
def index_from_shx(
    entries: Any, shp_size: int
) -> tuple[int, int, npt.NDArray[np.int64] | None, npt.NDArray[np.int64] | None]: ...
def index_by_scan(
    buf: Any,
    base: int = 0,
    start: int = 100,
    max_records: int = -1,
    partial: bool = False,
) -> tuple[int, int, npt.NDArray[np.int64] | None, npt.NDArray[np.int64] | None, int]: ...
def parse_shapes(
    buf: Any,
    base: int,
    offsets: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    file_type: int,
) -> tuple[
    int,
    int,
    tuple[
        npt.NDArray[np.float64],
        npt.NDArray[np.float64] | None,
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.bool_],
    ]
    | None,
]: ...
