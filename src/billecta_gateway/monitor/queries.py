"""Integration monitor queries: batches and logs, keyset-paginated, for the read API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.errors import InvalidInput, NotFound
from billecta_gateway.models import IntegrationMonitorBatch, IntegrationMonitorLog

T = TypeVar("T")

Batch = IntegrationMonitorBatch
Log = IntegrationMonitorLog


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated listing; `next_cursor` is None on the last page."""

    items: list[T]
    next_cursor: int | None


def _aware(value: datetime | None) -> datetime | None:
    """Read a naive date-time as UTC (asyncpg refuses naive values for timestamptz)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def list_batches(
    session: AsyncSession,
    *,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: int | None = None,
) -> Page[IntegrationMonitorBatch]:
    """Batches newest first, filtered by status and start time (`since` ≤ starttime < `until`)."""
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and since > until:
        raise InvalidInput(
            "since must not be later than until",
            errors=[{"loc": ["query", "since"], "field": "since", "message": "after until"}],
        )
    stmt = select(Batch)
    if status is not None:
        stmt = stmt.where(Batch.status == status)
    if since is not None:
        stmt = stmt.where(Batch.starttime >= since)
    if until is not None:
        stmt = stmt.where(Batch.starttime < until)
    if cursor is not None:
        stmt = stmt.where(Batch.id < cursor)
    stmt = stmt.order_by(Batch.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(stmt.execution_options(populate_existing=True))).all())
    return _page(rows, limit)


async def get_batch(session: AsyncSession, *, batch_id: int) -> IntegrationMonitorBatch:
    """One batch; NotFound when there is none with this id."""
    batch = await session.get(Batch, batch_id, populate_existing=True)
    if batch is None:
        raise NotFound(f"Integration monitor batch {batch_id} not found")
    return batch


async def list_logs(
    session: AsyncSession,
    *,
    batch_id: int,
    status: str | None = None,
    limit: int = 50,
    cursor: int | None = None,
) -> Page[IntegrationMonitorLog]:
    """A batch's logs newest first, optionally of one status; NotFound for an unknown batch."""
    if (await session.scalar(select(Batch.id).where(Batch.id == batch_id))) is None:
        raise NotFound(f"Integration monitor batch {batch_id} not found")
    stmt = select(Log).where(Log.batch_id == batch_id)
    if status is not None:
        stmt = stmt.where(Log.status == status)
    if cursor is not None:
        stmt = stmt.where(Log.id < cursor)
    stmt = stmt.order_by(Log.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(stmt.execution_options(populate_existing=True))).all())
    return _page(rows, limit)


async def list_logs_for_object(
    session: AsyncSession, *, limetype: str, object_id: int, limit: int = 50
) -> list[IntegrationMonitorLog]:
    """The latest logs of one object across all batches, newest first."""
    stmt = (
        select(Log)
        .where(Log.limetype == limetype, Log.object_id == object_id)
        .order_by(Log.id.desc())
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


def _page(rows: list[Any], limit: int) -> Page[Any]:
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(items=rows, next_cursor=int(rows[-1].id))
    return Page(items=rows, next_cursor=None)
