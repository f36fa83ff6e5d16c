"""Errors raised by the Billecta client (no FastAPI, no database)."""

from __future__ import annotations


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
