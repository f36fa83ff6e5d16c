"""The Lime rate limit of the whole deployment, shared by every API, worker and CLI process.

Lime Cloud counts requests per IP (3000 per 5 minutes), so the limit belongs to the
deployment, not to a process. PostgreSQL holds it: one bucket row says when the next request
may start (by the database's clock, so hosts need not agree on the time) and a registry lists
the live processes. Redis is not used: a few row updates a second are nothing for PostgreSQL,
and a limit that lived in Redis would vanish with it.

- Starts are spaced ``(1 s + GUARD) / rate`` apart. The guard covers the time between a grant
  and the request reaching Lime, so no one-second window as Lime counts it ever holds more
  than ``rate`` requests, even when one request is late and the next is early.
- Background work also obeys a second, slower spacing ``(1 s + GUARD) / (rate - reserved)``,
  so ``reserved`` requests per second always remain for calls a user waits on.
- Nothing is reserved ahead: a caller takes a start only when it is due, else it sleeps and
  asks again, so waiting jobs never push an interactive call into the future.
- When the database cannot be reached, each process falls back to an in-process limiter of
  ``rate / live processes`` (the last count it saw in the registry): slower, never unlimited.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from billecta_gateway.billecta.limiter import Priority, RateLimiter

logger = logging.getLogger("billecta_gateway.limecrm.ratelimit")

GUARD_SECONDS = 0.1
DEFAULT_BUCKET = "lime"
_MAX_POLL = 0.5

_LOCK = text("SELECT next_at, bulk_next_at FROM lime_rate_bucket WHERE name = :name FOR UPDATE")
_CREATE = text("INSERT INTO lime_rate_bucket (name) VALUES (:name) ON CONFLICT (name) DO NOTHING")
_NOW = text("SELECT extract(epoch FROM clock_timestamp())::float8")
_TAKE = text(
    "UPDATE lime_rate_bucket SET next_at = :next_at, bulk_next_at = :bulk_next_at "
    "WHERE name = :name"
)
_REGISTER = text(
    "INSERT INTO lime_rate_process (id, role, hostname, pid) VALUES (:id, :role, :host, :pid) "
    "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()"
)
_LIVE = text(
    "SELECT count(*) FROM lime_rate_process "
    "WHERE heartbeat_at > now() - make_interval(secs => :ttl)"
)
_PRUNE = text(
    "DELETE FROM lime_rate_process WHERE heartbeat_at < now() - make_interval(secs => :ttl * 10)"
)
_LEAVE = text("DELETE FROM lime_rate_process WHERE id = :id")


def spacing(rate: float) -> float:
    """Seconds between two starts at ``rate`` requests per second, guard included."""
    return (1.0 + GUARD_SECONDS) / rate


class SharedRateLimiter:
    """Says when a Lime request may start, for every process of the deployment at once."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        rate: float,
        interactive_reserved: float = 0.0,
        role: str = "api",
        bucket: str = DEFAULT_BUCKET,
        heartbeat_seconds: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if not 0 <= interactive_reserved < rate:
            raise ValueError("interactive_reserved must be at least 0 and below rate")
        self.engine = engine
        self.rate = rate
        self.interval = spacing(rate)
        self.bulk_interval = spacing(rate - interactive_reserved)
        self.reserved = interactive_reserved
        self.role = role
        self.bucket = bucket
        self.process_id = uuid.uuid4().hex
        self.heartbeat_seconds = heartbeat_seconds
        self.live_processes = 1
        self._sleep = sleep
        self._locks = {p: asyncio.Lock() for p in Priority}
        self._registered_at = -float("inf")
        self._fallback: RateLimiter | None = None
        self._fallback_until = -float("inf")
        self.grants = 0
        self.fallback_grants = 0

    async def wait(self, priority: Priority) -> None:
        """Return when the caller may start its request (interactive calls use the reserve)."""
        async with self._locks[priority]:
            while True:
                if time.monotonic() < self._fallback_until:
                    await self._fallback_wait(priority)
                    return
                try:
                    delay = await self._try_take(priority)
                except (OperationalError, DBAPIError, OSError) as exc:
                    self._fall_back(exc)
                    continue
                if delay <= 0:
                    self.grants += 1
                    return
                await self._sleep(min(delay, _MAX_POLL))

    async def _try_take(self, priority: Priority) -> float:
        """Take a start if one is due now (0.0); else the seconds until one may be."""
        await self._heartbeat()
        bulk = priority is Priority.BULK
        async with self.engine.begin() as conn:
            row = (await conn.execute(_LOCK, {"name": self.bucket})).one_or_none()
            if row is None:
                await conn.execute(_CREATE, {"name": self.bucket})
                row = (await conn.execute(_LOCK, {"name": self.bucket})).one()
            next_at, bulk_next_at = float(row[0]), float(row[1])
            now = float((await conn.execute(_NOW)).scalar_one())
            due = max(next_at, bulk_next_at) if bulk else next_at
            if due > now:
                return due - now
            await conn.execute(
                _TAKE,
                {
                    "name": self.bucket,
                    "next_at": now + self.interval,
                    "bulk_next_at": now + self.bulk_interval if bulk else bulk_next_at,
                },
            )
        return 0.0

    async def _heartbeat(self) -> None:
        if time.monotonic() - self._registered_at < self.heartbeat_seconds:
            return
        ttl = self.heartbeat_seconds * 3
        async with self.engine.begin() as conn:
            await conn.execute(
                _REGISTER,
                {
                    "id": self.process_id,
                    "role": self.role[:32],
                    "host": socket.gethostname()[:255],
                    "pid": os.getpid(),
                },
            )
            await conn.execute(_PRUNE, {"ttl": ttl})
            self.live_processes = max(
                1, int((await conn.execute(_LIVE, {"ttl": ttl})).scalar_one())
            )
        self._registered_at = time.monotonic()

    def _fall_back(self, exc: BaseException) -> None:
        share = self.rate / self.live_processes
        if self._fallback is None or self._fallback.rate != share / (1.0 + GUARD_SECONDS):
            self._fallback = RateLimiter(share / (1.0 + GUARD_SECONDS))
        self._fallback_until = time.monotonic() + self.heartbeat_seconds
        logger.warning(
            "lime rate limit: the database is unreachable (%s); this process keeps to "
            "%.2f requests/s (1/%d of %.2f) until it is back",
            type(exc).__name__,
            share,
            self.live_processes,
            self.rate,
        )

    async def _fallback_wait(self, priority: Priority) -> None:
        assert self._fallback is not None
        await self._fallback.wait(priority)
        self.fallback_grants += 1

    async def close(self) -> None:
        """Leave the registry (a process that dies without it simply ages out)."""
        try:
            async with self.engine.begin() as conn:
                await conn.execute(_LEAVE, {"id": self.process_id})
        except (OperationalError, DBAPIError, OSError):
            logger.info("lime rate limit: could not leave the registry; it ages out")


def local_rate_limiter(rate: float) -> RateLimiter:
    """An in-process limiter with the same spacing, for a process without a database."""
    return RateLimiter((rate) / (1.0 + GUARD_SECONDS))
