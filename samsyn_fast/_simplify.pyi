import numpy as np
import numpy.typing as npt

def simplify_lines(
    coords: npt.NDArray[np.float64], offsets: npt.NDArray[np.int64], tolerance: float, nthreads: int = ...
) -> tuple[int, npt.NDArray[np.float64] | None, npt.NDArray[np.int64] | None]: ...
def simplify_polygons(
    coords: npt.NDArray[np.float64],
    ring_offsets: npt.NDArray[np.int64],
    polygon_offsets: npt.NDArray[np.int64],
    geom_offsets: npt.NDArray[np.int64],
    tolerance: float,
) -> tuple[int, npt.NDArray[np.float64] | None, npt.NDArray[np.int64] | None, npt.NDArray[np.int64] | None,
           npt.NDArray[np.int64] | None, npt.NDArray[np.uint8] | None]: ...
