"""Reconciliation (nightly, through the retrigger task) and the backfill task."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from arq.connections import ArqRedis
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.invoices.refresh import update_invoice_in_lime_with_billecta_invoice_data
from billecta_gateway.models import (
    CronRun,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    Invoice,
    Payment,
    WebhookEvent,
)
from billecta_gateway.tasks.fanout import fan_out_task
from billecta_gateway.webhooks.fixtures import IDS, load_content, load_fixture
from billecta_gateway.webhooks.reconcile import reconcile_creditor, watermark_name
from billecta_gateway.webhooks.schedule import LONG_FUNCTIONS, WEBHOOK_FUNCTIONS
from billecta_gateway.webhooks.tasks import retrigger_failed_webhook_events
from billecta_gateway.worker import create_worker
from tests.conftest import BILLECTA_URL, LIME_KEY, make_settings
from tests.webhooks.support import (
    CREDITOR_ID,
    INVOICE_ID,
    close_context,
    event_row,
    hook_client,
    job_context,
    post_event,
    seed_creditor,
    seed_debtor,
    seed_invoice,
)

PREFIX = "/limepkg-billecta-integration"
CPID = IDS["creditor"]
Ctx = Any  # a worker context (see tests.webhooks.support.job_context)


def _sub(content: dict[str, Any]) -> dict[str, Any]:
    """The InvoiceActionSubView row of an InvoiceActionView."""
    return {
        "ActionPublicId": content["ActionPublicId"],
        "CreditorPublicId": content["CreditorPublicId"],
        "DebtorPublicId": content["Debtor"]["DebtorPublicId"],
        "CurrentAmount": content["CurrentAmount"],
        "InvoicedAmount": content["InvoicedAmount"],
        "Stage": content["State"]["Stage"],
        "ActionType": content["ActionType"],
        "InvoiceNumber": content["InvoiceNumber"],
        "DueDate": content["DueDate"],
        "InvoiceDate": content["InvoiceDate"],
    }


# The fixtures' debtor, as Billecta answers it when the run reads it again.
KNOWN_DEBTOR: dict[str, dict[str, Any] | None] = {IDS["debtor"]: load_content("DebtorUpdated")}


def billecta_mock(
    *,
    open_invoices: list[dict[str, Any]] | None = None,
    closed_invoices: list[dict[str, Any]] | None = None,
    actions: dict[str, dict[str, Any]] | None = None,
    payments: list[dict[str, Any]] | None = None,
    unhandled: list[dict[str, Any]] | None = None,
    debtors: dict[str, dict[str, Any] | None] | None = None,
) -> respx.MockRouter:
    """Billecta for one reconciliation run; `debtors` answers the debtors it reads again (None:
    Billecta no longer has the debtor)."""
    mock = respx.mock(base_url=BILLECTA_URL, assert_all_called=True)
    for dpid, view in (debtors or {}).items():
        route = mock.get(f"/v1/debtors/debtor/{dpid}")
        if view is None:
            route.respond(404, json={"Message": f"Debtor {dpid} not found"})
        else:
            route.respond(200, json=view)
    mock.get(f"/v1/invoice/open/{CPID}").respond(200, json=open_invoices or [])
    mock.get(f"/v1/invoice/closed/{CPID}").respond(200, json=closed_invoices or [])
    mock.put("/v1/payments/incomingpayments").respond(200, json=payments or [])
    mock.get(f"/v1/payments/unhandledpayments/{CPID}").respond(200, json=unhandled or [])
    for apid, view in (actions or {}).items():
        mock.get(f"/v1/invoice/action/{apid}").respond(200, json=view)
    return mock


@pytest.fixture
async def live_ctx(
    committed_sessionmaker: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> AsyncIterator[Ctx]:
    context = job_context(committed_sessionmaker, make_settings())
    yield context
    await close_context(context)


async def _burst() -> Any:
    functions = [
        *WEBHOOK_FUNCTIONS,
        *LONG_FUNCTIONS,
        fan_out_task,
        update_invoice_in_lime_with_billecta_invoice_data,
    ]
    worker = create_worker(
        # One queue for the object and the long jobs, so one burst worker runs them all.
        make_settings(arq_long_queue_name=make_settings().arq_queue_name),
        burst=True,
        poll_delay=0.05,
        functions=functions,
        cron_jobs=[],
    )
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def test_nightly_reconcile_recovers_a_dropped_payment_webhook(
    committed_sessionmaker: async_sessionmaker[AsyncSession], live_ctx: Ctx
) -> None:
    async with committed_sessionmaker() as session:
        await seed_invoice(
            session, billecta_stage="InvoiceSent", invoice_balance=1250, invoicestatus="sent"
        )
        session.add(
            CronRun(
                name=watermark_name(CPID),
                last_success_at=datetime.now(UTC) - timedelta(days=1),
            )
        )
        await session.commit()
    sent = load_content("InvoiceActionStateChanged")
    paid_in_part = {
        **sent,
        "PaidAmount": {"CurrencyCode": "SEK", "Value": 50000},
        "CurrentAmount": {"CurrencyCode": "SEK", "Value": 75000},
        "DueDate": "2099-03-31T00:00:00+02:00",
    }
    dropped = load_content("InvoicePaymentReceived")

    started = await retrigger_failed_webhook_events(live_ctx)
    assert started["integration_monitor_batch_id"] is not None
    with billecta_mock(
        debtors=KNOWN_DEBTOR,
        open_invoices=[_sub(sent)],
        payments=[dropped],
        actions={IDS["invoice"]: paid_in_part},
    ) as billecta:
        worker = await _burst()
        request = next(c.request for c in billecta.calls if c.request.method == "PUT")
    assert worker.jobs_failed == 0
    assert json.loads(request.content)["CreditorPublicId"] == CPID

    async with committed_sessionmaker() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None
        assert (payment.paymentreferenceid, payment.invoice) == (
            IDS["payment_reference"],
            INVOICE_ID,
        )
        invoice = await session.get(Invoice, INVOICE_ID)
        assert invoice is not None and invoice.invoicestatus == "subpaid"
        event = await session.scalar(select(WebhookEvent))
        assert event is not None
        assert (event.event_type, event.status) == ("InvoicePaymentReceived", "processed")
        assert event.dedupe_key.startswith("id:reconcile:InvoicePaymentReceived:")
        batch = await session.get(IntegrationMonitorBatch, started["integration_monitor_batch_id"])
        assert batch is not None and batch.status == "ok"
        log = await session.scalar(
            select(IntegrationMonitorLog).where(IntegrationMonitorLog.batch_id == batch.id)
        )
        assert log is not None and log.object_id == CREDITOR_ID
        assert "1 payment(s)" in (log.message or "")
        watermark = await session.get(CronRun, watermark_name(CPID))
        assert watermark is not None and watermark.last_success_at is not None
        assert watermark.last_success_at > datetime.now(UTC) - timedelta(minutes=5)
        cron = await session.get(CronRun, "retrigger_failed_webhook_events")
        assert cron is not None and cron.last_success_at is not None


async def test_reconcile_skips_what_the_mirror_already_has(
    committed_sessionmaker: async_sessionmaker[AsyncSession], live_ctx: Ctx
) -> None:
    async with committed_sessionmaker() as session:
        await seed_invoice(session, billecta_stage="InvoiceSent", invoice_balance=1250)
        session.add(
            Payment(
                id=9001,
                paymentreferenceid=IDS["payment_reference"],
                actionpublicid=IDS["invoice"],
                invoice=INVOICE_ID,
                paymenttype="payment",
            )
        )
        await session.commit()
    sent = load_content("InvoiceActionStateChanged")
    runs = []
    for _ in range(2):
        with billecta_mock(
            debtors=KNOWN_DEBTOR,
            open_invoices=[_sub(sent)],
            payments=[load_content("InvoicePaymentReceived")],
        ):
            summary, _ = await reconcile_creditor(
                committed_sessionmaker,
                billecta=live_ctx["billecta"],
                settings=live_ctx["settings"],
                redis=live_ctx["redis"],
                creditor_id=CREDITOR_ID,
                since=datetime.now(UTC) - timedelta(days=1),
                now=datetime.now(UTC),
                backfill=True,  # a backfill re-reads every debtor, whatever the sweep's date
            )
        runs.append((summary.invoices, summary.payments, summary.unhandled, summary.debtors))
        stored = summary.stored
    assert runs == [(0, 0, 0, 1), (0, 0, 0, 1)]
    # The debtor's view was stored once, by the first run; an unchanged view is a duplicate.
    assert stored == 0


async def test_nightly_reconcile_redrives_the_creditors_recent_failed_events(
    committed_app: FastAPI,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    live_ctx: Ctx,
) -> None:
    async with committed_sessionmaker() as session:
        await seed_debtor(session)
        await session.commit()
    async with hook_client(committed_app) as client:
        answer = (await post_event(client, load_fixture("AmountWrittenOffOnInvoice"))).json()
    async with committed_sessionmaker() as session:
        await session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == answer["event_id"])
            .values(status="failed", last_error="Invoice unknown")
        )
        await seed_invoice(session, billecta_stage="InvoiceSent", invoice_balance=1250)
        await session.commit()
    with billecta_mock(
        open_invoices=[_sub(load_content("InvoiceActionStateChanged"))], debtors=KNOWN_DEBTOR
    ):
        summary, _ = await reconcile_creditor(
            committed_sessionmaker,
            billecta=live_ctx["billecta"],
            settings=live_ctx["settings"],
            redis=None,
            creditor_id=CREDITOR_ID,
            since=None,
            now=datetime.now(UTC),
        )
    assert summary.redriven == 1
    # The re-driven event, and the debtor read again by the first (weekly) sweep.
    assert (summary.debtors, summary.outcomes) == (1, {"processed": 2})
    async with committed_sessionmaker() as session:
        assert (await event_row(session, answer["event_id"])).status == "processed"
        assert (await session.scalar(select(Payment.paymenttype))) == "writeoff"


async def test_nightly_reconcile_redrives_events_waiting_for_a_retry_within_48_hours(
    committed_app: FastAPI,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    live_ctx: Ctx,
) -> None:
    # Events become `failed` only 48 hours after they arrived: the recent ones still wait.
    async with committed_sessionmaker() as session:
        await seed_debtor(session)
        await session.commit()
    async with hook_client(committed_app) as client:
        answer = (await post_event(client, load_fixture("AmountWrittenOffOnInvoice"))).json()
    now = datetime.now(UTC)
    async with committed_sessionmaker() as session:
        await session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == answer["event_id"])
            .values(
                status="pending",
                attempts=3,
                received_at=now - timedelta(hours=5),
                next_attempt_at=now + timedelta(hours=6),
                last_error="Invoice unknown",
            )
        )
        await seed_invoice(session, billecta_stage="InvoiceSent", invoice_balance=1250)
        await session.commit()
    with billecta_mock(
        open_invoices=[_sub(load_content("InvoiceActionStateChanged"))], debtors=KNOWN_DEBTOR
    ):
        summary, _ = await reconcile_creditor(
            committed_sessionmaker,
            billecta=live_ctx["billecta"],
            settings=live_ctx["settings"],
            redis=None,
            creditor_id=CREDITOR_ID,
            since=None,
            now=now,
        )
    assert summary.redriven == 1
    async with committed_sessionmaker() as session:
        assert (await event_row(session, answer["event_id"])).status == "processed"
        assert (await session.scalar(select(Payment.paymenttype))) == "writeoff"


async def test_retrigger_endpoint_starts_the_task_at_once(
    client: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis
) -> None:
    await seed_creditor(session)
    response = await client.post(f"{PREFIX}/task/billecta-retrigger-failed-webhooks", json={})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["task_id"] == str(body["integration_monitor_batch_id"])
    batch = await session.get(IntegrationMonitorBatch, body["integration_monitor_batch_id"])
    assert batch is not None
    assert (batch.task, batch.status) == ("retrigger_failed_webhook_events", "running")
    assert batch.parameters is not None and batch.parameters["object_ids"] == [CREDITOR_ID]


async def test_retrigger_endpoint_that_cannot_start_answers_the_specs_500(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_creditor(session, creditorpublicid=None)
    response = await client.post(f"{PREFIX}/task/billecta-retrigger-failed-webhooks", json={})
    assert response.status_code == 500
    assert response.json() == {"error_message": "Error starting retrigger task"}
    assert (await session.scalars(select(IntegrationMonitorBatch))).all() == []


async def test_retrigger_that_cannot_be_recorded_answers_the_specs_500(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from billecta_gateway.webhooks import router as webhooks_router

    async def database_down(*_args: Any, **_kwargs: Any) -> int:
        raise OperationalError("INSERT ...", {}, OSError("connection refused"))

    await seed_creditor(session)
    monkeypatch.setattr(webhooks_router, "start_retrigger", database_down)
    response = await client.post(f"{PREFIX}/task/billecta-retrigger-failed-webhooks", json={})
    assert response.status_code == 500
    assert response.json() == {"error_message": "Error starting retrigger task"}


async def test_backfill_task_reads_a_creditors_billecta_data(
    committed_app: FastAPI,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    async with committed_sessionmaker() as session:
        await seed_debtor(session)
        await session.commit()
    sent = load_content("InvoiceActionStateChanged")
    sent["DueDate"] = "2099-03-31T00:00:00+02:00"
    paid = load_content("InvoiceActionStateChanged", variant="paid")
    paid["ActionPublicId"] = IDS["other_invoice"]
    paid["InvoiceNumber"] = "10199"
    payment = load_content("InvoicePaymentReceived")
    unmatched = load_content("UnmatchedPayment")

    transport = httpx.ASGITransport(app=committed_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers={"x-api-key": "lime-test-key-7f3a9c"}
    ) as client:
        response = await client.post(
            f"{PREFIX}/task/backfill-from-billecta",
            json={"creditor_id": CREDITOR_ID, "since": "2026-10-01"},
        )
    assert response.status_code == 200, response.text
    batch_id = response.json()["integration_monitor_batch_id"]
    with billecta_mock(
        debtors=KNOWN_DEBTOR,
        open_invoices=[_sub(sent)],
        closed_invoices=[_sub(paid)],
        actions={IDS["invoice"]: sent, IDS["other_invoice"]: paid},
        payments=[payment],
        unhandled=[unmatched],
    ) as billecta:
        worker = await _burst()
        closed_calls = [c.request for c in billecta.calls if "/closed/" in c.request.url.path]
    assert worker.jobs_failed == 0
    assert closed_calls[0].url.params["from"] == "2026-10-01"

    async with committed_sessionmaker() as session:
        invoices = {
            i.actionpublicid: i.invoicestatus
            for i in (await session.scalars(select(Invoice))).all()
        }
        assert invoices == {IDS["invoice"]: "sent", IDS["other_invoice"]: "paid"}
        kinds = sorted(
            (p.paymenttype, p.paymentstatus) for p in (await session.scalars(select(Payment))).all()
        )
        assert kinds == [("payment", "received"), ("unmatched", "unmatched")]
        batch = await session.get(IntegrationMonitorBatch, batch_id)
        assert batch is not None
        assert (batch.task, batch.status) == ("backfill_from_billecta", "ok")
        assert batch.parameters is not None
        assert batch.parameters["since"].startswith("2026-10-01T00:00:00")


async def test_backfill_of_an_unknown_creditor_is_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(f"{PREFIX}/task/backfill-from-billecta", json={"creditor_id": 77})
    assert response.status_code == 404
    await seed_creditor(session, creditorpublicid=None)
    response = await client.post(
        f"{PREFIX}/task/backfill-from-billecta", json={"creditor_id": CREDITOR_ID}
    )
    assert response.status_code == 404
    assert "creditorpublicid" in response.json()["error_message"]
    bad = await client.post(f"{PREFIX}/task/backfill-from-billecta", json={"since": "x"})
    assert bad.status_code == 422


def test_closed_invoices_are_asked_for_by_billectas_calendar_day() -> None:
    from billecta_gateway.webhooks.reconcile import billecta_day

    # 23:30 UTC on 1 December is already 2 December in Stockholm, Billecta's clock.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert billecta_day(late) == date(2026, 12, 2)
    assert billecta_day(datetime(2026, 7, 1, 21, 59, tzinfo=UTC)) == date(2026, 7, 1)
    assert billecta_day(datetime(2026, 7, 1, 22, 0, tzinfo=UTC)) == date(2026, 7, 2)


async def test_the_change_feed_advances_while_a_backfill_runs(
    committed_app: FastAPI,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    live_ctx: Ctx,
) -> None:
    from billecta_gateway.queue import AfterCommit
    from billecta_gateway.webhooks.tasks import backfill_creditor_from_billecta, start_backfill

    async with committed_sessionmaker() as session:
        await seed_creditor(session)
        batch_id = await start_backfill(
            session, jobs=AfterCommit(), creditor_id=CREDITOR_ID, since=None, title=None,
            created_by=None,
        )  # fmt: skip
        await session.commit()
    await fan_out_task(live_ctx, batch_id)
    async with committed_sessionmaker() as session:
        log_id = await session.scalar(
            select(IntegrationMonitorLog.id).where(IntegrationMonitorLog.batch_id == batch_id)
        )
    reading, release = asyncio.Event(), asyncio.Event()

    async def slow_open_invoices(request: httpx.Request) -> httpx.Response:
        reading.set()
        await release.wait()
        return httpx.Response(200, json=[])

    transport = httpx.ASGITransport(app=committed_app)
    with billecta_mock() as billecta:
        billecta.get(f"/v1/invoice/open/{CPID}").mock(side_effect=slow_open_invoices)
        backfill = asyncio.create_task(
            backfill_creditor_from_billecta(live_ctx, log_id, CREDITOR_ID)
        )
        try:
            await asyncio.wait_for(reading.wait(), 10)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", headers={"x-api-key": LIME_KEY}
            ) as client:
                put = await client.put(f"{PREFIX}/limeobjects/debtor/4242", json={"name": "Ny"})
                assert put.status_code == 201, put.text
                # The feed's horizon is the server's oldest running transaction: other
                # databases on a shared server hold it back for moments, the backfill must not.
                seen: list[int] = []
                for _ in range(200):
                    feed = await client.get(
                        f"{PREFIX}/limeobjects/debtor", params={"changed_after": 0}
                    )
                    seen = [o["_id"] for o in feed.json()["objects"]]
                    if seen:
                        break
                    await asyncio.sleep(0.1)
            # The backfill is still reading Billecta, and the write is already in the feed.
            assert not backfill.done()
            assert seen == [4242]
        finally:
            release.set()
            assert await backfill == "ok"
