"""Integration monitor batches and logs: creating them, naming their jobs, starting logs.

Counting (finishing logs, settling and closing batches, the safety nets) lives in
`monitor.counting`, the read queries in `monitor.queries`; both are re-exported here, the one
import point of the rest of the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    bindparam,
    column,
    exists,
    func,
    insert,
    literal,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.errors import NotFound
from billecta_gateway.models import IntegrationMonitorBatch, IntegrationMonitorLog
from billecta_gateway.models.system import LOG_STATUSES
from billecta_gateway.monitor.counting import (
    CLOSED,
    DAILY_KEY,
    FINISHED,
    LOG_TABLE,
    LOST_JOB_MESSAGE,
    UNFINISHED,
    UNFINISHED_ARRAY,
    FinishResult,
    FinishSummary,
    count_logs,
    fail_batch,
    finish_log,
    finish_running_batches,
)
from billecta_gateway.monitor.queries import (
    Page,
    get_batch,
    list_batches,
    list_logs,
    list_logs_for_object,
)
from billecta_gateway.tasks.locks import xact_lock

Batch = IntegrationMonitorBatch
Log = IntegrationMonitorLog

_DAILY_LOCK_NAMESPACE = "integration_monitor_daily_batch"
_UPDATE_CHUNK = 5_000


async def create_batch(
    session: AsyncSession,
    *,
    title: str,
    task: str,
    created_by: str | None,
    parameters: dict[str, Any] | None = None,
) -> IntegrationMonitorBatch:
    """Create a `running` batch with no logs yet."""
    stmt = (
        insert(Batch)
        .values(
            title=title[:255],
            task=task[:64],
            created_by=created_by[:255] if created_by else None,
            parameters=parameters,
            status="running",
            total=0,
            done=0,
            failed=0,
        )
        .returning(Batch)
    )
    return (await session.execute(stmt)).scalar_one()


async def add_logs(
    session: AsyncSession, *, batch_id: int, limetype: str, object_ids: Sequence[int]
) -> list[tuple[int, int]]:
    """Create one `pending` log per object in a single INSERT and add them to the batch's total.

    Repeated object ids get one log (job ids derive from batch and object, so a second log for
    the same object would never finish). Answers (log id, object id) pairs.
    """
    unique_ids = list(dict.fromkeys(object_ids))
    if not unique_ids:
        return []
    source = select(
        literal(batch_id, BigInteger),
        literal(limetype, String),
        func.unnest(literal(unique_ids, ARRAY(BigInteger))),
        literal("pending", String),
    ).where(exists().where(Batch.id == batch_id))
    stmt = (
        insert(Log)
        .from_select(["batch_id", "limetype", "object_id", "status"], source)
        .returning(Log.id, type_coerce(Log.object_id, BigInteger))
    )
    rows = [(int(r[0]), int(r[1])) for r in await session.execute(stmt)]
    if not rows:
        raise NotFound(f"Integration monitor batch {batch_id} not found")
    await count_logs(session, batch_id=batch_id, added=len(rows), finished=0, failed=0)
    return rows


async def add_log(
    session: AsyncSession,
    *,
    batch_id: int,
    limetype: str,
    object_id: int | None,
    status: str,
    message: str | None = None,
    task_id: str | None = None,
) -> int:
    """Add one log to a batch (already finished when `status` is `ok` or `error`); answers its id.

    Counters follow: total + 1, and done + 1 (failed + 1 on error) for a finished log.
    """
    if status not in LOG_STATUSES:
        raise ValueError(f"Unknown integration monitor log status {status!r}")
    source = select(
        literal(batch_id, BigInteger),
        literal(limetype, String),
        literal(object_id, BigInteger),
        literal(status, String),
        literal(message, String),
        literal(task_id, String),
    ).where(exists().where(Batch.id == batch_id))
    stmt = (
        insert(Log)
        .from_select(["batch_id", "limetype", "object_id", "status", "message", "task_id"], source)
        .returning(Log.id)
    )
    log_id = (await session.execute(stmt)).scalar_one_or_none()
    if log_id is None:
        raise NotFound(f"Integration monitor batch {batch_id} not found")
    await count_logs(
        session,
        batch_id=batch_id,
        added=1,
        finished=1 if status in FINISHED else 0,
        failed=1 if status == "error" else 0,
    )
    return int(log_id)


async def set_log_task(session: AsyncSession, *, log_id: int, task_id: str, attempt: int) -> None:
    """Record the queued job's id and attempt number on an unfinished log."""
    await set_log_tasks(session, tasks=[(log_id, task_id, attempt)])


async def set_log_tasks(session: AsyncSession, *, tasks: Sequence[tuple[int, str, int]]) -> None:
    """Record (log id, job id, attempt) for many unfinished logs in one UPDATE per 5,000 logs.

    Refreshes `updated_at`, so a log that was just (re-)enqueued is not taken for a lost job.
    """
    for start in range(0, len(tasks), _UPDATE_CHUNK):
        chunk = tasks[start : start + _UPDATE_CHUNK]
        data = (
            func.unnest(
                literal([t[0] for t in chunk], ARRAY(BigInteger)),
                literal([t[1] for t in chunk], ARRAY(String)),
                literal([t[2] for t in chunk], ARRAY(Integer)),
            )
            .table_valued(
                column("log_id", BigInteger), column("task_id", String), column("attempt", Integer)
            )
            .render_derived(name="task_data")
        )
        stmt = (
            update(Log)
            .where(Log.id == data.c.log_id, Log.status.in_(UNFINISHED))
            .values(task_id=data.c.task_id, attempt=data.c.attempt, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )
        await session.execute(stmt)


async def start_log(session: AsyncSession, *, log_id: int) -> bool:
    """Mark a log `running`; False when it is already finished (or gone) and the job must stop."""
    return await start_log_attempt(session, log_id=log_id) is not None


# The statements every per-object job runs are built once, on the tables rather than the
# mapped classes: building and ORM-compiling them per call cost more CPU than the round trips.

_START_LOG = (
    update(LOG_TABLE)
    .where(LOG_TABLE.c.id == bindparam("log_id"), LOG_TABLE.c.status == func.any(UNFINISHED_ARRAY))
    .values(status="running", updated_at=func.now())
    .returning(LOG_TABLE.c.attempt)
)
# The same, also taking an advisory lock once the log is started (none when it is finished).
_START_LOG_LOCKING = (
    update(LOG_TABLE)
    .where(LOG_TABLE.c.id == bindparam("log_id"), LOG_TABLE.c.status == func.any(UNFINISHED_ARRAY))
    .values(status="running", updated_at=func.now())
    .returning(LOG_TABLE.c.attempt, xact_lock(bindparam("lock_key", type_=String)))
)


async def start_log_attempt(
    session: AsyncSession, *, log_id: int, lock_key: str | None = None
) -> int | None:
    """Mark a log `running` and answer its attempt number in one statement; None when it is
    already finished (or gone) and the job must stop.

    The UPDATE holds the log row's lock until the transaction ends: a second run of the same
    job waits here and then finds the log finished. With `lock_key` the statement also takes
    that advisory lock (tasks.locks) for the rest of the transaction, once the log is started;
    what the transaction reads afterwards is read under the lock.
    """
    if lock_key is None:
        result = await session.execute(_START_LOG, {"log_id": log_id})
    else:
        result = await session.execute(_START_LOG_LOCKING, {"log_id": log_id, "lock_key": lock_key})
    row = result.first()
    return None if row is None else int(row[0] or 1)


async def daily_batch(
    session: AsyncSession, *, title: str, task: str, day: date
) -> IntegrationMonitorBatch:
    """The one batch of `day` titled `title`, created on first use.

    Race-safe: creation is serialised by a transaction-scoped advisory lock on (title, day).
    """
    await session.execute(
        select(
            func.pg_advisory_xact_lock(
                func.hashtext(_DAILY_LOCK_NAMESPACE), func.hashtext(f"{title}|{day.isoformat()}")
            )
        )
    )
    existing = await session.scalar(
        select(Batch)
        .where(Batch.title == title, Batch.parameters[DAILY_KEY].astext == day.isoformat())
        .order_by(Batch.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if existing is not None:
        return existing
    return await create_batch(
        session, title=title, task=task, created_by=None, parameters={DAILY_KEY: day.isoformat()}
    )


__all__ = [
    "CLOSED",
    "DAILY_KEY",
    "FINISHED",
    "LOST_JOB_MESSAGE",
    "UNFINISHED",
    "FinishResult",
    "FinishSummary",
    "Page",
    "add_log",
    "add_logs",
    "count_logs",
    "create_batch",
    "daily_batch",
    "fail_batch",
    "finish_log",
    "finish_running_batches",
    "get_batch",
    "list_batches",
    "list_logs",
    "list_logs_for_object",
    "set_log_task",
    "set_log_tasks",
    "start_log",
    "start_log_attempt",
]
