"""The one error hierarchy of samsyn_fast: kernels return status codes, this turns them into exceptions."""
from __future__ import annotations

# Same numbers as the `Status` enum in _status.pxd.
STATUS_MESSAGES: dict[int, str] = {
    1: "invalid offsets",
    2: "truncated input",
    3: "wrong magic number",
    4: "invalid declared length",
    5: "unsupported or mixed shape type",
    6: "invalid number",
    7: "NaN or infinite coordinate",
    8: "empty geometry",
    9: "undecodable text",
    10: "invalid record",
    11: "out of memory",
    12: "invalid input",
    13: "index (.shx) inconsistent with the shapes (.shp)",
    14: "value out of range",
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
