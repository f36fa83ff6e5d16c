"""arq jobs and crons of the Lime connector's incoming side, for `worker.py` to list.

- `process_lime_webhook_event`: apply one stored Lime delivery (queued by the receiver, the
  Lime inbox cron and the wake-up of waiting events).
- `enqueue_lime_webhook_events` (every minute): due retries and deliveries never queued.
- `poll_lime_changes` (every ``LIME_POLL_INTERVAL_MINUTES``, and after a system event): the
  catch-up poll of every mirrored limetype.
- `compare_lime_ids` (nightly): deletes polling cannot see.
- `ensure_lime_subscriptions` (every 10 minutes, and after a system event): re-enable what Lime
  disabled, recorded on the monitor.
- `prune_lime_webhook_events` (daily): processed, ignored and invalid deliveries older than
  `WEBHOOK_RETENTION_DAYS`.

Each does nothing while the connector is off (LIME_BASE_URL unset).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from arq import Retry, cron
from arq.cron import CronJob
from arq.worker import Function, func
from sqlalchemy.exc import InterfaceError, OperationalError

from billecta_gateway.db import session_scope
from billecta_gateway.limecrm import poll, processing, subscriptions
from billecta_gateway.limecrm.connect import LimeConnector
from billecta_gateway.limecrm.errors import LimeError
from billecta_gateway.models import LimeWebhookEvent
from billecta_gateway.queue import AfterCommit, job_id
from billecta_gateway.scheduled.runs import clock, log_run, recorded_run
from billecta_gateway.webhooks.inbox import claim_due_events, prune_events

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

logger = logging.getLogger("billecta_gateway.limecrm")

PROCESS_DB_RETRIES = 5
INBOX_CRON = "enqueue_lime_webhook_events"
POLL_CRON = "poll_lime_changes"
COMPARE_CRON = "compare_lime_ids"
ENABLE_CRON = "ensure_lime_subscriptions"
POLL_JOB = "poll_lime_changes"
ENABLE_JOB = "ensure_lime_subscriptions"
PRUNE_CRON = "prune_lime_webhook_events"


def lime_of(ctx: WorkerContext | Mapping[str, Any]) -> LimeConnector | None:
    """The worker's Lime connector (None while the connector is off)."""
    return cast(Mapping[str, Any], ctx).get("lime")


async def process_lime_webhook_event(ctx: WorkerContext, event_id: int) -> str:
    """Apply one stored Lime delivery through ingestion; answers the event's new status."""
    now = clock(ctx)
    try:
        async with session_scope(ctx["sessionmaker"]) as session:
            outcome = await processing.process_lime_event(
                session,
                event_id=event_id,
                now=now,
                settings=ctx["settings"],
                schema=ctx["lime_schema"],
                lime=lime_of(ctx),
            )
    except (OperationalError, InterfaceError, OSError) as exc:
        if ctx.get("job_try", 1) < PROCESS_DB_RETRIES:
            raise Retry(defer=30) from exc
        raise
    if outcome.poll:
        minute = now.replace(second=0, microsecond=0).isoformat()
        outcome.jobs.add(ENABLE_JOB, job_id=job_id(ENABLE_JOB, "event", minute))
        outcome.jobs.add(
            POLL_JOB,
            job_id=job_id(POLL_JOB, "event", minute),
            queue_name=ctx["settings"].arq_long_queue_name,
        )
    await outcome.jobs.flush(ctx["redis"])
    if outcome.status not in ("processed", "busy"):
        logger.info("lime webhook event %s is %s: %s", event_id, outcome.status, outcome.message)
    return outcome.status


async def enqueue_lime_webhook_events(ctx: WorkerContext) -> dict[str, int]:
    """Every minute: queue the Lime inbox's due retries and deliveries never queued."""
    now = clock(ctx)
    async with session_scope(ctx["sessionmaker"]) as session:
        due = await claim_due_events(session, now=now, model=LimeWebhookEvent)
    jobs = AfterCommit()
    processing.enqueue_processing(jobs, due)
    return {"due": len(due), "enqueued": await jobs.flush(ctx["redis"])}


async def poll_lime_changes(ctx: WorkerContext) -> dict[str, int]:
    """The catch-up poll: every mirrored limetype's changes since its mark, into the mirror."""
    lime = lime_of(ctx)
    if lime is None:
        return {}
    now = clock(ctx)
    counts: dict[str, int] = {}
    async with recorded_run(ctx["sessionmaker"], POLL_CRON, now=now):
        for limetype in ctx["lime_schema"].limetypes:
            jobs = AfterCommit()
            try:
                summary = await poll.poll_limetype(
                    ctx["sessionmaker"],
                    lime=lime,
                    schema=ctx["lime_schema"],
                    settings=ctx["settings"],
                    limetype=limetype,
                    now=now,
                    jobs=jobs,
                )
            except LimeError as exc:
                # One limetype Lime refuses (or an outage) must not stop the others.
                await poll.record_poll_error(ctx["sessionmaker"], limetype, now=now, error=str(exc))
                counts[limetype] = -1
                continue
            finally:
                await jobs.flush(ctx["redis"])
            counts[limetype] = summary.applied
    return counts


async def compare_lime_ids(ctx: WorkerContext) -> dict[str, int]:
    """Nightly: apply as deletes the mirrored objects Lime no longer has (children first)."""
    lime = lime_of(ctx)
    if lime is None:
        return {}
    now = clock(ctx)
    deleted: dict[str, int] = {}
    async with recorded_run(ctx["sessionmaker"], COMPARE_CRON, now=now):
        for limetype in reversed(list(ctx["lime_schema"].limetypes)):
            jobs = AfterCommit()
            summary = await poll.compare_ids(
                ctx["sessionmaker"],
                lime=lime,
                schema=ctx["lime_schema"],
                settings=ctx["settings"],
                limetype=limetype,
                now=now,
                jobs=jobs,
            )
            await jobs.flush(ctx["redis"])
            deleted[limetype] = len(summary.deleted)
    return deleted


async def ensure_lime_subscriptions(ctx: WorkerContext) -> list[str]:
    """Re-enable the gateway's subscriptions Lime disabled, and record that it did."""
    lime = lime_of(ctx)
    if lime is None or not ctx["settings"].public_base_url:
        return []
    now = clock(ctx)
    try:
        states = await subscriptions.ensure_enabled(lime.client, ctx["settings"])
    except LimeError as exc:
        logger.warning("could not check the Lime subscriptions: %s", exc)
        return []
    changed = [s for s in states if s.action in ("re-enabled", "missing")]
    if changed:
        async with session_scope(ctx["sessionmaker"]) as session:
            await log_run(
                session,
                name=ENABLE_CRON,
                now=now,
                ok=all(s.action == "re-enabled" for s in changed),
                message="; ".join(f"Lime subscription {s.name}: {s.action}" for s in changed),
            )
    return [f"{s.name}:{s.action}" for s in states]


async def prune_lime_webhook_events(ctx: WorkerContext) -> dict[str, int]:
    """Daily: delete processed, ignored and invalid Lime deliveries past the retention."""
    now = clock(ctx)
    days = ctx["settings"].webhook_retention_days
    async with session_scope(ctx["sessionmaker"]) as session:
        deleted = await prune_events(
            session,
            before=now - timedelta(days=days),
            model=LimeWebhookEvent,
            statuses=("processed", "ignored", "invalid"),
        )
    return {"deleted": deleted}


def _f(job: Any, **options: Any) -> Function:
    return func(job, **options)


# Per-delivery work runs beside the per-object sync jobs; the poll, the id comparison and the
# prune run long and go on the long-job worker, so the object worker's in-progress lifetime in
# arq stays short (see worker.py).
LIME_OBJECT_FUNCTIONS: list[Function] = [
    _f(process_lime_webhook_event, timeout=60, keep_result=60),
    _f(enqueue_lime_webhook_events, timeout=60),
    _f(ensure_lime_subscriptions, timeout=120),
]
LIME_LONG_FUNCTIONS: list[Function] = [
    _f(poll_lime_changes, timeout=1800),
    _f(compare_lime_ids, timeout=3600),
    _f(prune_lime_webhook_events, timeout=600),
]
LIME_FUNCTIONS: list[Function] = [*LIME_OBJECT_FUNCTIONS, *LIME_LONG_FUNCTIONS]

LIME_OBJECT_CRON_JOBS: list[CronJob] = [
    cron(
        enqueue_lime_webhook_events,  # type: ignore[arg-type]
        name=f"cron:{INBOX_CRON}",
        second=30,
        timeout=60,
        unique=True,
    ),
    cron(
        ensure_lime_subscriptions,  # type: ignore[arg-type]
        name=f"cron:{ENABLE_CRON}",
        minute=set(range(5, 60, 10)),
        timeout=120,
        unique=True,
    ),
]


def lime_long_cron_jobs(poll_interval_minutes: int) -> list[CronJob]:
    """The connector's long crons (the poll's interval comes from settings)."""
    return [
        cron(
            poll_lime_changes,  # type: ignore[arg-type]
            name=f"cron:{POLL_CRON}",
            minute=set(range(0, 60, poll_interval_minutes)),
            second=15,
            timeout=1800,
            unique=True,
        ),
        cron(
            compare_lime_ids,  # type: ignore[arg-type]
            name=f"cron:{COMPARE_CRON}",
            hour={2},
            minute={30},
            timeout=3600,
            unique=True,
        ),
        cron(
            prune_lime_webhook_events,  # type: ignore[arg-type]
            name=f"cron:{PRUNE_CRON}",
            hour={4},
            minute={45},
            timeout=600,
            unique=True,
        ),
    ]


def lime_cron_jobs(poll_interval_minutes: int) -> list[CronJob]:
    """Every cron of the connector."""
    return [*LIME_OBJECT_CRON_JOBS, *lime_long_cron_jobs(poll_interval_minutes)]
