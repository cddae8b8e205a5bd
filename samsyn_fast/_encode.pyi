import numpy as np
import numpy.typing as npt

def format_number(v: float) -> bytes: ...
def repr_positive(v: float, fast: bool) -> bytes | None: ...
def encode_ewkb(
    kind: int,
    coords: npt.NDArray[np.float64],
    z: npt.NDArray[np.float64] | None,
    geom_offsets: npt.NDArray[np.int64],
    ring_offsets: npt.NDArray[np.int64],
    polygon_offsets: npt.NDArray[np.int64],
    null: npt.NDArray[np.uint8],
    srid: int,
    single: bool = ...,
) -> tuple[int, int, npt.NDArray[np.uint8] | None, npt.NDArray[np.int64] | None]: ...
def pgcopy_fields(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]: ...
def pgcopy_rows(
    columns: list[tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]], nrows: int
) -> npt.NDArray[np.uint8]: ...
def wkb_to_geojson(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    srids: npt.NDArray[np.int32],
    names: npt.NDArray[np.uint8],
    name_offsets: npt.NDArray[np.int64],
) -> tuple[int, int, bytes | None, npt.NDArray[np.int64] | None]: ...
