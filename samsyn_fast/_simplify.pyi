import numpy as np
import numpy.typing as npt

def check_offsets(offsets: npt.NDArray[np.int64], n: int) -> tuple[int, int]: ...
def mark_lines(
    coords: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.int64],
    p_lo: int,
    p_hi: int,
    tolerance: float,
    keep_mask: npt.NDArray[np.uint8],
    counts: npt.NDArray[np.int64],
    stack: npt.NDArray[np.int64],
) -> None: ...
def compact_lines(
    coords: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.int64],
    keep_mask: npt.NDArray[np.uint8],
    out_offsets: npt.NDArray[np.int64],
    out_coords: npt.NDArray[np.float64],
    p_lo: int,
    p_hi: int,
) -> None: ...
def simplify_polygons(
    coords: npt.NDArray[np.float64],
    ring_offsets: npt.NDArray[np.int64],
    polygon_offsets: npt.NDArray[np.int64],
    geom_offsets: npt.NDArray[np.int64],
    tolerance: float,
) -> tuple[
    int,
    npt.NDArray[np.float64] | None,
    npt.NDArray[np.int64] | None,
    npt.NDArray[np.int64] | None,
    npt.NDArray[np.int64] | None,
    npt.NDArray[np.uint8] | None,
]: ...
