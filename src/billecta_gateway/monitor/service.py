"""Integration monitor batches and logs: creating them, naming their jobs, starting logs.

Counting (finishing logs, settling and closing batches, the safety nets) lives in
`monitor.counting`, the read queries in `monitor.queries`; both are re-exported here, the one
import point of the rest of the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


async def set_log_tasks(
    session: AsyncSession, *, tasks: Sequence[tuple[int, str, int]], status: str | None = None
) -> None:
    """Record (log id, job id, attempt) for many unfinished logs in one UPDATE per 5,000 logs,
    and set their `status` when given (a re-driven log is `pending` again).

    Refreshes `updated_at`, so a log that was just (re-)enqueued is not taken for a lost job.
    """
    extra: dict[str, Any] = {} if status is None else {"status": status}
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
            .values(task_id=data.c.task_id, attempt=data.c.attempt, updated_at=func.now(), **extra)
            .execution_options(synchronize_session=False)
        )
        await session.execute(stmt)


async def start_log(session: AsyncSession, *, log_id: int) -> bool:
    """Mark a log `running`; False when it is already finished (or gone) and the job must stop."""
    return await start_log_attempt(session, log_id=log_id) is not None


# Built once, on the table: every per-object job runs it.
_START_LOG = (
    update(LOG_TABLE)
    .where(LOG_TABLE.c.id == bindparam("log_id"), LOG_TABLE.c.status == func.any(UNFINISHED_ARRAY))
    .values(status="running", updated_at=func.now())
    .returning(LOG_TABLE.c.attempt)
)


async def start_log_attempt(session: AsyncSession, *, log_id: int) -> int | None:
    """Mark a log `running` and answer its attempt number in one statement; None when it is
    already finished (or gone) and the job must stop.

    The caller commits this on its own (DESIGN §3.5): `running` is visible at once, to a
    request deciding whether to queue another sync and to the re-drive that tells a dead
    worker's job by how long it has been running.
    """
    row = (await session.execute(_START_LOG, {"log_id": log_id})).first()
    return None if row is None else int(row[0] or 1)


async def requeue_log(session: AsyncSession, *, log_id: int) -> None:
    """Show an unfinished log `pending` again: its job is waiting for a retry, not running."""
    await session.execute(
        update(Log)
        .where(Log.id == log_id, Log.status.in_(UNFINISHED))
        .values(status="pending", updated_at=func.now())
        .execution_options(synchronize_session=False)
    )


async def add_follow_up_log(
    session: AsyncSession, *, log_id: int, job: Callable[[int, int], str]
) -> tuple[int, str] | None:
    """Add a `pending` log for the same object to the batch of an unfinished log, with the next
    attempt number of that object in the batch; answers (log id, job id), None when the log is
    gone or finished. `job(batch_id, attempt)` names the job.

    Call it before finishing `log_id`: the batch then cannot close in between.
    """
    row = (
        await session.execute(
            select(Log.batch_id, Log.limetype, Log.object_id).where(
                Log.id == log_id, Log.status.in_(UNFINISHED)
            )
        )
    ).first()
    if row is None or row.object_id is None:
        return None
    batch_id, limetype, object_id = int(row.batch_id), str(row.limetype), int(row.object_id)
    attempt = 1 + int(
        await session.scalar(
            select(func.coalesce(func.max(Log.attempt), 0)).where(
                Log.batch_id == batch_id, Log.limetype == limetype, Log.object_id == object_id
            )
        )
        or 0
    )
    task_id = job(batch_id, attempt)
    new_id = await add_log(
        session,
        batch_id=batch_id,
        limetype=limetype,
        object_id=object_id,
        status="pending",
        task_id=task_id,
    )
    await set_log_task(session, log_id=new_id, task_id=task_id, attempt=attempt)
    return new_id, task_id


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
    "add_follow_up_log",
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
    "requeue_log",
    "set_log_task",
    "set_log_tasks",
    "start_log",
    "start_log_attempt",
]
