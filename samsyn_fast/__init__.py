"""samsyn_fast: compiled kernels over numpy buffers (parsing, reprojection, simplification, encoding).

Never imports samsyn. The public API is re-exported here; the compiled modules are private.
"""
from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.errors import KernelError

__all__ = ["GeometryBuffers", "KernelError"]
