"""Errors raised by the Lime client (no FastAPI, no database)."""

from __future__ import annotations

from billecta_gateway.upstream import UpstreamCallError


class LimeError(Exception):
    """Base class of every Lime connector error."""


class LimeConfigError(LimeError):
    """A Lime setting is missing or malformed; the message names it."""


class LimeCodecError(LimeError):
    """A value could not be converted between Lime's JSON and the gateway's types."""


class LimeApiError(UpstreamCallError, LimeError):
    """Lime answered with an error status, or could not be reached.

    ``retryable`` tells transient failures (429, 5xx, timeouts, connection errors) from
    permanent ones; ``retry_after`` carries Lime's ``Retry-After`` in seconds when given.
    The message never holds the API key or a request body (they may carry personal data).
    """


class LimeBadRequest(LimeApiError):
    """Lime refused the request as invalid (400, or 422); never retried."""


class LimeAuthError(LimeApiError):
    """Lime refused the API key (401) or the API user lacks a permission (403)."""


class LimeNotFound(LimeApiError):
    """Lime has no such object, limetype or endpoint (404)."""


class LimeUnavailable(LimeApiError):
    """Lime could not be reached or did not answer in time."""
