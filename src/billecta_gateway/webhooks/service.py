"""The webhook inbox: intake, and the processing of one stored event with its retries.

Every authenticated delivery becomes one `webhook_event` row (unique dedupe key), whatever its
type. Processing runs in the worker: the registry's handler writes and the event's `processed`
mark commit in one transaction. A handler that cannot proceed yet leaves the event `pending`
with a persisted `next_attempt_at`; retries follow `retry_delay` for at least
`RETRY_WINDOW` (48 hours) after receipt, driven from Postgres by the inbox cron, and the event
is then `failed` with its reason, visible and replayable (`webhooks.inbox`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import TextClause, select, text, update
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.models import WebhookEvent, WebhookEventObject
from billecta_gateway.monitor import service as monitor
from billecta_gateway.queue import AfterCommit, job_id
from billecta_gateway.webhooks import handlers as _handlers  # noqa: F401 - registers handlers
from billecta_gateway.webhooks.envelope import ParsedEvent, stored_additional_data, stored_data
from billecta_gateway.webhooks.registry import HandlerContext, NotReady, registry

logger = logging.getLogger("billecta_gateway.webhooks")

PROCESS_JOB = "process_webhook_event"
MONITOR_TITLE = "Billecta webhooks"
MONITOR_TASK = "billecta_webhooks"
# Retries of an event that cannot be applied yet: 3 s, then 1, 2, 4 ... minutes, at most 6 hours
# apart, until 48 hours after receipt; the last attempt happens at the 48-hour mark.
RETRY_WINDOW = timedelta(hours=48)
# The first retry comes soon, on a deferred job of its own rather than the minute cron: the
# object an event waits for is most often being written by an event processed at the same
# moment, whose wake-up (`_wake_waiting`) ran before this event was recorded `pending`.
QUICK_RETRY = timedelta(seconds=3)
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
# A retry due within this horizon gets a deferred job; later ones are left to the cron.
_DEFERRED_RETRY_HORIZON = timedelta(seconds=30)
# A deferred job runs this much after the retry is due, so it never finds the event early.
_DEFERRED_RETRY_MARGIN = timedelta(milliseconds=250)
# An event enqueued this long ago and still not processed is enqueued again (same job id, so a
# message still waiting in Redis is not duplicated).
REDRIVE_AFTER = timedelta(minutes=5)
UNPROCESSED = ("received", "pending")
_ERROR_LIMIT = 2_000


def utcnow() -> datetime:
    return datetime.now(UTC)


def retry_delay(attempts: int) -> timedelta:
    """The pause after the `attempts`-th failed attempt: 3 s after the first, then 1 min
    doubling, capped at 6 hours."""
    if attempts <= 1:
        return QUICK_RETRY
    delay: timedelta = FIRST_RETRY * 2 ** (attempts - 2)
    return min(delay, MAX_RETRY)


def next_attempt_at(*, received_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """When to try again, or None when the retry window is over (the event then fails)."""
    deadline = received_at + RETRY_WINDOW
    if now >= deadline:
        return None
    return min(now + retry_delay(attempts), deadline)


def process_job_id(event_id: int, attempts: int) -> str:
    """One job id per attempt: re-enqueueing a waiting attempt is a no-op in arq, and the next
    attempt gets a fresh id (arq refuses an id whose result it still keeps)."""
    return job_id(PROCESS_JOB, event_id, attempts)


def quick_retry_job_id(event_id: int, attempts: int) -> str:
    """The deferred job of a quick retry: an id of its own, so a wake-up or the cron enqueueing
    the same attempt meanwhile is not swallowed by it (whichever runs second finds the event
    processed and changes nothing)."""
    return job_id(PROCESS_JOB, event_id, attempts, "soon")


def enqueue_processing(jobs: AfterCommit, events: Sequence[tuple[int, int]]) -> None:
    """Queue (event id, attempts) pairs for processing once the caller has committed."""
    for event_id, attempts in events:
        jobs.add(PROCESS_JOB, event_id, job_id=process_job_id(event_id, attempts))


# Intake


@dataclass(frozen=True, slots=True)
class Stored:
    """The inbox row of a delivery: `duplicate` when an earlier delivery stored it."""

    id: int
    status: str
    attempts: int
    duplicate: bool

    @property
    def answer(self) -> str:
        """`accepted`, `duplicate` or `ignored`: the receiver's answer to Billecta."""
        if self.duplicate:
            return "duplicate"
        return "ignored" if self.status == "ignored" else "accepted"


# One statement stores a delivery: the receiver runs it on the driver (`webhooks.intake`),
# reconciliation inside its session; both bind the same parameters (`_insert_params`).
_INSERT = text(
    "INSERT INTO webhook_event (dedupe_key, event_id, event_type, creditorpublicid, created, "
    "payload, status, enqueued_at) "
    "VALUES (:dedupe_key, :event_id, :event_type, :creditorpublicid, :created, "
    "CAST(:payload AS jsonb), :status, CASE WHEN :supported THEN now() END) "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, status"
)
_EXISTING = text("SELECT id, status, attempts FROM webhook_event WHERE dedupe_key = :dedupe_key")
_NOT_ENQUEUED = text(
    "UPDATE webhook_event SET enqueued_at = NULL "
    "WHERE id = :event_id AND status IN ('received', 'pending')"
)


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled once for asyncpg: `$n` placeholders and the names they bind."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, statement: TextClause) -> DriverStatement:
        compiled = statement.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]
        return cls(sql=compiled.string, names=tuple(compiled.positiontup or ()))

    def args(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


INSERT_ON_DRIVER = DriverStatement.of(_INSERT)
EXISTING_ON_DRIVER = DriverStatement.of(_EXISTING)
NOT_ENQUEUED_ON_DRIVER = DriverStatement.of(_NOT_ENQUEUED)


def insert_params(parsed: ParsedEvent) -> dict[str, Any]:
    """The inbox row of a delivery: `received` (and marked enqueued: the caller enqueues it
    right after the commit) when its type is supported, `ignored` otherwise."""
    envelope = parsed.envelope
    supported = envelope.event in registry
    return {
        "dedupe_key": parsed.dedupe_key,
        "event_id": envelope.event_id[:128] if envelope.event_id else None,
        "event_type": envelope.event[:128],
        "creditorpublicid": parsed.creditor_public_id,
        "created": envelope.event_date,
        "payload": parsed.text
        if parsed.text is not None
        else json.dumps(parsed.body, ensure_ascii=False),
        "status": "received" if supported else "ignored",
        "supported": supported,
    }


def stored_row(row: Any, *, duplicate: bool) -> Stored:
    """A `Stored` from an inserted row (id, status) or an existing one (id, status, attempts)."""
    attempts = int(row["attempts"]) if duplicate else 0
    return Stored(
        id=int(row["id"]), status=str(row["status"]), attempts=attempts, duplicate=duplicate
    )


async def store_event(session: AsyncSession, parsed: ParsedEvent) -> Stored:
    """Insert a delivery into the inbox under its dedupe key, in the session's transaction."""
    params = insert_params(parsed)
    row = (await session.execute(_INSERT, params)).mappings().first()
    if row is not None:
        return stored_row(row, duplicate=False)
    existing = (await session.execute(_EXISTING, params)).mappings().one()
    return stored_row(existing, duplicate=True)


# Processing


@dataclass
class Outcome:
    """What processing one event did; `jobs` are to be enqueued after the commit."""

    status: str
    attempted: bool = False
    message: str | None = None
    jobs: AfterCommit = field(default_factory=AfterCommit)


def _describe(exc: Exception) -> str:
    if isinstance(exc, NotReady):
        return str(exc)
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'Data'}: {err['msg']}"
            for err in exc.errors(include_input=False)[:5]
        )
        return f"The event's Data is not a valid payload: {problems}"
    # The exception's text may quote personal data (a database error echoes the values it
    # refused): the inbox keeps its type only; the traceback went to the logs.
    return f"Unexpected error ({type(exc).__name__}) in the handler; see the worker's log"


async def _log(
    session: AsyncSession,
    *,
    now: datetime,
    event_id: int,
    touched: Sequence[tuple[str, int]],
    ok: bool,
    message: str,
) -> None:
    """One log in the day's "Billecta webhooks" batch (last, as it takes the batch's lock)."""
    batch = await monitor.daily_batch(
        session, title=MONITOR_TITLE, task=MONITOR_TASK, day=now.date()
    )
    limetype, object_id = touched[0] if touched else ("webhook_event", event_id)
    await monitor.add_log(
        session,
        batch_id=batch.id,
        limetype=limetype,
        object_id=object_id,
        status="ok" if ok else "error",
        message=message[:_ERROR_LIMIT],
        task_id=f"webhook_event:{event_id}",
    )


async def _record_objects(
    session: AsyncSession, event_id: int, touched: Sequence[tuple[str, int]]
) -> None:
    if touched:
        await session.execute(
            pg_insert(WebhookEventObject)
            .values([{"event_id": event_id, "limetype": t, "object_id": i} for t, i in touched])
            .on_conflict_do_nothing()
        )


async def _wake_waiting(
    session: AsyncSession, *, event_id: int, creditorpublicid: str | None, now: datetime
) -> list[tuple[int, int]]:
    """Retry now the creditor's waiting events: the object one of them needs may now exist."""
    if not creditorpublicid:
        return []
    rows = await session.execute(
        update(WebhookEvent)
        .where(
            WebhookEvent.status == "pending",
            WebhookEvent.creditorpublicid == creditorpublicid,
            WebhookEvent.id != event_id,
            WebhookEvent.next_attempt_at > now,
        )
        .values(next_attempt_at=now, enqueued_at=now)
        .returning(WebhookEvent.id, WebhookEvent.attempts)
    )
    return [(int(i), int(a)) for i, a in rows]


async def process_event(
    session: AsyncSession, *, event_id: int, now: datetime, settings: Settings
) -> Outcome:
    """Apply one stored event through its handler; the caller commits, then flushes `jobs`.

    Idempotent and safe under concurrency: the event row is locked (`SKIP LOCKED`, so a second
    worker on the same event returns at once), and only `received` or due `pending` events are
    processed. The handler runs in a savepoint: on failure its writes are undone while the
    attempt is still recorded.
    """
    event = await session.scalar(
        select(WebhookEvent)
        .where(WebhookEvent.id == event_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if event is None:
        return Outcome(status="busy")
    if event.status not in UNPROCESSED:
        return Outcome(status=event.status)
    if event.status == "pending" and event.next_attempt_at and event.next_attempt_at > now:
        return Outcome(status="pending")
    registration = registry.get(event.event_type)
    if registration is None:
        event.status = "ignored"
        return Outcome(status="ignored")

    attempts = event.attempts + 1
    received_at, creditorpublicid = event.received_at, event.creditorpublicid
    payload: dict[str, Any] = event.payload if isinstance(event.payload, dict) else {}
    ctx = HandlerContext(
        session=session,
        event_id=event_id,
        event_type=event.event_type,
        created=event.created or received_at,
        creditor_public_id=creditorpublicid,
        additional_data=stored_additional_data(payload),
        now=now,
        settings=settings,
    )
    event.attempts = attempts
    await session.flush()
    permanent = False
    error: Exception | None = None
    try:
        content = registration.parse(stored_data(payload))
    except ValidationError as exc:
        error, permanent = exc, True
    else:
        try:
            async with session.begin_nested():
                await registration.handler(ctx, content)
        except NotReady as exc:
            error = exc
        except Exception as exc:
            logger.exception("webhook event %s (%s) failed", event_id, ctx.event_type)
            error = exc

    outcome = Outcome(status="processed", attempted=True, jobs=ctx.jobs)
    values: dict[str, Any]
    if error is None:
        label = f"{ctx.event_type} {event_id}"
        outcome.message = f"{label}: {ctx.summary}" if ctx.summary else f"{label}: processed"
        values = {
            "status": "processed",
            "processed_at": now,
            "next_attempt_at": None,
            "last_error": None,
        }
        await _record_objects(session, event_id, ctx.touched)
        if ctx.created_objects:
            enqueue_processing(
                outcome.jobs,
                await _wake_waiting(
                    session, event_id=event_id, creditorpublicid=creditorpublicid, now=now
                ),
            )
    else:
        message = _describe(error)
        retry_at = (
            None
            if permanent
            else next_attempt_at(received_at=received_at, attempts=attempts, now=now)
        )
        outcome.status = "failed" if retry_at is None else "pending"
        outcome.message = message
        outcome.jobs = AfterCommit()
        if retry_at is not None and retry_at - now <= _DEFERRED_RETRY_HORIZON:
            outcome.jobs.add(
                PROCESS_JOB,
                event_id,
                job_id=quick_retry_job_id(event_id, attempts),
                defer_by=(retry_at - now + _DEFERRED_RETRY_MARGIN).total_seconds(),
            )
        values = {"status": outcome.status, "next_attempt_at": retry_at, "last_error": message}
    await session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(**values))
    if outcome.status in ("processed", "failed"):
        await _log(
            session,
            now=now,
            event_id=event_id,
            touched=ctx.touched,
            ok=outcome.status == "processed",
            message=outcome.message
            if outcome.status == "processed"
            else f"{ctx.event_type} {event_id} failed after {attempts} attempts: {outcome.message}",
        )
    return outcome
