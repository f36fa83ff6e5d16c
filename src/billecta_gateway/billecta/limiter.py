"""Bounds on outbound Billecta traffic: requests in flight and requests started per second.

Both limiters serve two priority classes. Interactive calls (made while a user waits) may use
any free slot and always go before waiting bulk calls; bulk calls (background jobs) never hold
the slots reserved for interactive ones. Within a class, waiters are served first come, first
served.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar, Token
from enum import StrEnum
from typing import Self


class Priority(StrEnum):
    """Who is waiting for a Billecta call: a user (interactive) or a background job (bulk)."""

    INTERACTIVE = "interactive"
    BULK = "bulk"


_ORDER = (Priority.INTERACTIVE, Priority.BULK)

_priority: ContextVar[Priority | None] = ContextVar("billecta_priority", default=None)


class PriorityScope:
    """Sets the priority of Billecta calls made inside a ``with`` or ``async with`` block."""

    def __init__(self, priority: Priority) -> None:
        self._priority = priority
        self._tokens: list[Token[Priority | None]] = []

    def __enter__(self) -> Self:
        """Apply the priority until the block ends."""
        self._tokens.append(_priority.set(self._priority))
        return self

    def __exit__(self, *exc: object) -> None:
        """Restore the priority that applied before the block."""
        _priority.reset(self._tokens.pop())

    async def __aenter__(self) -> Self:
        """Apply the priority until the block ends."""
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        """Restore the priority that applied before the block."""
        self.__exit__()


def current_priority() -> Priority | None:
    """The priority a PriorityScope gives the calls made here, if any."""
    return _priority.get()


def _forget(queue: deque[asyncio.Future[None]], waiter: asyncio.Future[None]) -> None:
    with contextlib.suppress(ValueError):
        queue.remove(waiter)


class ConcurrencyLimiter:
    """At most ``max_concurrency`` holders; ``interactive_reserved`` slots are never bulk.

    The reservation is capped at ``max_concurrency - 1`` so bulk work can always progress.
    """

    def __init__(self, max_concurrency: int, interactive_reserved: int = 0) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if interactive_reserved < 0:
            raise ValueError("interactive_reserved must not be negative")
        self.max_concurrency = max_concurrency
        self.interactive_reserved = min(interactive_reserved, max_concurrency - 1)
        self.bulk_limit = max_concurrency - self.interactive_reserved
        self._in_flight = 0
        self._bulk_in_flight = 0
        self._waiters: dict[Priority, deque[asyncio.Future[None]]] = {p: deque() for p in _ORDER}
        # Told after every change of the counts (the client reports them as metrics).
        self.on_change: Callable[[], None] | None = None

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    @property
    def in_flight(self) -> int:
        """Slots currently held, both classes."""
        return self._in_flight

    @property
    def bulk_in_flight(self) -> int:
        """Slots currently held by bulk work."""
        return self._bulk_in_flight

    def waiting(self, priority: Priority) -> int:
        """Number of callers of ``priority`` waiting for a slot."""
        return sum(1 for w in self._waiters[priority] if not w.done())

    def _has_room(self, priority: Priority) -> bool:
        if self._in_flight >= self.max_concurrency:
            return False
        return priority is Priority.INTERACTIVE or self._bulk_in_flight < self.bulk_limit

    def _take(self, priority: Priority) -> None:
        self._in_flight += 1
        if priority is Priority.BULK:
            self._bulk_in_flight += 1
        self._changed()

    def _nobody_ahead(self, priority: Priority) -> bool:
        for cls in _ORDER:
            if self.waiting(cls):
                return False
            if cls is priority:
                return True
        return True

    async def acquire(self, priority: Priority) -> None:
        """Wait for a slot of ``priority``; pair every acquire with :meth:`release`."""
        if self._has_room(priority) and self._nobody_ahead(priority):
            self._take(priority)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiters[priority]
        queue.append(waiter)
        self._changed()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # The slot was granted just before the cancellation: hand it on.
                self.release(priority)
            else:
                _forget(queue, waiter)
                self._changed()
            raise

    def release(self, priority: Priority) -> None:
        """Give a slot back and wake the next waiter (interactive first)."""
        self._in_flight -= 1
        if priority is Priority.BULK:
            self._bulk_in_flight -= 1
        self._wake()
        self._changed()

    def _wake(self) -> None:
        for priority in _ORDER:
            queue = self._waiters[priority]
            while queue and self._has_room(priority):
                waiter = queue.popleft()
                if waiter.done():
                    continue
                self._take(priority)
                waiter.set_result(None)

    @contextlib.asynccontextmanager
    async def slot(self, priority: Priority) -> AsyncIterator[None]:
        """Hold one slot for the duration of the ``async with`` block."""
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release(priority)


class RateLimiter:
    """Spaces request starts at least ``1 / rate`` seconds apart (a token bucket of burst 1).

    Shared by both priorities; when several callers wait, interactive ones start first.
    ``clock`` must be monotonic and count seconds (injectable for tests).
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError("rate must be a positive number of requests per second")
        self.rate = rate
        self.interval = 1.0 / rate
        self._clock = clock
        self._next_start = -math.inf
        self._timer: asyncio.TimerHandle | None = None
        self._waiters: dict[Priority, deque[asyncio.Future[None]]] = {p: deque() for p in _ORDER}

    def _someone_waiting(self) -> bool:
        return any(not w.done() for q in self._waiters.values() for w in q)

    async def wait(self, priority: Priority) -> None:
        """Return when the caller may start its request."""
        now = self._clock()
        if now >= self._next_start and not self._someone_waiting():
            self._next_start = now + self.interval
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiters[priority]
        queue.append(waiter)
        self._arm()
        try:
            await waiter
        except asyncio.CancelledError:
            # A start granted to a cancelled caller is simply not used: spacing only grows.
            _forget(queue, waiter)
            raise

    def _arm(self) -> None:
        if self._timer is not None or not self._someone_waiting():
            return
        delay = max(0.0, self._next_start - self._clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self._grant_next)

    def _grant_next(self) -> None:
        self._timer = None
        now = self._clock()
        if now < self._next_start:
            self._arm()
            return
        for priority in _ORDER:
            queue = self._waiters[priority]
            while queue:
                waiter = queue.popleft()
                if waiter.done():
                    continue
                waiter.set_result(None)
                self._next_start = now + self.interval
                self._arm()
                return
