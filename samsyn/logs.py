"""JSON log lines for samsyn's own loggers (one object per line, with the request id)."""
from __future__ import annotations

import json
import logging
import sys
import time

_FIELDS = ("request_id", "method", "path", "status", "ms")


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", <request fields>, "exc"}`; never multi-line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                  + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for field in _FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                data[field] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    """Send the `samsyn` loggers to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("samsyn")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
