"""Outcomes of invoice money operations: a 2xx is a success, the mirror follows at once, and
what the spec's prerequisites forbid is refused before Billecta is called."""

from __future__ import annotations

from decimal import Decimal

import httpx
import respx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Creditor, DebtCollection, Invoice
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import CREDITOR_ID, invoice_action, reload, seed_invoice

BASE = "/limepkg-billecta-integration/billecta"
REMINDER = {
    "invoice_action_public_id": "inv-act-1001",
    "delivery_method": "email",
    "reminder_fee": 60,
    "currency_code": "SEK",
    "payment_terms_in_days": 14,
}
COLLECTION = {"invoice_id": 1001, "delivery_method": "email"}


async def test_reminder_answered_with_an_empty_object_is_a_success(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, billecta_error_message="old")
    view = invoice_action(stage="ReminderInvoiceSent")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        reminder = billecta.post("/v1/invoice/reminder").respond(200, json={})
        refresh = billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        response = await client.post(f"{BASE}/create-reminder-invoice", json=REMINDER)

    assert response.status_code == 200
    assert response.json() == {}
    assert reminder.call_count == 1
    assert refresh.call_count == 1
    invoice = await reload(session, Invoice, 1001)
    assert invoice.billecta_error_message is None
    assert invoice.billecta_stage == "ReminderInvoiceSent"


async def test_debt_collection_answered_without_a_public_id_is_a_success(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    view = invoice_action(stage="SentToDebtCollection")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        sent = billecta.post("/v1/debtcollection/actionfrominvoice").respond(200, json={})
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        response = await client.post(f"{BASE}/send-to-debt-collection", json=COLLECTION)

    assert response.status_code == 200
    assert sent.call_count == 1
    invoice = await reload(session, Invoice, 1001)
    assert invoice.billecta_error_message is None
    assert invoice.billecta_stage == "SentToDebtCollection"


async def test_pause_reads_the_invoice_back_so_the_mirror_is_paused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, invoicestatus="sent")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        pause = billecta.put("/v1/invoice/pause/inv-act-1001").respond(200)
        read = billecta.get("/v1/invoice/action/inv-act-1001").respond(
            200, json=invoice_action(paused=True)
        )
        response = await client.put(f"{BASE}/pause-invoice", json={"invoice_id": 1001})

    assert response.status_code == 200
    assert (pause.call_count, read.call_count) == (1, 1)
    assert (await reload(session, Invoice, 1001)).paused is True


async def test_an_invoice_already_in_debt_collection_is_refused_without_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, billecta_stage="SentToDebtCollection")
    await seed_invoice(session, id=1002, actionpublicid="inv-act-1002")
    session.add(DebtCollection(id=3002, invoice=1002, actionpublicid="dc-act-3002"))
    await session.commit()
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        by_stage = await client.post(f"{BASE}/send-to-debt-collection", json=COLLECTION)
        by_case = await client.post(
            f"{BASE}/send-to-debt-collection", json={**COLLECTION, "invoice_id": 1002}
        )

    assert billecta.calls.call_count == 0
    assert by_stage.status_code == by_case.status_code == 409
    assert by_stage.json() == {"error_message": "Invoice 1001 is already in debt collection"}
    assert by_case.json() == {
        "error_message": "Invoice 1002 is already in debt collection (debt collection 3002)"
    }


async def test_a_missing_creditor_is_written_on_the_invoice(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    creditor = await session.get(Creditor, CREDITOR_ID)
    assert creditor is not None
    creditor.creditorpublicid = None
    await session.commit()
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        response = await client.post(f"{BASE}/send-to-debt-collection", json=COLLECTION)

    assert billecta.calls.call_count == 0
    assert response.status_code == 500
    message = response.json()["error_message"]
    assert "creditor" in message
    assert (await reload(session, Invoice, 1001)).billecta_error_message == message


async def test_a_manual_payment_in_another_currency_is_a_422_naming_both(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, currency="EUR", invoice_balance=Decimal("100"))
    body = {
        "invoice_id": 1001,
        "payment_amount": 100,
        "payment_currencycode": "SEK",
        "payment_date": "2025-09-10",
    }
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        response = await client.post(f"{BASE}/register-manual-payment", json=body)

    assert billecta.calls.call_count == 0
    assert response.status_code == 422
    message = response.json()["error_message"]
    assert "SEK" in message and "EUR" in message
    assert response.json()["errors"][0]["field"] == "payment_currencycode"
    assert await session.scalar(select(func.count()).select_from(Invoice)) == 1
