"""arq jobs and crons of the webhook inbox, the nightly retrigger/reconcile and the backfill.

- `process_webhook_event`: apply one stored event (enqueued by the receiver, the inbox cron,
  replays and the wake-up of waiting events).
- `enqueue_webhook_events` (every minute): enqueue pending events whose next attempt is due
  and stored events never enqueued; this cron, not arq's retry counter, drives the 48-hour
  retry schedule.
- `prune_webhook_events` (daily): delete processed and ignored events older than
  `WEBHOOK_RETENTION_DAYS`.
- `retrigger_failed_webhook_events` (03:00 UTC, and `POST task/billecta-retrigger-failed-webhooks`):
  one monitored job per creditor that re-drives its failed events of the last 48 hours, then
  reconciles from its watermark.
- `backfill_creditor_from_billecta` (`POST task/backfill-from-billecta`): the same reconciliation
  from a given time (or everything), as a task.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from arq import Retry
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.db import session_scope
from billecta_gateway.errors import GatewayError
from billecta_gateway.models import Creditor, IntegrationMonitorBatch, IntegrationMonitorLog
from billecta_gateway.queue import AfterCommit
from billecta_gateway.scheduled.runs import clock, log_run, recorded_run, utcnow
from billecta_gateway.tasks.contract import (
    Outcome,
    TaskContext,
    TaskFailed,
    TaskKind,
    register_kind,
    start_task,
)
from billecta_gateway.tasks.runner import run_object_task
from billecta_gateway.webhooks import inbox, service
from billecta_gateway.webhooks.reconcile import reconcile_creditor

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

logger = logging.getLogger("billecta_gateway.webhooks")

PROCESS_DB_RETRIES = 5
INBOX_CRON = "enqueue_webhook_events"
INBOX_CLAIM = 1_000
INBOX_MAX_CLAIMS = 10
PRUNE_CRON = "prune_webhook_events"
RETRIGGER_CRON = "retrigger_failed_webhook_events"

# The arq context's Redis, for handlers run through the task contract (which pass no context).
_redis: ContextVar[ArqRedis | None] = ContextVar("webhooks_redis", default=None)


async def process_webhook_event(ctx: WorkerContext, event_id: int) -> str:
    """Apply one stored webhook event through its handler; answers the event's new status.

    Idempotent: an event already processed (or being processed) is left alone. A database
    outage is retried shortly; the inbox cron re-drives the event in any case.
    """
    now = clock(ctx)
    try:
        async with session_scope(ctx["sessionmaker"]) as session:
            outcome = await service.process_event(
                session, event_id=event_id, now=now, settings=ctx["settings"]
            )
    except (OperationalError, InterfaceError, OSError) as exc:
        if ctx.get("job_try", 1) < PROCESS_DB_RETRIES:
            raise Retry(defer=30) from exc
        raise
    await outcome.jobs.flush(ctx["redis"])
    if outcome.attempted and outcome.status != "processed":
        logger.info("webhook event %s is %s: %s", event_id, outcome.status, outcome.message)
    return outcome.status


async def enqueue_webhook_events(ctx: WorkerContext) -> dict[str, int]:
    """Every minute: enqueue the inbox events that are due (retries and never-enqueued events)."""
    now = clock(ctx)
    sent = claimed = 0
    async with recorded_run(ctx["sessionmaker"], INBOX_CRON, now=now):
        for _ in range(INBOX_MAX_CLAIMS):
            jobs = AfterCommit()
            async with session_scope(ctx["sessionmaker"]) as session:
                due = await inbox.claim_due_events(session, now=now, limit=INBOX_CLAIM)
            service.enqueue_processing(jobs, due)
            claimed += len(due)
            sent += await jobs.flush(ctx["redis"])
            if len(due) < INBOX_CLAIM:
                break
        if claimed:
            async with session_scope(ctx["sessionmaker"]) as session:
                await log_run(
                    session,
                    name=INBOX_CRON,
                    now=now,
                    ok=sent == claimed,
                    message=f"{INBOX_CRON}: {claimed} due event(s), {sent} enqueued",
                )
    return {"due": claimed, "enqueued": sent}


async def prune_webhook_events(ctx: WorkerContext) -> dict[str, int]:
    """Daily: delete processed and ignored events older than WEBHOOK_RETENTION_DAYS."""
    now = clock(ctx)
    days = ctx["settings"].webhook_retention_days
    async with (
        recorded_run(ctx["sessionmaker"], PRUNE_CRON, now=now),
        session_scope(ctx["sessionmaker"]) as session,
    ):
        deleted = await inbox.prune_events(session, before=now - timedelta(days=days))
        await log_run(
            session,
            name=PRUNE_CRON,
            now=now,
            ok=True,
            message=f"{PRUNE_CRON}: {deleted} event(s) older than {days} days deleted",
        )
    return {"deleted": deleted}


# Reconciliation as tasks (DESIGN §3.5): one batch, one log and one job per creditor.


async def _reconcile(
    run: TaskContext, creditor_id: int, *, since: datetime | None, backfill: bool
) -> Outcome:
    try:
        summary, start = await reconcile_creditor(
            run.sessionmaker,
            billecta=run.billecta,
            settings=run.settings,
            redis=_redis.get(),
            creditor_id=creditor_id,
            since=since,
            now=utcnow(),
            backfill=backfill,
        )
    except LookupError as exc:
        raise TaskFailed(str(exc)) from exc
    return Outcome(ok=summary.ok, message=summary.message(start))


async def _retrigger_handler(run: TaskContext, creditor_id: int) -> Outcome:
    return await _reconcile(run, creditor_id, since=None, backfill=False)


async def _batch_since(
    sessionmaker: async_sessionmaker[AsyncSession], log_id: int | None
) -> datetime | None:
    if log_id is None:
        return None
    # A session of its own: the job's session holds no transaction open during the hour-long
    # reading (the transaction rule).
    async with sessionmaker() as session:
        raw = await session.scalar(
            select(IntegrationMonitorBatch.parameters["since"].astext)
            .join(
                IntegrationMonitorLog,
                IntegrationMonitorLog.batch_id == IntegrationMonitorBatch.id,
            )
            .where(IntegrationMonitorLog.id == log_id)
        )
    return datetime.fromisoformat(raw) if raw else None


async def _backfill_handler(run: TaskContext, creditor_id: int) -> Outcome:
    since = await _batch_since(run.sessionmaker, run.log_id)
    return await _reconcile(run, creditor_id, since=since, backfill=True)


RETRIGGER_KIND = register_kind(
    TaskKind(
        job="retrigger_failed_webhook_events_for_creditor",
        task="retrigger_failed_webhook_events",
        limetype="creditor",
        title="Retrigger failed Billecta webhooks",
        handler=_retrigger_handler,
        timeout=1_800,
        max_tries=5,
        long=True,
    )
)
BACKFILL_KIND = register_kind(
    TaskKind(
        job="backfill_creditor_from_billecta",
        task="backfill_from_billecta",
        limetype="creditor",
        title="Backfill from Billecta",
        handler=_backfill_handler,
        timeout=3_600,
        max_tries=5,
        long=True,
    )
)


async def retrigger_failed_webhook_events_for_creditor(
    ctx: WorkerContext, log_id: int, creditor_id: int
) -> str:
    """One creditor: re-drive its failed events of the last 48 hours, then reconcile it from
    its watermark (monitored; transient Billecta failures are retried)."""
    token = _redis.set(ctx["redis"])
    try:
        return await run_object_task(ctx, RETRIGGER_KIND, log_id, creditor_id)
    finally:
        _redis.reset(token)


async def backfill_creditor_from_billecta(ctx: WorkerContext, log_id: int, creditor_id: int) -> str:
    """One creditor: apply its Billecta invoices and payments since the task's `since`."""
    token = _redis.set(ctx["redis"])
    try:
        return await run_object_task(ctx, BACKFILL_KIND, log_id, creditor_id)
    finally:
        _redis.reset(token)


async def creditors_in_billecta(session: AsyncSession) -> list[int]:
    """Ids of the creditors that have a Billecta id."""
    rows = await session.scalars(
        select(Creditor.id).where(Creditor.creditorpublicid.is_not(None)).order_by(Creditor.id)
    )
    return [int(i) for i in rows]


class RetriggerNotStarted(GatewayError):
    """The spec's answer when the retrigger task cannot start: 500 with its own sentence."""

    status_code = 500
    default_message = "Error starting retrigger task"


async def start_retrigger(
    session: AsyncSession, *, jobs: AfterCommit, title: str | None, created_by: str | None
) -> int:
    """Start the retrigger task over every creditor in Billecta; answers the batch id.

    RetriggerNotStarted (the spec's 500) when no creditor has a `creditorpublicid`.
    """
    creditors = await creditors_in_billecta(session)
    if not creditors:
        raise RetriggerNotStarted()
    return await start_task(
        session,
        kind=RETRIGGER_KIND,
        title=title,
        created_by=created_by,
        object_ids=creditors,
        jobs=jobs,
    )


async def start_backfill(
    session: AsyncSession,
    *,
    jobs: AfterCommit,
    creditor_id: int,
    since: datetime | None,
    title: str | None,
    created_by: str | None,
) -> int:
    """Start a backfill task for one creditor; answers the batch id."""
    parameters: dict[str, Any] = {"since": since.isoformat() if since else None}
    return await start_task(
        session,
        kind=BACKFILL_KIND,
        title=title,
        created_by=created_by,
        object_ids=[creditor_id],
        jobs=jobs,
        parameters=parameters,
    )


async def retrigger_failed_webhook_events(ctx: WorkerContext) -> dict[str, int | None]:
    """03:00 UTC: start the retrigger task (one job per creditor; see the module docstring)."""
    now = clock(ctx)
    jobs = AfterCommit()
    batch_id: int | None = None
    async with recorded_run(ctx["sessionmaker"], RETRIGGER_CRON, now=now):
        async with session_scope(ctx["sessionmaker"]) as session:
            try:
                batch_id = await start_retrigger(session, jobs=jobs, title=None, created_by=None)
            except RetriggerNotStarted:
                await log_run(
                    session,
                    name=RETRIGGER_CRON,
                    now=now,
                    ok=True,
                    message=f"{RETRIGGER_CRON}: no creditor has a creditorpublicid",
                )
        await jobs.flush(ctx["redis"])
    return {"integration_monitor_batch_id": batch_id}
