"""The task contract of DESIGN §3.5, shared by every `/task/...` endpoint.

A task is one integration-monitor batch over objects of one limetype, one log and one arq job
per object:

1. The endpoint resolves its query filter to ids (`resolve_object_ids`: a 422 naming the
   limetype when nothing matches, and no batch) and calls `start_task`, which inserts the batch
   (the ids kept in its `parameters`) and adds one `fan_out_task` job to the caller's
   `AfterCommit`. The route commits, enqueues and answers `TaskStarted` at once.
2. `fan_out_task` (tasks.fanout) creates one `pending` log per object in chunked INSERTs and
   enqueues one per-object job each, with the deterministic id `<job>:<batch>:<object>:<attempt>`.
3. The per-object job calls `run_object_task` (tasks.runner) under the transaction rule: the
   object's lock is a session-level lock on the job's own connection, the log goes `running`
   in a short transaction of its own, the kind's handler runs, and the object's new state and
   its finished log commit together; the last log to finish closes the batch. When the
   object's `sync_counter` moved while a `follow_up` kind ran, a follow-up log joins the batch.
4. `redrive_task_logs` (cron) re-enqueues unfinished logs whose job vanished from Redis, or
   whose worker died (running past the kind's timeout), with the next attempt number, so a
   lost Redis or a killed worker only delays work.

To add a task (e.g. a backfill from Billecta): write a handler
`async def handler(run: TaskContext, object_id: int) -> Outcome`, declare
`KIND = register_kind(TaskKind(job="backfill_creditor", task="backfill_from_billecta", ...))`,
write the arq job `async def backfill_creditor(ctx, log_id, object_id)` that returns
`await run_object_task(ctx, KIND, log_id, object_id)`, list it with `worker_function(KIND, ...)`
in worker.py, and call `start_task` from the route. Handlers raise `TaskFailed` for a permanent
problem of the whole object, return `Outcome(ok=False, message=...)` when they recorded a
partial failure themselves, and let transient Billecta errors propagate: the runner turns them
into `arq.Retry` with backoff, and records them as failures on the final try.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.config import Settings
from billecta_gateway.errors import InvalidInput
from billecta_gateway.lime.mappings import FieldMappings, field_mappings_for
from billecta_gateway.lime.query_filter import ID_KEY, build_filter
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.models import IntegrationMonitorBatch, IntegrationMonitorLog
from billecta_gateway.monitor import service as monitor
from billecta_gateway.queue import AfterCommit, job_id
from billecta_gateway.tasks.locks import advisory_lock, lock_key, session_lock

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

FAN_OUT_JOB = "fan_out_task"
# More objects than this in one request is almost certainly a filter mistake.
MAX_TASK_OBJECTS = 100_000
ON_CHANGE_SUFFIX = " (on change)"


class TaskFailed(Exception):
    """A permanent failure of the whole object; the message is recorded on its log."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Outcome:
    """What a handler did: `ok` when every creditor relation synced, else a message listing why."""

    ok: bool
    message: str | None = None

    @classmethod
    def from_problems(cls, problems: Sequence[str], done: str | None = None) -> Outcome:
        """`ok` without problems, else an error whose message joins them."""
        if problems:
            return cls(ok=False, message="; ".join(problems))
        return cls(ok=True, message=done)


@dataclass
class TaskContext:
    """What a handler gets: its session (one transaction, committed by the runner), the Billecta
    client, settings, schema, mappings and where in its retries the job is."""

    session: AsyncSession
    sessionmaker: async_sessionmaker[AsyncSession]
    billecta: BillectaClient
    settings: Settings
    schema: LimeSchema
    mappings: FieldMappings
    job_try: int = 1
    attempt: int = 1
    final_try: bool = False
    log_id: int | None = None
    # Set by a handler doing several steps, so a failure is recorded against the right one.
    phase: str = ""
    # The advisory lock the runner took with the log (`lock_key` of the kind's `lock`).
    held_lock: str | None = None
    # The object's sync_counter when the job started: what the handler sends reflects at
    # least this change.
    counter: int | None = None

    async def lock(self, namespace: str, object_id: int) -> None:
        """Hold the advisory lock on (namespace, object_id) until the job ends, across its
        commits (a session-level lock on the job's pinned connection); free when the runner
        already took it."""
        key = lock_key(namespace, object_id)
        if key != self.held_lock:
            await session_lock(self.session, key)


Handler = Callable[[TaskContext, int], Awaitable[Outcome]]
FailureRecorder = Callable[[AsyncSession, int, str, str], Awaitable[None]]


@dataclass(frozen=True)
class TaskKind:
    """One kind of per-object background work.

    `job` is the arq function name (and the first part of every job id), `task` the batch's
    task name, `title` the default batch title. `on_failure(session, object_id, message, phase)`
    writes a failure the handler could not record itself (its retries ran out, an unexpected
    error) on the object, e.g. its `billecta_error_message`. `lock` is the advisory-lock
    namespace the handler locks its object with first (`run.lock(lock, object_id)`): the runner
    then takes that lock in the statement that starts the log, one round trip fewer.
    """

    job: str
    task: str
    limetype: str
    title: str
    handler: Handler
    on_failure: FailureRecorder | None = None
    timeout: float = 90.0
    max_tries: int = 5
    lock: str | None = None

    # Runs on the long-job queue and worker (backfill, reconciliation), not the object queue.
    long: bool = False
    # A sync of the object's state (upsert): when the object changed while the job ran (its
    # sync_counter moved), the job queues a follow-up. Not for actions (delete, credit,
    # attest), which a later change does not ask to repeat.
    follow_up: bool = False

    def timeout_for(self, settings: Settings) -> float:
        """arq's timeout of the kind's job: its own, or `TASK_TIMEOUT_SECONDS` when set (for
        per-object jobs; long jobs keep theirs)."""
        if self.long:
            return self.timeout
        return settings.task_timeout_seconds or self.timeout

    def budget_for(self, settings: Settings) -> float:
        """Seconds the handler may take: short of arq's timeout, so a slow job is retried (and
        recorded on its final try) instead of being killed with its log left `running`."""
        timeout = self.timeout_for(settings)
        return max(1.0, timeout - min(15.0, timeout / 4))

    def queue_for(self, settings: Settings) -> str:
        """The arq queue the kind's jobs are sent to."""
        return settings.arq_long_queue_name if self.long else settings.arq_queue_name


KINDS: dict[str, TaskKind] = {}


def register_kind(kind: TaskKind) -> TaskKind:
    """Make a kind known to the fan-out and the re-drive cron (by its batch task name)."""
    existing = KINDS.get(kind.task)
    if existing is not None and existing.job != kind.job:
        raise ValueError(f"task {kind.task} is already registered for job {existing.job}")
    KINDS[kind.task] = kind
    return kind


def kind_for_task(task: str) -> TaskKind | None:
    return KINDS.get(task)


def object_job_id(kind: TaskKind, batch_id: int, object_id: int, attempt: int) -> str:
    """The deterministic id of one object's job in a batch, e.g. `upsert_debtor:412:1001:1`."""
    return job_id(kind.job, batch_id, object_id, attempt)


def on_change_lock(kind: TaskKind) -> str:
    """The lock namespace serialising "queue a sync of this object" with the start of its job."""
    return f"on-change:{kind.job}"


def fan_out_job_id(batch_id: int, attempt: int) -> str:
    return job_id(FAN_OUT_JOB, batch_id, attempt)


# Resources of a job context


_SCHEMAS: dict[str | None, LimeSchema] = {}


def schema_for(settings: Settings) -> LimeSchema:
    """The LimeSchema of these settings, loaded once per process."""
    key = str(settings.lime_schema_file) if settings.lime_schema_file else None
    if key not in _SCHEMAS:
        _SCHEMAS[key] = LimeSchema.load(settings.lime_schema_file)
    return _SCHEMAS[key]


def context_resources(ctx: WorkerContext | dict[str, Any]) -> tuple[LimeSchema, FieldMappings]:
    """The schema and mappings of a job: the worker's (`lime_schema`, `field_mappings` in its
    context) or loaded once from its settings."""
    data: dict[str, Any] = dict(ctx)
    schema = data.get("lime_schema") or schema_for(data["settings"])
    mappings = data.get("field_mappings") or field_mappings_for(data["settings"], schema)
    return schema, mappings


# Starting a task


@dataclass(frozen=True)
class ResolvedIds:
    """The ids a query filter matched, and the ids it named explicitly that do not exist."""

    found: list[int]
    missing: list[int]


def _named_ids(query_filter: Any) -> list[int] | None:
    """The ids of a top-level `_id` leaf (`=` or `IN`), which the frontend sends for a
    selection; None for any other filter."""
    if not isinstance(query_filter, dict) or query_filter.get("key") != ID_KEY:
        return None
    op, exp = query_filter.get("op"), query_filter.get("exp")
    values = exp if op == "IN" and isinstance(exp, list) else [exp] if op == "=" else None
    if values is None:
        return None
    ids: list[int] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | str):
            return None
        try:
            ids.append(int(value))
        except ValueError:
            return None
    return ids


def _no_match(limetype: str, message: str, kind: str = "no_match") -> InvalidInput:
    return InvalidInput(
        message,
        errors=[
            {
                "loc": ["body", "query_filter"],
                "field": "query_filter",
                "message": message,
                "type": kind,
            }
        ],
    )


async def resolve_object_ids(
    session: AsyncSession, *, schema: LimeSchema, limetype: str, query_filter: Any
) -> ResolvedIds:
    """The ids of `limetype` matching a Lime query filter, in id order.

    An invalid filter (unknown key or op) is a 422 naming the key; a filter that matches
    nothing is a 422 naming the limetype, so no empty batch is ever created.
    """
    condition = build_filter(schema, limetype, query_filter, location="query_filter")
    spec = schema.get(limetype)
    assert spec is not None
    stmt = select(spec.model.id).where(condition).order_by(spec.model.id)
    found = [int(i) for i in (await session.scalars(stmt.limit(MAX_TASK_OBJECTS + 1))).all()]
    if len(found) > MAX_TASK_OBJECTS:
        raise _no_match(
            limetype,
            f"The query filter matches more than {MAX_TASK_OBJECTS} {limetype} objects; "
            "split the selection",
            "too_many",
        )
    named = _named_ids(query_filter)
    missing: list[int] = []
    if named is not None:
        present = set(found)
        missing = sorted({i for i in named if i not in present})
    if not found:
        detail = f" (no {limetype} with id {', '.join(map(str, missing[:20]))})" if missing else ""
        raise _no_match(limetype, f"No {limetype} matches the query filter{detail}")
    return ResolvedIds(found=found, missing=missing)


async def start_task(
    session: AsyncSession,
    *,
    kind: TaskKind,
    title: str | None,
    created_by: str | None,
    object_ids: Sequence[int],
    jobs: AfterCommit,
    missing_ids: Sequence[int] = (),
    parameters: dict[str, Any] | None = None,
) -> int:
    """Create the task's batch and queue its fan-out job (after commit); answers the batch id.

    One INSERT whatever the number of objects: the logs are the fan-out job's work, so the
    request answers at once.
    """
    if not object_ids:
        raise _no_match(kind.limetype, f"No {kind.limetype} to process")
    params: dict[str, Any] = {
        **(parameters or {}),
        "limetype": kind.limetype,
        "object_ids": list(object_ids),
        "fan_out_attempt": 1,
    }
    if missing_ids:
        params["missing_ids"] = list(missing_ids)
    batch = await monitor.create_batch(
        session,
        title=(title or "").strip() or kind.title,
        task=kind.task,
        created_by=created_by,
        parameters=params,
    )
    jobs.add(FAN_OUT_JOB, batch.id, job_id=fan_out_job_id(batch.id, 1))
    return batch.id


# Decorator behaviour (SYNC_ON_CHANGE)


async def enqueue_on_change(
    session: AsyncSession,
    jobs: AfterCommit,
    *,
    kind: TaskKind,
    object_id: int,
    counted: bool = False,
    today: date | None = None,
) -> int | None:
    """Log and queue one sync of an object changed through ingestion (the spec's decorators).

    The log goes into today's "<title> (on change)" batch of the kind; the job is enqueued
    after the caller commits. No second sync is queued when the kind already has one waiting
    to start for the object (it reads the latest state: its start waits for this request on
    the on-change lock), nor, for a `counted` change (one that moved the object's
    sync_counter), when one of a `follow_up` kind is running: that job sees the counter move
    and queues its own follow-up. Answers the new log's id, or None.
    """
    await advisory_lock(session, on_change_lock(kind), object_id)
    Log, Batch = IntegrationMonitorLog, IntegrationMonitorBatch
    waiting = ("pending", "running") if counted and kind.follow_up else ("pending",)
    busy = await session.scalar(
        select(Log.id)
        .join(Batch, Batch.id == Log.batch_id)
        .where(
            Log.limetype == kind.limetype,
            Log.object_id == object_id,
            Log.status.in_(waiting),
            Batch.task == kind.task,
        )
        .limit(1)
    )
    if busy is not None:
        return None
    day = today or datetime.now(UTC).date()
    title = kind.title + ON_CHANGE_SUFFIX
    batch_id = await session.scalar(
        select(Batch.id)
        .where(
            Batch.title == title,
            Batch.task == kind.task,
            Batch.parameters[monitor.DAILY_KEY].astext == day.isoformat(),
        )
        .order_by(Batch.id)
        .limit(1)
    )
    if batch_id is None:
        batch_id = (await monitor.daily_batch(session, title=title, task=kind.task, day=day)).id
    # A new attempt number per sync keeps job ids unique within the day's batch.
    attempt = 1 + int(
        await session.scalar(
            select(func.coalesce(func.max(Log.attempt), 0)).where(
                Log.batch_id == batch_id, Log.limetype == kind.limetype, Log.object_id == object_id
            )
        )
        or 0
    )
    task_id = object_job_id(kind, batch_id, object_id, attempt)
    log_id = await monitor.add_log(
        session,
        batch_id=batch_id,
        limetype=kind.limetype,
        object_id=object_id,
        status="pending",
        task_id=task_id,
    )
    await monitor.set_log_task(session, log_id=log_id, task_id=task_id, attempt=attempt)
    jobs.add(kind.job, log_id, object_id, job_id=task_id)
    return log_id
