"""Per-object sync counters (DESIGN §3.5): every change ingestion stores moves its object's
`sync_counter`, and a change of an object that counts into another (an order row into its order)
moves that one's too. A sync job compares the counter at its start and its end to know whether
a change arrived while it ran."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, bindparam, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import LIMETYPES, LimeObject


def bump(obj: LimeObject) -> None:
    """Move the object's counter with the write the session flushes next."""
    obj.sync_counter = type(obj).sync_counter + 1


def parents(obj: LimeObject, previous: dict[str, Any] | None = None) -> set[int]:
    """The ids of the objects a change of `obj` counts into (its old one too, after a move)."""
    relation = type(obj).__counts_into__
    if relation is None:
        return set()
    ids = {getattr(obj, relation)}
    if previous and relation in previous:
        ids.add(previous[relation])
    return {int(i) for i in ids if i is not None}


async def bump_parents(
    session: AsyncSession, obj: LimeObject, previous: dict[str, Any] | None = None
) -> None:
    """Move the counters of the objects a change of `obj` counts into."""
    relation = type(obj).__counts_into__
    ids = parents(obj, previous)
    if relation is None or not ids:
        return
    model = LIMETYPES[relation]
    await session.execute(
        update(model)
        .where(model.id == func.any(literal(sorted(ids), ARRAY(BigInteger))))
        .values(sync_counter=model.sync_counter + 1)
        .execution_options(synchronize_session=False)
    )


def _counter_stmt(limetype: str, *, lock: bool) -> Any:
    model = LIMETYPES[limetype]
    stmt = select(model.sync_counter).where(model.id == bindparam("object_id"))
    return stmt.with_for_update(read=True) if lock else stmt


async def read_counter(
    session: AsyncSession, limetype: str, object_id: int, *, wait_for_writers: bool = False
) -> int | None:
    """The object's counter; None when it does not exist.

    `wait_for_writers` reads it FOR SHARE: a request that changed the object but has not
    committed yet is waited for, so its change is seen here or its request sees this job's
    log finished (and queues a sync of its own).
    """
    value = await session.scalar(
        _counter_stmt(limetype, lock=wait_for_writers), {"object_id": object_id}
    )
    return None if value is None else int(value)


def changed_since(start: int | None, end: int | None) -> bool:
    """Whether the counter moved between a job's start and its end."""
    return start is not None and end is not None and end != start
