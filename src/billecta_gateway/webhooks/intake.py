"""The receiver's storage path, on the driver: one pooled asyncpg statement per delivery.

The receiver is the gateway's hottest path (DESIGN §7 measures it against a bare asyncpg
insert-and-commit loop), and Billecta waits on it. An ORM session there costs more than the
insert itself (session and statement building, a pre-pinged checkout, BEGIN and COMMIT), so the
receiver keeps a small asyncpg pool of its own and stores a delivery with one autocommitted
`INSERT ... ON CONFLICT DO NOTHING RETURNING`: durable when it returns, one round trip. The
statement is the inbox's own (`webhooks.service`), compiled once for the driver.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from billecta_gateway.webhooks import service
from billecta_gateway.webhooks.envelope import ParsedEvent

# Waiting longer than this for a connection or an answer means the database is unavailable.
TIMEOUT_SECONDS = 10.0

# What an unreachable or failing-over database raises on the driver.
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


# Lends a driver connection; a write is durable when the block exits.
Acquire = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset when a connection returns to the pool: the intake runs single
    autocommitted statements that leave no session state behind (asyncpg's default reset would
    cost a round trip per delivery)."""


class Intake:
    """The inbox writes of the receiver, on connections lent by `acquire` (in production a
    lazily connected asyncpg pool, see :meth:`open`)."""

    def __init__(
        self, acquire: Acquire, *, close: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._acquire = acquire
        self._close = close

    @classmethod
    async def open(cls, engine: AsyncEngine, *, max_size: int) -> Intake:
        """A pool to the engine's database (same URL, sockets included); connects on first use."""
        _, params = engine.dialect.create_connect_args(engine.url)
        pool = await asyncpg.create_pool(
            min_size=0,
            max_size=max_size,
            command_timeout=TIMEOUT_SECONDS,
            timeout=TIMEOUT_SECONDS,
            reset=_keep_session,
            **params,
        )
        return cls(lambda: pool.acquire(timeout=TIMEOUT_SECONDS), close=pool.close)

    async def close(self) -> None:
        if self._close is not None:
            await self._close()

    async def ping(self) -> None:
        """Raise unless the receiver's own pool can lend a connection that answers."""
        async with self._acquire() as conn:
            await conn.fetchval("SELECT 1")

    async def store(self, parsed: ParsedEvent) -> service.Stored:
        """Insert a delivery under its dedupe key (committed on return); an earlier delivery of
        the same event is answered as a duplicate."""
        params = service.insert_params(parsed)
        row, duplicate = await self.insert_or_existing(
            service.INSERT_ON_DRIVER, service.EXISTING_ON_DRIVER, params
        )
        return service.stored_row(row, duplicate=duplicate)

    async def insert_or_existing(
        self,
        insert: service.DriverStatement,
        existing: service.DriverStatement,
        params: dict[str, Any],
    ) -> tuple[Any, bool]:
        """Run an `INSERT ... ON CONFLICT DO NOTHING RETURNING` (committed on return); when it
        inserted nothing, the row already stored under the same key. Answers (row, duplicate);
        the Lime inbox stores its deliveries through this too."""
        async with self._acquire() as conn:
            row: Any = await conn.fetchrow(insert.sql, *insert.args(params))
            if row is not None:
                return row, False
            return await conn.fetchrow(existing.sql, *existing.args(params)), True

    async def forget_enqueue(self, event_id: int) -> None:
        """Clear the enqueue mark of an event whose message never reached Redis, so the inbox
        cron sends it at once instead of after its re-drive delay."""
        statement = service.NOT_ENQUEUED_ON_DRIVER
        async with self._acquire() as conn:
            await conn.execute(statement.sql, *statement.args({"event_id": event_id}))


async def get_intake(request: Request) -> Intake:
    return request.app.state.intake  # type: ignore[no-any-return]


IntakeDep = Annotated[Intake, Depends(get_intake)]
