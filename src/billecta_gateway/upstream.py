"""What a failed call to a neighbour (Billecta, Lime) carries, shared by both clients."""

from __future__ import annotations


class UpstreamCallError(Exception):
    """A call that failed: the neighbour's status, whether a retry may succeed, its
    ``Retry-After`` in seconds, and the method and path (never a key or a body, which may carry
    personal data)."""

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
