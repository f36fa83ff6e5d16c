"""The invoice refresh (UpdateInvoiceWithBillectaDataHandler) and its arq job."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import respx
from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.billecta import BillectaClient, Priority
from billecta_gateway.billecta.errors import BillectaApiRequestException
from billecta_gateway.config import Settings
from billecta_gateway.invoices.refresh import (
    REFRESH_MAX_TRIES,
    InvoiceNotInBillecta,
    refresh_invoice,
    retry_delay,
    update_invoice_in_lime_with_billecta_invoice_data,
)
from billecta_gateway.main import build_billecta_client
from billecta_gateway.models import Invoice, Order
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import (
    CONNECT_ERROR,
    invoice_action,
    reload,
    seed_invoice,
    seed_order,
)


@pytest.fixture
async def billecta(settings: Settings) -> Any:
    client = build_billecta_client(settings, priority=Priority.BULK)
    yield client
    await client.aclose()


def _ctx(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    billecta: BillectaClient,
    job_try: int = 1,
) -> Any:
    return {
        "settings": settings,
        "sessionmaker": sessionmaker,
        "billecta": billecta,
        "job_try": job_try,
        "job_id": "test",
    }


async def test_refresh_of_an_unpaid_invoice_past_its_due_date_leaves_it_expired(
    session: AsyncSession, settings: Settings, billecta: BillectaClient
) -> None:
    await seed_invoice(session, invoicestatus="sent", billecta_error_message="old")
    due = (datetime.now(settings.timezone) - timedelta(days=3)).date()
    view = invoice_action(
        stage="InvoiceSent", due=f"{due.isoformat()}T00:00:00", invoiced=125_050, paid=25_050
    )
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as mock:
        mock.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        await refresh_invoice(session, billecta=billecta, invoice_id=1001, settings=settings)
        await session.commit()

    invoice = await reload(session, Invoice, 1001)
    assert invoice.invoicestatus == "expired"
    assert invoice.invoice_expires == due
    assert invoice.invoice_amount == Decimal("1250.50")
    assert invoice.invoice_balance == Decimal("1000.00")
    assert invoice.paid_amount == Decimal("250.50")
    assert invoice.billecta_stage == "InvoiceSent"
    assert invoice.billecta_error_message is None
    assert invoice.billecta_event_at is not None


async def test_a_second_refresh_does_not_turn_an_expired_invoice_back_into_sent(
    session: AsyncSession, settings: Settings, billecta: BillectaClient
) -> None:
    await seed_invoice(session, invoicestatus="expired")
    view = invoice_action(stage="ReminderInvoiceSent", due="2020-01-31T00:00:00")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as mock:
        mock.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        await refresh_invoice(session, billecta=billecta, invoice_id=1001, settings=settings)
        await refresh_invoice(session, billecta=billecta, invoice_id=1001, settings=settings)
    assert (await reload(session, Invoice, 1001)).invoicestatus == "expired"


async def test_refresh_of_a_paid_invoice_sets_paid_and_links_the_order(
    session: AsyncSession, settings: Settings, billecta: BillectaClient
) -> None:
    await seed_order(session)
    await seed_invoice(session, invoicestatus="sent")
    view = invoice_action(stage="Completed", paid=100_000, closed="2025-01-20T10:00:00")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as mock:
        mock.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        await refresh_invoice(session, billecta=billecta, invoice_id=1001, settings=settings)
    invoice = await reload(session, Invoice, 1001)
    assert (invoice.invoicestatus, invoice.paid_date, invoice.order) == (
        "paid",
        date(2025, 1, 20),
        6001,
    )
    # The refresh settles the order itself: the state webhook may come later, or never.
    assert (await reload(session, Order, 6001)).orderstatus == "completed"


async def test_refresh_links_a_credit_invoice_to_the_invoice_it_credits(
    session: AsyncSession, settings: Settings, billecta: BillectaClient
) -> None:
    await seed_invoice(session, id=1001, actionpublicid="orig-act")
    await seed_invoice(session, id=1002, actionpublicid="credit-act")
    view = invoice_action(
        "credit-act",
        action_type="CreditInvoiceAction",
        invoiced=-100_000,
        crediting_source="orig-act",
    )
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as mock:
        mock.get("/v1/invoice/action/credit-act").respond(200, json=view)
        await refresh_invoice(session, billecta=billecta, invoice_id=1002, settings=settings)
    credit = await reload(session, Invoice, 1002)
    assert (credit.is_credit_invoice, credit.credited_invoice, credit.invoicestatus) == (
        True,
        1001,
        "credited",
    )
    original = await reload(session, Invoice, 1001)
    assert (original.invoicestatus, original.credit_invoice_actionpublicid) == (
        "credited",
        "credit-act",
    )


async def test_refresh_failure_is_recorded_and_raised(
    session: AsyncSession, settings: Settings, billecta: BillectaClient
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as mock:
        mock.get("/v1/invoice/action/inv-act-1001").respond(400, json={"Message": "Unknown id"})
        with pytest.raises(BillectaApiRequestException):
            await refresh_invoice(session, billecta=billecta, invoice_id=1001, settings=settings)
    invoice = await session.get(Invoice, 1001)
    assert invoice is not None
    assert "Unknown id" in (invoice.billecta_error_message or "")


async def test_refresh_of_an_invoice_without_billecta_id_calls_nothing(
    session: AsyncSession, settings: Settings, billecta: BillectaClient
) -> None:
    await seed_invoice(session, actionpublicid=None)
    with (
        respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as mock,
        pytest.raises(InvoiceNotInBillecta),
    ):
        await refresh_invoice(session, billecta=billecta, invoice_id=1001, settings=settings)
    assert mock.calls.call_count == 0


async def test_job_refreshes_and_commits(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    billecta: BillectaClient,
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as mock:
        mock.get("/v1/invoice/action/inv-act-1001").respond(
            200, json=invoice_action(stage="Attested")
        )
        result = await update_invoice_in_lime_with_billecta_invoice_data(
            _ctx(settings, sessionmaker, billecta), 1001
        )
    assert result == {"invoice_id": 1001, "status": "ok", "invoicestatus": "attested"}
    assert (await reload(session, Invoice, 1001)).invoicestatus == "attested"


async def test_job_retries_transient_failures_with_backoff(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    billecta: BillectaClient,
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as mock:
        mock.get("/v1/invoice/action/inv-act-1001").respond(503, headers={"Retry-After": "42"})
        with pytest.raises(Retry) as retry:
            await update_invoice_in_lime_with_billecta_invoice_data(
                _ctx(settings, sessionmaker, billecta, job_try=2), 1001
            )
    assert retry.value.defer_score == 42_000
    assert (await reload(session, Invoice, 1001)).billecta_error_message is None


async def test_job_records_the_failure_on_its_last_try(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    billecta: BillectaClient,
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as mock:
        mock.get("/v1/invoice/action/inv-act-1001").mock(side_effect=CONNECT_ERROR)
        result = await update_invoice_in_lime_with_billecta_invoice_data(
            _ctx(settings, sessionmaker, billecta, job_try=REFRESH_MAX_TRIES), 1001
        )
    assert result["status"] == "error"
    message = (await reload(session, Invoice, 1001)).billecta_error_message
    assert "could not be reached" in message


async def test_job_skips_an_invoice_that_is_gone(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, billecta: BillectaClient
) -> None:
    result = await update_invoice_in_lime_with_billecta_invoice_data(
        _ctx(settings, sessionmaker, billecta), 999_999
    )
    assert result["status"] == "skipped"


def test_retry_delay_grows_and_honours_retry_after() -> None:
    assert retry_delay(1, None) == 10
    assert retry_delay(3, None) == 40
    assert retry_delay(30, None) == 900
    assert retry_delay(1, 7.5) == 7.5
