# cython: language_level=3
"""The kernels' status codes as a Python IntEnum: `Status`, declared once in _status.pxd.

The kernels cimport the C enum from _status.pxd; compiling this module is what gives Python
(samsyn_fast.errors and the wrappers) the same members with the same numbers.
"""
