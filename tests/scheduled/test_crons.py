"""The webhook crons called against seeded data, their run records and their schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import CronRun, IntegrationMonitorLog, WebhookEvent
from billecta_gateway.scheduled.runs import recorded_run
from billecta_gateway.webhooks import inbox, service
from billecta_gateway.webhooks.fixtures import load_fixture
from billecta_gateway.webhooks.schedule import (
    LONG_CRON_JOBS,
    LONG_FUNCTIONS,
    WEBHOOK_CRON_JOBS,
    WEBHOOK_FUNCTIONS,
)
from billecta_gateway.webhooks.tasks import enqueue_webhook_events, prune_webhook_events
from billecta_gateway.worker import create_worker
from tests.conftest import make_settings
from tests.webhooks.support import Clock


async def _event(
    session: AsyncSession, n: int, status: str, age: timedelta, now: datetime, **fields: Any
) -> int:
    body = load_fixture("DebtorUpdated")
    event = WebhookEvent(
        dedupe_key=f"id:seed-{n}",
        event_id=f"seed-{n}",
        event_type="DebtorUpdated",
        payload=body,
        status=status,
        received_at=now - age,
        processed_at=now - age if status == "processed" else None,
        **fields,
    )
    session.add(event)
    await session.flush()
    return event.id


async def _ids(session: AsyncSession) -> set[int]:
    return set((await session.scalars(select(WebhookEvent.id))).all())


async def test_prune_deletes_processed_and_ignored_events_past_retention(
    ctx: Any, session: AsyncSession, clock: Clock
) -> None:
    now = clock.now
    old_processed = await _event(session, 1, "processed", timedelta(days=91), now)
    old_ignored = await _event(session, 2, "ignored", timedelta(days=100), now)
    old_failed = await _event(session, 3, "failed", timedelta(days=200), now)
    recent = await _event(session, 4, "processed", timedelta(days=89), now)
    await session.commit()

    assert await prune_webhook_events(ctx) == {"deleted": 2}
    remaining = await _ids(session)
    assert old_processed not in remaining and old_ignored not in remaining
    assert {old_failed, recent} <= remaining
    run = await session.get(CronRun, "prune_webhook_events", populate_existing=True)
    assert run is not None and run.last_success_at == now
    log = await session.scalar(
        select(IntegrationMonitorLog.message).where(
            IntegrationMonitorLog.task_id == "cron:prune_webhook_events"
        )
    )
    assert log == "prune_webhook_events: 2 event(s) older than 90 days deleted"


async def test_inbox_cron_enqueues_due_and_never_enqueued_events_only(
    ctx: Any, session: AsyncSession, clock: Clock
) -> None:
    now = clock.now
    never = await _event(session, 1, "received", timedelta(minutes=2), now)
    due = await _event(
        session,
        2,
        "pending",
        timedelta(hours=1),
        now,
        attempts=3,
        next_attempt_at=now - timedelta(seconds=5),
        enqueued_at=now - timedelta(minutes=30),
    )
    await _event(
        session,
        3,
        "pending",
        timedelta(hours=1),
        now,
        attempts=3,
        next_attempt_at=now + timedelta(minutes=5),
        enqueued_at=now - timedelta(minutes=30),
    )
    await _event(
        session, 4, "received", timedelta(minutes=1), now, enqueued_at=now - timedelta(minutes=1)
    )
    lost = await _event(
        session, 5, "received", timedelta(hours=2), now, enqueued_at=now - timedelta(hours=1)
    )
    await _event(session, 6, "failed", timedelta(hours=1), now)
    await session.commit()

    assert await enqueue_webhook_events(ctx) == {"due": 3, "enqueued": 3}
    queued = sorted((j.job_id, j.args) for j in await ctx["redis"].queued_jobs())
    assert queued == sorted(
        [
            (service.process_job_id(never, 0), (never,)),
            (service.process_job_id(due, 3), (due,)),
            (service.process_job_id(lost, 0), (lost,)),
        ]
    )
    # Just enqueued: the next run sends nothing again.
    assert await enqueue_webhook_events(ctx) == {"due": 0, "enqueued": 0}


async def test_a_failing_cron_records_its_error_and_keeps_its_last_success(
    ctx: Any, session: AsyncSession, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = clock.now
    await prune_webhook_events(ctx)

    async def broken(session: AsyncSession, *, before: datetime) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(inbox, "prune_events", broken)
    clock.now = first + timedelta(days=1)
    with pytest.raises(RuntimeError):
        await prune_webhook_events(ctx)
    run = await session.get(CronRun, "prune_webhook_events", populate_existing=True)
    assert run is not None
    assert run.last_success_at == first
    assert run.last_started_at == clock.now
    assert run.last_error == "RuntimeError: disk full"
    failure = await session.scalar(
        select(IntegrationMonitorLog).where(IntegrationMonitorLog.status == "error")
    )
    assert failure is not None and "disk full" in (failure.message or "")


async def test_a_cron_learns_when_it_last_succeeded(
    sessionmaker: Any, session: AsyncSession
) -> None:
    monday = datetime(2026, 11, 16, 3, tzinfo=UTC)
    async with recorded_run(sessionmaker, "nightly", now=monday) as window:
        assert window.last_success_at is None
    # The worker was down for three nights: the next run sees Monday and catches up from it.
    thursday = monday + timedelta(days=3)
    async with recorded_run(sessionmaker, "nightly", now=thursday) as window:
        assert window.last_success_at == monday
    run = await session.get(CronRun, "nightly", populate_existing=True)
    assert run is not None and run.last_success_at == thursday


def test_crons_have_explicit_utc_schedules_and_timeouts() -> None:
    crons = [*WEBHOOK_CRON_JOBS, *LONG_CRON_JOBS]
    schedules = {job.name: (job.hour, job.minute, job.second) for job in crons}
    assert schedules == {
        "cron:enqueue_webhook_events": (None, None, 0),
        "cron:retrigger_failed_webhook_events": ({3}, {0}, 0),
        "cron:set_invoices_as_expired": ({0}, {30}, 0),
        "cron:prune_webhook_events": ({4}, {30}, 0),
    }
    assert all(job.timeout_s and job.unique for job in crons)
    assert all(f.timeout_s for f in [*WEBHOOK_FUNCTIONS, *LONG_FUNCTIONS])
    worker = create_worker(
        make_settings(),
        burst=True,
        functions=[*WEBHOOK_FUNCTIONS, *LONG_FUNCTIONS],
        cron_jobs=crons,
    )
    assert worker.timezone == UTC
    names = set(worker.functions)
    assert {
        "process_webhook_event",
        "enqueue_webhook_events",
        "prune_webhook_events",
        "retrigger_failed_webhook_events",
        "retrigger_failed_webhook_events_for_creditor",
        "backfill_creditor_from_billecta",
        "set_invoices_as_expired",
    } <= names
