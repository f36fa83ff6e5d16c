"""Transaction-scoped advisory locks that serialise work on one object across processes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def advisory_lock(session: AsyncSession, namespace: str, object_id: int) -> None:
    """Wait for, then hold until commit or rollback, the lock on (namespace, object_id).

    Jobs that create a Billecta object hold it across the lookup, the create and the write of
    the new public id, so two jobs for the same object never both create it.
    """
    key = func.hashtextextended(f"{namespace}:{object_id}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))
