"""Processing one stored Lime delivery (`lime_webhook_event`) on the worker.

- ``.new`` applies every value; ``.update`` only the keys of ``original_values`` (which also say
  what changed); a version older than the one applied is skipped (`limecrm.apply`).
- A related object not mirrored yet (out-of-order delivery) leaves the event ``pending`` with
  the Billecta inbox's backoff; once it has waited ``LIME_RELATION_WAIT_SECONDS`` the missing
  objects are read from Lime and applied first.
- ``.delete`` is applied (Lime has already deleted the object); what the gateway would have
  refused is recorded as a conflict on the monitor. ``.restore`` re-reads the object from Lime.
- The system events (``webhook.webhook.disabled``, ``webhook.msg_dropped``) re-enable the main
  subscription and start a catch-up poll (`limecrm.subscriptions`).

Every finished event is a log in the day's "Lime webhooks" monitor batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.errors import InvalidInput
from billecta_gateway.lime.read import resolve_alias
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.apply import (
    Applied,
    StillReferenced,
    WaitForRelations,
    apply_delete,
    apply_values,
    read_from_lime,
    rest_timestamp,
)
from billecta_gateway.limecrm.connect import LimeConnector
from billecta_gateway.limecrm.errors import LimeError, LimeNotFound
from billecta_gateway.limecrm.inbox import SYSTEM_EVENTS
from billecta_gateway.models import LimeWebhookEvent
from billecta_gateway.monitor import service as monitor
from billecta_gateway.queue import AfterCommit, job_id
from billecta_gateway.webhooks.service import next_attempt_at

logger = logging.getLogger("billecta_gateway.limecrm")

PROCESS_JOB = "process_lime_webhook_event"
MONITOR_TITLE = "Lime webhooks"
MONITOR_TASK = "lime_webhooks"
UNPROCESSED = ("received", "pending")
# A retry due within this horizon gets a deferred job; later ones are left to the inbox cron.
_DEFERRED_HORIZON = timedelta(seconds=30)
_DEFERRED_MARGIN = timedelta(milliseconds=250)
_ERROR_LIMIT = 2_000


def process_job_id(event_id: int, attempts: int) -> str:
    return job_id(PROCESS_JOB, event_id, attempts)


def enqueue_processing(jobs: AfterCommit, events: Sequence[tuple[int, int]]) -> None:
    """Queue (event id, attempts) pairs for processing once the caller has committed."""
    for event_id, attempts in events:
        jobs.add(PROCESS_JOB, event_id, job_id=process_job_id(event_id, attempts))


@dataclass
class LimeOutcome:
    """What processing one delivery did; `jobs` are to be enqueued after the commit."""

    status: str
    message: str | None = None
    jobs: AfterCommit = field(default_factory=AfterCommit)
    poll: bool = False


@dataclass
class _Work:
    session: AsyncSession
    schema: LimeSchema
    settings: Settings
    lime: LimeConnector | None
    jobs: AfterCommit


async def _read_from_lime(work: _Work, limetype: str, object_id: int) -> Applied:
    """Read one object from Lime and apply it (a restore, or a missing related object)."""
    obj = await read_from_lime(work.lime, work.schema, limetype, object_id)
    return await apply_values(
        work.session,
        schema=work.schema,
        settings=work.settings,
        limetype=limetype,
        object_id=object_id,
        values=obj,
        stamp=rest_timestamp(obj, work.settings),
        jobs=work.jobs,
    )


async def _mirrored(work: _Work, limetype: str, object_id: int) -> bool:
    model = work.schema.limetypes[limetype].model
    target = await resolve_alias(work.session, limetype, object_id)
    return await work.session.scalar(select(model.id).where(model.id == target)) is not None


async def _apply_event(
    work: _Work, event: LimeWebhookEvent, *, fetch_missing: bool
) -> tuple[Applied, str]:
    """Apply one lifecycle event; answers what it did and a one-line summary."""
    assert event.limetype is not None and event.object_id is not None
    limetype, object_id = event.limetype, event.object_id
    action = event.event_type.rpartition(".")[2]
    body: dict[str, Any] = event.payload.get("body") or {}
    label = f"{event.event_type} {object_id}"
    if action == "delete":
        applied = await apply_delete(
            work.session,
            schema=work.schema,
            settings=work.settings,
            limetype=limetype,
            object_id=object_id,
            jobs=work.jobs,
        )
        if applied.status == "absent":
            return applied, f"{label}: not in the mirror, nothing to delete"
        if applied.conflicts:
            return (
                applied,
                f"{label}: deleted as Lime did, conflict: {'; '.join(applied.conflicts)}",
            )
        return applied, f"{label}: deleted"
    if action == "restore":
        applied = await _read_from_lime(work, limetype, object_id)
        return applied, f"{label}: re-read from Lime ({applied.status})"
    values: dict[str, Any] = body.get("values") or {}
    if action == "update" and await _mirrored(work, limetype, object_id):
        # Only what changed; an object the mirror lacks (its `.new` was lost) takes everything.
        original: dict[str, Any] = body.get("original_values") or {}
        values = {k: values[k] for k in original if k in values}
    for attempt in range(2):
        try:
            applied = await apply_values(
                work.session,
                schema=work.schema,
                settings=work.settings,
                limetype=limetype,
                object_id=object_id,
                values=values,
                stamp=event.lime_timestamp,
                jobs=work.jobs,
            )
            break
        except WaitForRelations as wait:
            if not fetch_missing or attempt:
                raise
            for missing in wait.missing:
                await _read_from_lime(work, missing.limetype, missing.object_id)
    if applied.status == "stale":
        return applied, f"{label}: skipped, a newer version is already applied"
    what = "created" if applied.created else ", ".join(sorted(applied.changed)) or "no change"
    return applied, f"{label}: {what}"


async def _log(
    session: AsyncSession, *, now: datetime, event: LimeWebhookEvent, ok: bool, message: str
) -> None:
    batch = await monitor.daily_batch(
        session, title=MONITOR_TITLE, task=MONITOR_TASK, day=now.date()
    )
    await monitor.add_log(
        session,
        batch_id=batch.id,
        limetype=event.limetype or "lime_webhook_event",
        object_id=event.object_id if event.object_id is not None else event.id,
        status="ok" if ok else "error",
        message=message[:_ERROR_LIMIT],
        task_id=f"lime_webhook_event:{event.id}",
    )


async def _wake_waiting(
    session: AsyncSession, *, event_id: int, now: datetime
) -> list[tuple[int, int]]:
    """Retry now the events waiting for a related object: it may just have arrived."""
    rows = await session.execute(
        update(LimeWebhookEvent)
        .where(
            LimeWebhookEvent.status == "pending",
            LimeWebhookEvent.id != event_id,
            LimeWebhookEvent.next_attempt_at > now,
        )
        .values(next_attempt_at=now, enqueued_at=now)
        .returning(LimeWebhookEvent.id, LimeWebhookEvent.attempts)
    )
    return [(int(i), int(a)) for i, a in rows]


async def process_lime_event(
    session: AsyncSession,
    *,
    event_id: int,
    now: datetime,
    settings: Settings,
    schema: LimeSchema,
    lime: LimeConnector | None,
) -> LimeOutcome:
    """Apply one stored Lime delivery; the caller commits, then flushes `jobs`.

    The event row is locked (`SKIP LOCKED`: a second worker on it returns at once); only
    `received` and due `pending` events are processed.
    """
    event = await session.scalar(
        select(LimeWebhookEvent)
        .where(LimeWebhookEvent.id == event_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if event is None:
        return LimeOutcome(status="busy")
    if event.status not in UNPROCESSED:
        return LimeOutcome(status=event.status)
    if event.status == "pending" and event.next_attempt_at and event.next_attempt_at > now:
        return LimeOutcome(status="pending")
    event.attempts += 1
    await session.flush()
    if event.event_type in SYSTEM_EVENTS:
        event.status, event.processed_at = "processed", now
        message = f"{event.event_type}: the subscriptions are checked and a catch-up poll starts"
        await _log(session, now=now, event=event, ok=True, message=message)
        return LimeOutcome(status="processed", message=message, poll=True)

    work = _Work(session, schema, settings, lime, AfterCommit())
    waited = now - event.received_at >= timedelta(seconds=settings.lime_relation_wait_seconds)
    error: str | None = None
    permanent = False
    summary = ""
    try:
        applied, summary = await _apply_event(work, event, fetch_missing=waited)
    except (WaitForRelations, StillReferenced) as exc:
        error = str(exc)
    except LimeNotFound as exc:
        # The object (or the one it refers to) is gone from Lime: nothing left to apply.
        error, permanent = f"Lime has no such object: {exc}", True
    except LimeError as exc:
        error = f"reading from Lime failed: {exc}"
    except InvalidInput as exc:
        details = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in exc.errors[:5])
        error, permanent = f"{exc.message} ({details})" if details else exc.message, True

    outcome = LimeOutcome(status="processed", jobs=work.jobs)
    if error is None:
        event.status, event.processed_at = "processed", now
        event.next_attempt_at, event.last_error = None, None
        outcome.message = summary
        conflict = bool(applied.conflicts)
        await _log(session, now=now, event=event, ok=not conflict, message=summary)
        if applied.created:
            enqueue_processing(
                outcome.jobs, await _wake_waiting(session, event_id=event.id, now=now)
            )
        return outcome
    retry_at = (
        None
        if permanent
        else next_attempt_at(received_at=event.received_at, attempts=event.attempts, now=now)
    )
    outcome.jobs = AfterCommit()
    outcome.status = "failed" if retry_at is None else "pending"
    outcome.message = error
    event.status, event.next_attempt_at, event.last_error = (
        outcome.status,
        retry_at,
        error[:_ERROR_LIMIT],
    )
    if retry_at is not None and retry_at - now <= _DEFERRED_HORIZON:
        outcome.jobs.add(
            PROCESS_JOB,
            event.id,
            job_id=job_id(PROCESS_JOB, event.id, event.attempts, "soon"),
            defer_by=(retry_at - now + _DEFERRED_MARGIN).total_seconds(),
        )
    if retry_at is None:
        await _log(
            session,
            now=now,
            event=event,
            ok=False,
            message=f"{event.event_type} {event.object_id} failed after {event.attempts} "
            f"attempts: {error}",
        )
    return outcome
