"""Domain errors raised by services; the compat layer decides their exact HTTP shape."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose."""


class NotFound(DomainError):
    """The object does not exist (or is not visible)."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "not found")
        self.detail = detail


class BadParameter(DomainError):
    """A query parameter the view cannot use; `message` says which and why (the legacy's
    GeometryApi answers it as {"error": message})."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """Validation failed; `errors` is the DRF-shaped error mapping (field -> messages)."""

    def __init__(self, errors: Any) -> None:
        super().__init__("invalid input")
        self.errors = errors


class NotAuthenticated(DomainError):
    """The endpoint needs an authenticated user."""


class AuthenticationFailed(DomainError):
    """Credentials were presented and rejected; `body` is the exact DRF/simplejwt body."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("detail", "authentication failed"))
        self.body = body


class Conflict(DomainError):
    """A concurrent write won; the caller sees the same error as the losing validation."""

    def __init__(self, errors: Any) -> None:
        super().__init__("conflict")
        self.errors = errors


class DatabaseUnavailable(DomainError):
    """The database cannot be reached right now; the request may be retried later."""

    def __init__(self) -> None:
        super().__init__("database unavailable")


class ImportFailed(DomainError):
    """An import (samsyn.imports) could not load its file; the message names the file and the
    record (never a traceback). Permanent: retrying the same file fails the same way."""


class Throttled(DomainError):
    """Too many requests of one kind from one client or for one account; `wait` is the number
    of seconds until the next one is accepted (None: unknown)."""

    def __init__(self, wait: float | None) -> None:
        super().__init__("throttled")
        self.wait = wait
