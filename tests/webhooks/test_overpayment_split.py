"""A payment larger than what its invoice owed is counted once: Billecta reports the excess
separately as an `Overpayment`, so the payment row keeps only what the invoice owed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Invoice, Payment
from billecta_gateway.webhooks.fixtures import IDS, load_fixture
from tests.webhooks.support import INVOICE_ID, deliver, seed_invoice, with_event_date


def _content(body: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = body["Data"]
    return content


async def _rows(session: AsyncSession) -> dict[str, Payment]:
    rows = await session.scalars(select(Payment).execution_options(populate_existing=True))
    return {row.paymenttype or "": row for row in rows}


async def test_an_overpaid_invoice_payment_keeps_what_was_owed_and_the_overpayment_the_rest(
    hook: httpx.AsyncClient, ctx: Any, session: AsyncSession
) -> None:
    await seed_invoice(session, invoice_balance=Decimal("400"))
    payment = load_fixture("InvoicePaymentReceived")  # 500 SEK
    overpayment = load_fixture("Overpayment")
    _content(overpayment)["OverpaymentDetails"]["ActionPublicId"] = IDS["invoice"]

    await deliver(hook, ctx, payment)
    await deliver(hook, ctx, overpayment)

    rows = await _rows(session)
    assert rows["payment"].amount == Decimal("400.00")
    assert rows["payment"].invoice == INVOICE_ID
    assert rows["overpayment"].amount == Decimal("100.00")
    assert rows["overpayment"].invoice == INVOICE_ID
    # The handler never computes balances: only Billecta's refresh writes them.
    invoice = await session.get(Invoice, INVOICE_ID, populate_existing=True)
    assert invoice is not None and invoice.invoice_balance == Decimal("400")


async def test_a_redelivery_after_the_refresh_keeps_the_part_that_paid_the_invoice(
    hook: httpx.AsyncClient, ctx: Any, session: AsyncSession
) -> None:
    invoice = await seed_invoice(session, invoice_balance=Decimal("400"))
    payment = load_fixture("InvoicePaymentReceived")
    await deliver(hook, ctx, payment)
    invoice.invoice_balance = Decimal(0)  # what the refresh writes once Billecta booked it
    await session.flush()

    await deliver(hook, ctx, with_event_date(payment, "2026-03-10T08:00:00"))

    assert (await _rows(session))["payment"].amount == Decimal("400.00")


async def test_a_payment_within_what_was_owed_is_kept_whole(
    hook: httpx.AsyncClient, ctx: Any, session: AsyncSession
) -> None:
    await seed_invoice(session)  # 1,250 SEK owed
    await deliver(hook, ctx, load_fixture("InvoicePaymentReceived"))
    assert (await _rows(session))["payment"].amount == Decimal("500.00")
