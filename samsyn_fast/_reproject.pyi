import numpy as np
import numpy.typing as npt

def first_nonfinite(coords: npt.NDArray[np.float64]) -> int: ...
def simd_enabled() -> bool: ...
def webmerc_into(
    coords: npt.NDArray[np.float64],
    out_coords: npt.NDArray[np.float64],
    lo: int,
    hi: int,
    inverse: bool,
) -> int: ...
