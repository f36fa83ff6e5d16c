"""Transaction-scoped advisory locks that serialise work on one object across processes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement


def lock_key(namespace: str, object_id: int) -> str:
    """The text the lock on (namespace, object_id) is hashed from."""
    return f"{namespace}:{object_id}"


def xact_lock(key: ColumnElement[Any]) -> ColumnElement[Any]:
    """SQL that waits for, then holds until the transaction ends, the lock on `key`."""
    return func.pg_advisory_xact_lock(func.hashtextextended(key, 0))


# Built once: every per-object job takes a lock, and building the statement per call costs
# more than sending it.
_LOCK = select(xact_lock(bindparam("lock_key", type_=String)))


async def advisory_lock(session: AsyncSession, namespace: str, object_id: int) -> None:
    """Wait for, then hold until commit or rollback, the lock on (namespace, object_id).

    Jobs that create a Billecta object hold it across the lookup, the create and the write of
    the new public id, so two jobs for the same object never both create it.
    """
    await session.execute(_LOCK, {"lock_key": lock_key(namespace, object_id)})
