"""Stubs for the private DBF kernels (samsyn_fast/_dbf.pyx)."""
from typing import Any

import numpy as np
import numpy.typing as npt

def deleted_flags(buf: Any, reclen: int, n: int) -> npt.NDArray[np.bool_]: ...
def all_utf8(
    buf: Any,
    reclen: int,
    n: int,
    offsets: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
) -> bool: ...
def decode_fields(
    buf: Any,
    reclen: int,
    rows: npt.NDArray[np.int64] | None,
    kinds: npt.NDArray[np.int32],
    offsets: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint8] | None = None,
    nrows: int = -1,
) -> tuple[int, int, int, list[tuple[npt.NDArray[Any], ...] | None] | None]: ...
