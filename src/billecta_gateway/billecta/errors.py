"""Errors raised by the Billecta client, and which one an answer is (no FastAPI, no database).

400 is a bad request (Billecta's text kept), 404 a missing object or route, 401/403 refused
credentials (permanent: expired or wrong), 408/429/5xx transient (retried by idempotent calls and
by jobs); anything else is permanent.
"""

from __future__ import annotations

import email.utils
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from billecta_gateway.upstream import UpstreamCallError

CREDENTIALS_REFUSED = "Billecta refused the credentials"


class BillectaError(Exception):
    """Base class of every Billecta client error."""


class InvalidBillectaApiConfig(BillectaError):
    """A required Billecta setting is missing; the message names it."""


class BillectaApiRequestException(UpstreamCallError, BillectaError):
    """Billecta could not be reached or answered with an error other than 400.

    ``retryable`` tells transient failures (429, 5xx, timeouts, connection errors) from
    permanent ones; ``retry_after`` carries Billecta's ``Retry-After`` in seconds when given.
    """


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


_MESSAGE_KEYS = ("Message", "message", "ErrorMessage", "error_message", "error", "Error", "title")
_DETAIL_KEYS = ("ModelState", "modelState", "errors", "Errors")
_MAX_ERROR_TEXT = 2000


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


def billecta_error_text(response: httpx.Response) -> str:
    """Billecta's own explanation from an error body (its message field, else the text)."""
    raw = response.text.strip()
    if not raw:
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw[:_MAX_ERROR_TEXT]
    if isinstance(data, str):
        return data[:_MAX_ERROR_TEXT]
    if not isinstance(data, dict):
        return raw[:_MAX_ERROR_TEXT]
    message = next((data[k] for k in _MESSAGE_KEYS if isinstance(data.get(k), str)), None)
    details = next((data[k] for k in _DETAIL_KEYS if isinstance(data.get(k), dict)), None)
    if message is None:
        return raw[:_MAX_ERROR_TEXT]
    if details:
        parts = [
            f"{field}: {'; '.join(map(str, errs)) if isinstance(errs, list) else errs}"
            for field, errs in details.items()
        ]
        message = f"{message} ({', '.join(parts)})"
    return str(message)[:_MAX_ERROR_TEXT]


def error_for_response(
    response: httpx.Response, method: str, path: str
) -> BillectaApiRequestException:
    """The error a non-2xx answer stands for."""
    status = response.status_code
    text = billecta_error_text(response)
    suffix = f": {text}" if text else ""
    if status == 400:
        return BillectaApiBadRequestException(
            text or f"Billecta rejected {method} {path} (400 Bad Request)", method=method, path=path
        )
    if status == 404:
        return BillectaApiNotFoundException(
            f"Billecta found nothing at {method} {path}{suffix}", method=method, path=path
        )
    if status in (401, 403):
        return BillectaCredentialsRefused(status, method=method, path=path, detail=text)
    retryable = status in (408, 429) or status >= 500
    return BillectaApiRequestException(
        f"Billecta answered {status} to {method} {path}{suffix}",
        status_code=status,
        retryable=retryable,
        retry_after=parse_retry_after(response.headers.get("Retry-After")) if retryable else None,
        method=method,
        path=path,
    )


def request_outcome(exc: httpx.RequestError) -> str:
    """A request that got no answer, in a word: `timeout`, `unreachable` or `error`."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "unreachable" if isinstance(exc, httpx.TransportError) else "error"


def request_error(exc: httpx.RequestError, method: str, path: str) -> BillectaApiRequestException:
    """The error a request that got no answer stands for (timeouts and transport failures
    are transient); raise it ``from exc``, the outcome rule reads the cause."""
    outcome = request_outcome(exc)
    if outcome == "timeout":
        message = f"Billecta did not answer {method} {path} in time ({type(exc).__name__})"
    elif outcome == "unreachable":
        message = f"Billecta could not be reached for {method} {path} ({type(exc).__name__})"
    else:
        message = f"Request {method} {path} to Billecta failed ({type(exc).__name__})"
    return BillectaApiRequestException(
        message, retryable=outcome != "error", method=method, path=path
    )


# What a caller whose call ran out of its deadline before anything was sent is told to wait.
DEADLINE_RETRY_AFTER_SECONDS = 5.0


class BillectaDeadlineExceeded(BillectaApiRequestException):
    """The call's total budget (INTERACTIVE_DEADLINE) ran out.

    ``sent`` is False when the budget went on waiting (for a slot, the rate limit or a retry)
    and nothing of this call reached Billecta: safe to repeat later. True when the request was
    on its way: Billecta may have acted on it (the outcome rule's ``uncertain``).
    """

    def __init__(self, message: str, *, sent: bool, method: str, path: str) -> None:
        super().__init__(
            message,
            retryable=True,
            retry_after=DEADLINE_RETRY_AFTER_SECONDS,
            method=method,
            path=path,
        )
        self.sent = sent
