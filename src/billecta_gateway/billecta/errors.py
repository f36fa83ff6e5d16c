"""Errors raised by the Billecta client (no FastAPI, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CREDENTIALS_REFUSED = "Billecta refused the credentials"


class BillectaError(Exception):
    """Base class of every Billecta client error."""


class InvalidBillectaApiConfig(BillectaError):
    """A required Billecta setting is missing; the message names it."""


class BillectaApiRequestException(BillectaError):
    """Billecta could not be reached or answered with an error other than 400.

    ``retryable`` tells transient failures (429, 5xx, timeouts, connection errors) from
    permanent ones; ``retry_after`` carries Billecta's ``Retry-After`` in seconds when given.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after
        self.method = method
        self.path = path


class BillectaApiBadRequestException(BillectaApiRequestException):
    """Billecta answered 400; ``message`` keeps Billecta's own text."""

    def __init__(self, message: str, *, method: str | None = None, path: str | None = None) -> None:
        super().__init__(message, status_code=400, retryable=False, method=method, path=path)


class BillectaApiNotFoundException(BillectaApiRequestException):
    """Billecta answered 404: the object (or the route) does not exist; never retried."""

    def __init__(self, message: str, *, method: str | None = None, path: str | None = None) -> None:
        super().__init__(message, status_code=404, retryable=False, method=method, path=path)


class BillectaCredentialsRefused(BillectaApiRequestException):
    """Billecta answered 401 or 403: the credentials are expired or wrong; never retried."""

    def __init__(self, status_code: int, *, method: str, path: str, detail: str = "") -> None:
        said = f": {detail}" if detail else ""
        super().__init__(
            f"{CREDENTIALS_REFUSED} ({status_code} to {method} {path}{said}); "
            "renew BILLECTA_AUTHENTICATION",
            status_code=status_code,
            retryable=False,
            method=method,
            path=path,
        )


@dataclass(frozen=True)
class CredentialsRefusal:
    """The last 401/403 Billecta answered: status, route template and when."""

    status_code: int
    method: str
    path: str
    at: datetime

    def describe(self) -> str:
        """One line for an operator."""
        return (
            f"{CREDENTIALS_REFUSED} ({self.status_code} to {self.method} {self.path} "
            f"at {self.at.isoformat(timespec='seconds')})"
        )
