"""Build the compiled kernels of samsyn_fast; all metadata lives in pyproject.toml."""
import os
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

_linetrace = os.environ.get("SAMSYN_LINETRACE") == "1"
_only = {m for m in os.environ.get("SAMSYN_BUILD_ONLY", "").split(",") if m}
if _only:
    # The shared runtime: the kernels import these at run time (the status enum, the buffer
    # allocator), so a partial build keeps them (setuptools skips them when up to date).
    _only |= {"_status", "_buffers"}
_macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if _linetrace:
    _macros.append(("CYTHON_TRACE_NOGIL", "1"))

extensions = [
    Extension(
        name=f"samsyn_fast.{os.path.splitext(os.path.basename(path))[0]}",
        sources=[path],
        include_dirs=[np.get_include()],
        define_macros=_macros,
        extra_compile_args=["-O3"],
    )
    for path in sorted(glob("samsyn_fast/*.pyx"))
    # SAMSYN_BUILD_ONLY=_a,_b builds just those modules (quick iteration on one kernel).
    if not _only or os.path.splitext(os.path.basename(path))[0] in _only
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "embedsignature": True,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "linetrace": _linetrace,
        },
    )
)
