"""Advisory locks that serialise work on one object across processes.

Two kinds (DESIGN §3.5, the transaction rule):
- transaction-scoped (`advisory_lock`): held until the transaction ends, for requests and for
  work done in one short transaction;
- session-scoped (`session_lock`): held on a job's own connection across its short transactions
  and its Billecta calls, and released in `finally` (`release_session_locks`). A job pins one
  connection for its whole run (`pinned_sessionmaker`) so the lock cannot leak into the pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement


def lock_key(namespace: str, object_id: int) -> str:
    """The text the lock on (namespace, object_id) is hashed from."""
    return f"{namespace}:{object_id}"


def _hashed(key: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.hashtextextended(key, 0)


def xact_lock(key: ColumnElement[Any]) -> ColumnElement[Any]:
    """SQL that waits for, then holds until the transaction ends, the lock on `key`."""
    return func.pg_advisory_xact_lock(_hashed(key))


def session_lock_sql(key: ColumnElement[Any]) -> ColumnElement[Any]:
    """SQL that waits for, then holds until released (or the connection closes), the lock."""
    return func.pg_advisory_lock(_hashed(key))


# Built once: every per-object job takes a lock, and building the statement per call costs
# more than sending it.
_LOCK = select(xact_lock(bindparam("lock_key", type_=String)))
_SESSION_LOCK = select(session_lock_sql(bindparam("lock_key", type_=String)))
_UNLOCK_ALL = select(func.pg_advisory_unlock_all())


async def advisory_lock(session: AsyncSession, namespace: str, object_id: int) -> None:
    """Wait for, then hold until commit or rollback, the lock on (namespace, object_id)."""
    await session.execute(_LOCK, {"lock_key": lock_key(namespace, object_id)})


async def session_lock(session: AsyncSession, key: str) -> None:
    """Wait for, then hold across commits until `release_session_locks`, the lock on `key`.

    Jobs that create a Billecta object hold it across the lookup, the create and the write of
    the new public id, so two jobs for the same object never both create it.
    """
    await session.execute(_SESSION_LOCK, {"lock_key": key})


async def _release(conn: AsyncConnection) -> None:
    """Release every session-level lock of the connection; if that fails, drop the connection
    (its locks die with it) rather than hand one that may hold a lock back to the pool."""
    try:
        await conn.rollback()
        await conn.execute(_UNLOCK_ALL)
        await conn.commit()
    except Exception:
        await conn.invalidate()


@asynccontextmanager
async def pinned_sessionmaker(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that all use one connection, held for the block, so session-level locks stay
    with the job; every session-level lock is released when the block ends, however it ends.

    A sessionmaker already bound to a connection (the tests' transaction) keeps its connection.
    """
    bind = sessionmaker.kw.get("bind")
    if isinstance(bind, AsyncConnection):
        try:
            yield sessionmaker
        finally:
            async with sessionmaker() as session:
                await session.execute(_UNLOCK_ALL)
                await session.commit()
        return
    assert bind is not None, "a job's sessionmaker is bound to an engine"
    async with bind.connect() as conn:
        try:
            yield async_sessionmaker(
                bind=conn,
                expire_on_commit=sessionmaker.kw.get("expire_on_commit", False),
                autoflush=sessionmaker.kw.get("autoflush", False),
            )
        finally:
            await _release(conn)
