"""Events that cannot be applied yet: persisted backoff over 48 hours, failure, replay, and the
automatic application once the missing object exists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx
from arq.connections import ArqRedis
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.invoices.refresh import update_invoice_in_lime_with_billecta_invoice_data
from billecta_gateway.models import AuditRecord, IntegrationMonitorLog, Invoice, Payment
from billecta_gateway.webhooks.fixtures import IDS, load_content, load_fixture
from billecta_gateway.webhooks.service import (
    QUICK_RETRY,
    RETRY_WINDOW,
    next_attempt_at,
    process_job_id,
    quick_retry_job_id,
    retry_delay,
)
from billecta_gateway.webhooks.tasks import enqueue_webhook_events, process_webhook_event
from billecta_gateway.worker import create_worker
from tests.conftest import BILLECTA_URL, make_settings
from tests.webhooks.support import (
    EVENTS,
    INVOICE_ID,
    Clock,
    close_context,
    event_row,
    hook_client,
    job_context,
    post_event,
    seed_debtor,
    seed_invoice,
)

Ctx = Any  # a worker context (see tests.webhooks.support.job_context)


def test_backoff_is_quick_once_then_doubles_from_a_minute_to_six_hours_within_48_hours() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4, 10, 11, 30)] == [
        QUICK_RETRY,
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=256),
        timedelta(hours=6),
        timedelta(hours=6),
    ]
    received = datetime(2026, 3, 1, tzinfo=UTC)
    late = received + RETRY_WINDOW - timedelta(minutes=30)
    assert next_attempt_at(received_at=received, attempts=12, now=late) == received + RETRY_WINDOW
    assert next_attempt_at(received_at=received, attempts=13, now=received + RETRY_WINDOW) is None


async def test_clock_walks_a_waiting_event_to_failed_after_48_hours_and_replay_applies_it(
    hook: httpx.AsyncClient,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    redis: ArqRedis,
) -> None:
    await seed_debtor(session)
    event_id = int(
        (await post_event(hook, load_fixture("InvoicePaymentReceived"))).json()["event_id"]
    )
    received_at = (await event_row(session, event_id)).received_at
    clock = Clock(received_at)
    ctx = job_context(sessionmaker, make_settings(), clock=clock)
    try:
        assert await process_webhook_event(ctx, event_id) == "pending"
        attempts_at = [clock.now]
        for _ in range(100):
            event = await event_row(session, event_id)
            if event.status == "failed":
                break
            assert event.status == "pending"
            assert event.next_attempt_at is not None
            # Not due yet: the cron sends nothing and a stray message changes nothing.
            clock.now = event.next_attempt_at - timedelta(seconds=1)
            assert (await enqueue_webhook_events(ctx))["due"] == 0
            assert await process_webhook_event(ctx, event_id) == "pending"
            assert (await event_row(session, event_id)).attempts == event.attempts
            clock.now = event.next_attempt_at
            assert (await enqueue_webhook_events(ctx))["due"] == 1
            await process_webhook_event(ctx, event_id)
            attempts_at.append(clock.now)
        event = await event_row(session, event_id)
        assert event.status == "failed"
        assert event.next_attempt_at is None
        assert "is not known to the gateway yet" in (event.last_error or "")
        assert attempts_at[-1] - received_at >= timedelta(hours=48)
        assert event.attempts == len(attempts_at)
        assert 10 <= event.attempts <= 25
        failure = await session.scalar(
            select(IntegrationMonitorLog).where(IntegrationMonitorLog.status == "error")
        )
        assert failure is not None
        assert f"InvoicePaymentReceived {event_id} failed" in (failure.message or "")

        await seed_invoice(session)
        await session.commit()
        replay = await client.post(f"{EVENTS}/{event_id}/replay")
        assert replay.status_code == 200
        assert replay.json()["status"] == "pending"
        clock.now = datetime.now(UTC)
        assert await process_webhook_event(ctx, event_id) == "processed"
    finally:
        await close_context(ctx)
    payment = await session.scalar(select(Payment).where(Payment.invoice == INVOICE_ID))
    assert payment is not None
    assert (await event_row(session, event_id)).status == "processed"
    audit = await session.scalar(
        select(AuditRecord).where(AuditRecord.path == f"{EVENTS}/{event_id}/replay")
    )
    assert audit is not None
    assert (audit.limetype, audit.object_id, audit.result) == ("webhook_event", event_id, "ok")


async def _payment_before_its_invoice(
    hook: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[int, Clock, Ctx]:
    """A stored payment event whose invoice is unknown, and a job context on a clock set to now
    (close it with `close_context`)."""
    await seed_debtor(session)
    event_id = int(
        (await post_event(hook, load_fixture("InvoicePaymentReceived"))).json()["event_id"]
    )
    clock = Clock(datetime.now(UTC))
    return event_id, clock, job_context(sessionmaker, make_settings(), clock=clock)


async def test_first_retry_is_a_deferred_job_due_seconds_later_and_later_ones_wait_for_the_cron(
    hook: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    redis: ArqRedis,
) -> None:
    event_id, clock, ctx = await _payment_before_its_invoice(hook, session, sessionmaker)
    try:
        assert await process_webhook_event(ctx, event_id) == "pending"
        event = await event_row(session, event_id)
        assert event.next_attempt_at == clock.now + QUICK_RETRY
        deferred = {
            job.job_id: job.score
            for job in await ctx["redis"].queued_jobs()
            if job.args == (event_id,)
        }
        # The receiver's job (attempt 0) and the quick retry of attempt 1.
        assert set(deferred) == {process_job_id(event_id, 0), quick_retry_job_id(event_id, 1)}
        due_ms = deferred[quick_retry_job_id(event_id, 1)]
        # Due just after the retry (never early), not at the minute cron.
        assert event.next_attempt_at.timestamp() * 1000 < due_ms
        assert due_ms <= (event.next_attempt_at + timedelta(seconds=1)).timestamp() * 1000

        clock.now = event.next_attempt_at
        assert await process_webhook_event(ctx, event_id) == "pending"
        event = await event_row(session, event_id)
        assert event.next_attempt_at == clock.now + timedelta(minutes=1)
        ids = {j.job_id for j in await ctx["redis"].queued_jobs() if j.args == (event_id,)}
        # No deferred job for attempt 2: its retry, a minute away, is the cron's.
        assert ids == {process_job_id(event_id, 0), quick_retry_job_id(event_id, 1)}
        # The cron's enqueue of the same attempt is not swallowed by the deferred job.
        assert quick_retry_job_id(event_id, 1) != process_job_id(event_id, 1)
    finally:
        await close_context(ctx)


async def test_waiting_payment_is_applied_when_its_invoice_arrives(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_debtor(session)
    payment_event = int(
        (await post_event(hook, load_fixture("InvoicePaymentReceived"))).json()["event_id"]
    )
    assert await process_webhook_event(ctx, payment_event) == "pending"
    waiting = await event_row(session, payment_event)
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at > datetime.now(UTC)

    invoice_event = int(
        (await post_event(hook, load_fixture("InvoiceActionAttested"))).json()["event_id"]
    )
    assert await process_webhook_event(ctx, invoice_event) == "processed"
    woken = await event_row(session, payment_event)
    assert woken.next_attempt_at is not None
    assert woken.next_attempt_at <= datetime.now(UTC)
    queued = {job.args[0] for job in await ctx["redis"].queued_jobs()}
    assert payment_event in queued
    assert await process_webhook_event(ctx, payment_event) == "processed"
    invoice = await session.scalar(select(Invoice).where(Invoice.actionpublicid == IDS["invoice"]))
    payment = await session.scalar(select(Payment))
    assert invoice is not None and payment is not None
    assert payment.invoice == invoice.id


async def test_waiting_payment_is_applied_by_the_cron_once_lime_pushed_the_invoice(
    hook: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    redis: ArqRedis,
) -> None:
    event_id, clock, ctx = await _payment_before_its_invoice(hook, session, sessionmaker)
    try:
        assert await process_webhook_event(ctx, event_id) == "pending"
        await seed_invoice(session)  # Lime pushes the invoice through ingestion
        await session.commit()
        event = await event_row(session, event_id)
        assert event.next_attempt_at is not None
        clock.now = event.next_attempt_at
        assert (await enqueue_webhook_events(ctx))["enqueued"] == 1
        job = next(j for j in await ctx["redis"].queued_jobs() if j.args == (event_id,))
        assert await process_webhook_event(ctx, *job.args) == "processed"
    finally:
        await close_context(ctx)
    assert (await session.scalar(select(Payment.invoice))) == INVOICE_ID


async def test_real_worker_applies_a_payment_that_arrived_before_its_invoice(
    committed_app: FastAPI,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    async with committed_sessionmaker() as session:
        await seed_debtor(session)
        await session.commit()
    settings = make_settings()
    functions = [process_webhook_event, update_invoice_in_lime_with_billecta_invoice_data]

    async def burst() -> Any:
        worker = create_worker(
            settings, burst=True, poll_delay=0.05, functions=functions, cron_jobs=[]
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        return worker

    async with hook_client(committed_app) as client:
        payment_event = (await post_event(client, load_fixture("InvoicePaymentReceived"))).json()
        worker = await burst()
        assert worker.jobs_complete == 2  # the first attempt and its quick retry
        async with committed_sessionmaker() as session:
            waiting = await event_row(session, payment_event["event_id"])
            assert (waiting.status, waiting.attempts) == ("pending", 2)

        invoice_event = (await post_event(client, load_fixture("InvoiceActionAttested"))).json()
        paid_in_part = load_content("InvoiceActionStateChanged")
        paid_in_part["PaidAmount"] = {"CurrencyCode": "SEK", "Value": 50000}
        paid_in_part["CurrentAmount"] = {"CurrencyCode": "SEK", "Value": 75000}
        paid_in_part["DueDate"] = "2099-03-31T00:00:00+02:00"
        with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
            billecta.get(f"/v1/invoice/action/{IDS['invoice']}").respond(200, json=paid_in_part)
            worker = await burst()
    assert worker.jobs_failed == 0
    assert worker.jobs_complete == 3  # the invoice event, the woken payment, the refresh

    async with committed_sessionmaker() as session:
        for answer in (payment_event, invoice_event):
            assert (await event_row(session, answer["event_id"])).status == "processed"
        invoice = await session.scalar(select(Invoice))
        payment = await session.scalar(select(Payment))
    assert invoice is not None and payment is not None
    assert payment.invoice == invoice.id
    assert invoice.invoicestatus == "subpaid"
    assert str(invoice.invoice_balance) == "750.00"
