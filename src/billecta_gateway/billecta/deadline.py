"""The total budget of a call made while a user waits (INTERACTIVE_DEADLINE).

It covers the wait for a slot and for the rate limit, every attempt and every wait between
attempts (Retry-After included). A wait that would outlast it is not started.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from billecta_gateway.billecta.errors import BillectaDeadlineExceeded


@dataclass(frozen=True)
class Deadline:
    """An instant on ``clock`` (monotonic seconds) by which a call must be answered."""

    expires_at: float
    seconds: float
    clock: Callable[[], float]

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float]) -> Deadline:
        return cls(clock() + seconds, seconds, clock)

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.expires_at - self.clock())

    def allows(self, delay: float) -> bool:
        """Whether waiting ``delay`` seconds still leaves time for an attempt."""
        return delay < self.remaining()


@contextlib.asynccontextmanager
async def within(
    deadline: Deadline | None, *, sent: bool, method: str, path: str, waiting_for: str
) -> AsyncIterator[None]:
    """Run the block within what is left of ``deadline`` (no bound when None).

    Past it the block is cancelled and :class:`BillectaDeadlineExceeded` raised, telling
    whether the request was (``sent``) on its way.
    """
    if deadline is None:
        yield
        return
    bound = asyncio.timeout(deadline.remaining())
    try:
        async with bound:
            yield
    except TimeoutError as exc:
        if not bound.expired():
            raise
        raise BillectaDeadlineExceeded(
            f"No answer from Billecta for {method} {path} within INTERACTIVE_DEADLINE "
            f"({deadline.seconds:g} s), spent {waiting_for}",
            sent=sent,
            method=method,
            path=path,
        ) from exc
