"""The fan-out job of a task and the cron that re-drives work whose job vanished from Redis.

Durable intent lives in Postgres (DESIGN §1): a batch keeps its object ids until its logs exist,
and every unfinished log records the id of the job that should finish it. Redis may lose any
message; `redrive_task_logs` notices and enqueues the work again under the next attempt number
(a new job id, since arq refuses an id whose result it still keeps). Work is lost when:
- its job is gone from Redis, checked for work untouched for REDRIVE_AFTER, or at once when
  the worker found the queue wiped (`queue_lost`, its sentinel key vanished);
- its log has been `running` longer than its kind's timeout, whatever Redis says: arq keeps a
  killed worker's in-progress key for the longest timeout on that worker, and a live try
  always ends (or is shown `pending` for its retry) within its kind's timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from arq import Retry
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import Job, JobStatus, serialize_job
from arq.utils import timestamp_ms
from redis.exceptions import RedisError
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.db import session_scope
from billecta_gateway.models import IntegrationMonitorBatch, IntegrationMonitorLog
from billecta_gateway.monitor import service as monitor
from billecta_gateway.tasks.contract import (
    FAN_OUT_JOB,
    KINDS,
    TaskKind,
    fan_out_job_id,
    kind_for_task,
    object_job_id,
)
from billecta_gateway.tasks.runner import retry_delay, transient

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

logger = logging.getLogger("billecta_gateway.tasks")

Batch = IntegrationMonitorBatch
Log = IntegrationMonitorLog

FAN_OUT_TRIES = 3
FAN_OUT_TIMEOUT = 120
LOG_CHUNK = 5_000
ENQUEUE_CHUNK = 1_000
# Work untouched for this long whose job is gone from Redis is enqueued again.
REDRIVE_AFTER = timedelta(minutes=10)
REDRIVE_LIMIT = 2_000
# After this many attempts (each with its own arq retries) a log is given up as `error`.
MAX_ATTEMPTS = 5
_ALIVE = frozenset({JobStatus.deferred, JobStatus.queued, JobStatus.in_progress})

QueuedJob = tuple[str, tuple[Any, ...], str]


def utcnow() -> datetime:
    return datetime.now(UTC)


async def _enqueue_chunk(
    redis: ArqRedis, chunk: Sequence[QueuedJob], queue_name: str, now_ms: int
) -> int:
    """Queue a chunk of jobs in three round trips; answers how many were new.

    The same rules as `ArqRedis.enqueue_job`, pipelined: an id whose result arq still keeps is
    skipped, the job key is written only if absent (`SET NX`), and only new jobs are added to
    the queue. Enqueueing 10,000 jobs one by one costs seconds of CPU; this costs milliseconds.
    """
    async with redis.pipeline(transaction=False) as pipe:
        for _, _, jid in chunk:
            pipe.exists(result_key_prefix + jid)
        finished = await pipe.execute()
    todo = [job for job, done in zip(chunk, finished, strict=True) if not done]
    if not todo:
        return 0
    async with redis.pipeline(transaction=False) as pipe:
        for function, args, jid in todo:
            data = serialize_job(function, args, {}, None, now_ms, serializer=redis.job_serializer)
            pipe.set(job_key_prefix + jid, data, px=redis.expires_extra_ms, nx=True)
        written = await pipe.execute()
    new = [jid for (_, _, jid), ok in zip(todo, written, strict=True) if ok]
    if new:
        await redis.zadd(queue_name, dict.fromkeys(new, now_ms))
    return len(new)


async def enqueue_jobs(redis: ArqRedis, jobs: Sequence[QueuedJob], *, queue_name: str) -> int:
    """Enqueue (function, args, job id) triples in chunks; answers how many were new.

    An id already queued, running or kept as a result is skipped. A Redis failure stops the
    sending: the logs stay pending and the re-drive cron picks them up.
    """
    enqueued = sent = 0
    try:
        for start in range(0, len(jobs), ENQUEUE_CHUNK):
            chunk = jobs[start : start + ENQUEUE_CHUNK]
            enqueued += await _enqueue_chunk(redis, chunk, queue_name, timestamp_ms())
            sent += len(chunk)
    except (RedisError, OSError) as exc:
        logger.warning(
            "could not enqueue %d job(s), the re-drive cron will: %s",
            len(jobs) - sent,
            type(exc).__name__,
        )
    return enqueued


async def enqueue_for_kinds(
    ctx: WorkerContext, jobs: Sequence[tuple[TaskKind | None, QueuedJob]]
) -> int:
    """Enqueue jobs each on its kind's queue (a fan-out, `None`, on the object queue)."""
    settings = ctx["settings"]
    queues: dict[str, list[QueuedJob]] = {}
    for kind, job in jobs:
        name = kind.queue_for(settings) if kind is not None else settings.arq_queue_name
        queues.setdefault(name, []).append(job)
    enqueued = 0
    for name, queued in queues.items():
        enqueued += await enqueue_jobs(ctx["redis"], queued, queue_name=name)
    return enqueued


async def _unfinished_jobs(session: AsyncSession, kind: TaskKind, batch_id: int) -> list[QueuedJob]:
    rows = await session.execute(
        select(Log.id, Log.object_id, Log.task_id)
        .where(Log.batch_id == batch_id, Log.status.in_(monitor.UNFINISHED))
        .order_by(Log.id)
    )
    return [
        (kind.job, (int(log_id), int(obj)), str(task))
        for log_id, obj, task in rows
        if task and obj is not None
    ]


async def _create_logs(
    session: AsyncSession, batch: IntegrationMonitorBatch, kind: TaskKind
) -> None:
    """Create the batch's logs (those not created by an earlier run) and name their jobs."""
    params = dict(batch.parameters or {})
    object_ids = [int(i) for i in params.get("object_ids", [])]
    existing = set(
        (await session.scalars(select(Log.object_id).where(Log.batch_id == batch.id))).all()
    )
    todo = [i for i in dict.fromkeys(object_ids) if i not in existing]
    for start in range(0, len(todo), LOG_CHUNK):
        await monitor.add_logs(
            session,
            batch_id=batch.id,
            limetype=kind.limetype,
            object_ids=todo[start : start + LOG_CHUNK],
        )
    # Ids the request named that do not exist are failures of their own, added after the
    # pending logs so the batch cannot close before those are done.
    for missing in params.get("missing_ids", []):
        if int(missing) not in existing:
            await monitor.add_log(
                session,
                batch_id=batch.id,
                limetype=kind.limetype,
                object_id=int(missing),
                status="error",
                message=f"{kind.limetype} {missing} does not exist",
            )
    rows = await session.execute(
        select(Log.id, Log.object_id, Log.attempt).where(
            Log.batch_id == batch.id, Log.status == "pending", Log.task_id.is_(None)
        )
    )
    await monitor.set_log_tasks(
        session,
        tasks=[
            (int(log_id), object_job_id(kind, batch.id, int(obj), int(attempt)), int(attempt))
            for log_id, obj, attempt in rows
            if obj is not None
        ],
    )
    params.pop("object_ids", None)
    params.pop("missing_ids", None)
    params["fanned_out"] = True
    params["objects"] = len(object_ids)
    batch.parameters = params


async def fan_out_task(ctx: WorkerContext, batch_id: int) -> dict[str, int]:
    """Create a task's pending logs and enqueue one job per object.

    Idempotent: logs are created once (by object), and enqueueing an existing job id is a
    no-op, so a second run only sends what is still missing. A database failure is retried.
    """
    try:
        return await _fan_out(ctx, batch_id)
    except Exception as exc:
        job_try = int(ctx.get("job_try") or 1)
        if transient(exc)[0] and job_try < FAN_OUT_TRIES:
            raise Retry(defer=retry_delay(job_try)) from exc
        raise


async def _fan_out(ctx: WorkerContext, batch_id: int) -> dict[str, int]:
    async with session_scope(ctx["sessionmaker"]) as session:
        batch = await session.get(Batch, batch_id, with_for_update=True, populate_existing=True)
        if batch is None:
            return {"logs": 0, "enqueued": 0}
        kind = kind_for_task(batch.task)
        if kind is None:
            if batch.status == "running":
                await monitor.fail_batch(
                    session, batch_id=batch_id, message=f"Unknown task {batch.task!r}"
                )
            return {"logs": 0, "enqueued": 0}
        if not (batch.parameters or {}).get("fanned_out"):
            await _create_logs(session, batch, kind)
        jobs = await _unfinished_jobs(session, kind, batch_id)
    enqueued = await enqueue_jobs(ctx["redis"], jobs, queue_name=kind.queue_for(ctx["settings"]))
    return {"logs": len(jobs), "enqueued": enqueued}


async def _job_lost(redis: ArqRedis, task_id: str | None, queue_name: str) -> bool:
    """True when the job no longer exists (or ended without finishing its log)."""
    if not task_id:
        return True
    return await Job(task_id, redis, _queue_name=queue_name).status() not in _ALIVE


async def _redrive_fan_outs(
    ctx: WorkerContext, cutoff: datetime, now: datetime
) -> list[tuple[TaskKind | None, QueuedJob]]:
    """Send again the fan-out of every running batch that still holds its object ids (its
    logs do not exist yet) and whose fan-out job is gone, or is older than a fan-out may take
    (a fan-out is idempotent: running it twice creates nothing twice)."""
    redis = ctx["redis"]
    queue_name = ctx["settings"].arq_queue_name
    overdue = now - timedelta(seconds=FAN_OUT_TIMEOUT)
    jobs: list[tuple[TaskKind | None, QueuedJob]] = []
    async with session_scope(ctx["sessionmaker"]) as session:
        batches = (
            await session.scalars(
                select(Batch)
                .where(
                    Batch.status == "running",
                    Batch.task.in_(list(KINDS)),
                    Batch.parameters.has_key("object_ids"),
                    Batch.starttime < max(cutoff, overdue),
                )
                .order_by(Batch.id)
                .limit(REDRIVE_LIMIT)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for batch in batches:
            params = dict(batch.parameters or {})
            attempt = int(params.get("fan_out_attempt", 1))
            started = batch.starttime
            if started >= overdue and (
                started >= cutoff
                or not await _job_lost(redis, fan_out_job_id(batch.id, attempt), queue_name)
            ):
                continue
            params["fan_out_attempt"] = attempt + 1
            batch.parameters = params
            jobs.append((None, (FAN_OUT_JOB, (batch.id,), fan_out_job_id(batch.id, attempt + 1))))
    return jobs


async def job_states(redis: ArqRedis, jobs: Sequence[tuple[str | None, str]]) -> list[JobStatus]:
    """arq's status of many (job id, queue) pairs in one pipelined round trip (the checks of
    `Job.status`); a missing id is `not_found`."""
    async with redis.pipeline(transaction=False) as pipe:
        for task_id, queue_name in jobs:
            key = task_id or ""
            pipe.exists(result_key_prefix + key)
            pipe.exists(in_progress_key_prefix + key)
            pipe.zscore(queue_name, key)
        answers = await pipe.execute()
    now = timestamp_ms()
    states: list[JobStatus] = []
    for n, (task_id, _) in enumerate(jobs):
        complete, in_progress, score = answers[3 * n : 3 * n + 3]
        if not task_id:
            states.append(JobStatus.not_found)
        elif complete:
            states.append(JobStatus.complete)
        elif in_progress:
            states.append(JobStatus.in_progress)
        elif score:
            states.append(JobStatus.deferred if score > now else JobStatus.queued)
        else:
            states.append(JobStatus.not_found)
    return states


def _overdue(kinds: dict[str, TaskKind], settings: Settings, now: datetime) -> Any:
    """SQL: the log has been unfinished for longer than its kind's timeout."""
    return or_(
        *(
            and_(
                Batch.task == task,
                Log.updated_at < now - timedelta(seconds=kind.timeout_for(settings)),
            )
            for task, kind in kinds.items()
        )
    )


def _lost(status: str, overdue: bool, aged: bool, state: JobStatus) -> bool:
    """Whether an unfinished log's work is lost.

    - running past its kind's timeout: its worker died (a live try ends, or shows the log
      `pending` for its retry, within the timeout), whatever Redis says;
    - pending past the timeout with its job "in progress": picked by a worker that died before
      the job started its log (arq keeps the key for the worker's longest timeout);
    - untouched for REDRIVE_AFTER (at once after a wiped queue) with its job gone.
    """
    if status == "running" and overdue:
        return True
    if overdue and state == JobStatus.in_progress:
        return True
    return aged and state not in _ALIVE


async def _redrive_logs(
    ctx: WorkerContext, cutoff: datetime, now: datetime
) -> tuple[list[tuple[TaskKind | None, QueuedJob]], int]:
    settings = ctx["settings"]
    jobs: list[tuple[TaskKind | None, QueuedJob]] = []
    given_up = 0
    kinds = dict(KINDS)
    async with session_scope(ctx["sessionmaker"]) as session:
        overdue = _overdue(kinds, settings, now)
        rows = (
            await session.execute(
                select(
                    Log.id,
                    Log.batch_id,
                    Log.object_id,
                    Log.task_id,
                    Log.attempt,
                    Log.status,
                    Batch.task,
                    overdue.label("overdue"),
                    (Log.updated_at < cutoff).label("aged"),
                )
                .join(Batch, Batch.id == Log.batch_id)
                .where(
                    Log.status.in_(monitor.UNFINISHED),
                    Log.object_id.is_not(None),
                    or_(Log.updated_at < cutoff, overdue),
                    Batch.task.in_(list(kinds)),
                )
                .order_by(Log.updated_at)
                .limit(REDRIVE_LIMIT)
                .with_for_update(of=Log, skip_locked=True)
            )
        ).all()
        states = await job_states(
            ctx["redis"], [(row.task_id, kinds[row.task].queue_for(settings)) for row in rows]
        )
        retasked: list[tuple[int, str, int]] = []
        for row, state in zip(rows, states, strict=True):
            if not _lost(row.status, bool(row.overdue), bool(row.aged), state):
                continue
            kind, log_id, object_id, attempt = (
                kinds[row.task],
                int(row.id),
                int(row.object_id),
                int(row.attempt),
            )
            if attempt >= MAX_ATTEMPTS:
                message = f"Gave up after {attempt} attempts: the job kept getting lost"
                if kind.on_failure is not None:
                    await kind.on_failure(session, object_id, message, "")
                await monitor.finish_log(session, log_id=log_id, ok=False, message=message)
                given_up += 1
                continue
            new_id = object_job_id(kind, int(row.batch_id), object_id, attempt + 1)
            retasked.append((log_id, new_id, attempt + 1))
            jobs.append((kind, (kind.job, (log_id, object_id), new_id)))
        # A re-driven log is `pending` again: its new job has not started.
        await monitor.set_log_tasks(session, tasks=retasked, status="pending")
    return jobs, given_up


async def redrive_task_logs(ctx: WorkerContext, *, queue_lost: bool = False) -> dict[str, int]:
    """Re-enqueue task work whose arq job vanished (Redis flushed, worker killed).

    A fan-out that never ran is sent again; an unfinished log whose job is gone (checked once
    it is untouched for REDRIVE_AFTER, at once with `queue_lost`), or that has been running
    longer than its kind's timeout, gets the next attempt number and a new job; after
    MAX_ATTEMPTS it is finished as `error` so its batch can close.
    """
    now = utcnow()
    cutoff = now if queue_lost else now - REDRIVE_AFTER
    fan_outs = await _redrive_fan_outs(ctx, cutoff, now)
    logs, given_up = await _redrive_logs(ctx, cutoff, now)
    enqueued = await enqueue_for_kinds(ctx, [*fan_outs, *logs])
    return {
        "fan_outs": len(fan_outs),
        "logs": len(logs),
        "given_up": given_up,
        "enqueued": enqueued,
    }
