"""The one error hierarchy of samsyn_fast.

Kernels return status codes; this module turns them into exceptions.
"""
from __future__ import annotations

from samsyn_fast._status import Status

__all__ = ["STATUS_MESSAGES", "KernelError", "Status", "raise_for_status"]

STATUS_MESSAGES: dict[int, str] = {
    Status.BAD_OFFSETS: "invalid offsets",
    Status.TRUNCATED: "truncated input",
    Status.BAD_MAGIC: "wrong magic number",
    Status.BAD_LENGTH: "invalid declared length",
    Status.BAD_SHAPE_TYPE: "unsupported or mixed shape type",
    Status.BAD_NUMBER: "invalid number",
    Status.NAN_COORD: "NaN or infinite coordinate",
    Status.EMPTY_GEOMETRY: "empty geometry",
    Status.BAD_TEXT: "undecodable text",
    Status.BAD_RECORD: "invalid record",
    Status.NO_MEMORY: "out of memory",
    Status.BAD_INPUT: "invalid input",
    Status.BAD_INDEX: "index (.shx) inconsistent with the shapes (.shp)",
    Status.OUT_OF_RANGE: "value out of range",
}


class KernelError(ValueError):
    """A kernel rejected its input; `where` names the file and/or record."""

    def __init__(self, code: int, message: str | None = None, where: str | None = None) -> None:
        self.code = code
        self.message = message or STATUS_MESSAGES.get(code, f"kernel status {code}")
        self.where = where
        super().__init__(f"{where}: {self.message}" if where else self.message)


def raise_for_status(status: int, where: str | None = None, message: str | None = None) -> None:
    """Raise the KernelError for a non-zero status code."""
    if status:
        raise KernelError(status, message, where)
