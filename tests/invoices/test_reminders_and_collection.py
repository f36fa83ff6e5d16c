"""Reminder invoices and sending invoices to debt collection."""

from __future__ import annotations

import httpx
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.invoices.service import MISSING_ACTION_PUBLIC_ID, MISSING_INVOICE
from billecta_gateway.models import Creditor, Invoice
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import (
    CONNECT_ERROR,
    CREDITOR_ID,
    invoice_action,
    reload,
    seed_invoice,
    sent_json,
)

BASE = "/limepkg-billecta-integration/billecta"
REMINDER = {
    "invoice_action_public_id": "inv-act-1001",
    "delivery_method": "email",
    "reminder_fee": 150.00,
    "currency_code": "SEK",
    "payment_terms_in_days": 14,
}


async def test_reminder_invoice_is_created_in_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, billecta_error_message="old")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/reminder").respond(200, json={"PublicId": "rem-1"})
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=invoice_action())
        response = await client.post(f"{BASE}/create-reminder-invoice", json=REMINDER)

    assert response.status_code == 200
    assert response.json() == {}
    assert sent_json(route.calls.last) == {
        "InvoiceActionPublicId": "inv-act-1001",
        "DeliveryMethod": "Email",
        "ReminderFee": {"CurrencyCode": "SEK", "Value": 15000, "ValueForView": 150.0},
        "PaymentTermsInDays": 14,
    }
    assert (await reload(session, Invoice, 1001)).billecta_error_message is None


async def test_reminder_delivery_methods_map_to_billecta_names(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/reminder").respond(200)
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=invoice_action())
        for key in ("mail", "sms", "einvoice", "kivra", "manual"):
            body = {**REMINDER, "delivery_method": key, "reminder_fee": 0}
            assert (await client.post(f"{BASE}/create-reminder-invoice", json=body)).json() == {}
    sent = [sent_json(call)["DeliveryMethod"] for call in route.calls]
    assert sent == ["Mail", "SMS", "EInvoice", "Kivra", "Manually"]
    assert sent_json(route.calls.last)["ReminderFee"]["Value"] == 0


async def test_reminder_without_action_public_id_is_the_documented_500(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        empty = await client.post(
            f"{BASE}/create-reminder-invoice", json={**REMINDER, "invoice_action_public_id": ""}
        )
        unknown = await client.post(f"{BASE}/create-reminder-invoice", json=REMINDER)
    assert billecta.calls.call_count == 0
    assert empty.status_code == 500
    assert empty.json() == {"error_message": MISSING_ACTION_PUBLIC_ID}
    assert unknown.status_code == 500
    assert unknown.json() == {"error_message": "No invoice with ActionPublicId inv-act-1001"}


async def test_reminder_failure_in_billecta_is_a_500_recorded_on_the_invoice(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/reminder")
        route.respond(400, json={"Message": "Reminder already sent"})
        rejected = await client.post(f"{BASE}/create-reminder-invoice", json=REMINDER)
        route.mock(side_effect=CONNECT_ERROR)
        unreachable = await client.post(f"{BASE}/create-reminder-invoice", json=REMINDER)

    assert rejected.status_code == 500
    assert "Reminder already sent" in rejected.json()["error_message"]
    assert unreachable.status_code == 500
    assert "could not be reached" in unreachable.json()["error_message"]
    assert "could not be reached" in (await reload(session, Invoice, 1001)).billecta_error_message


async def test_reminder_with_an_unknown_delivery_method_is_a_422(client: httpx.AsyncClient) -> None:
    body = {**REMINDER, "delivery_method": "pigeon"}
    response = await client.post(f"{BASE}/create-reminder-invoice", json=body)
    assert response.status_code == 422


COLLECTION = {
    "invoice_id": 1001,
    "delivery_method": "email",
    "our_reference": "COLL-001",
    "reason_description": "Invoice overdue 60 days, collection initiated",
    "reason_for_higher_interest": "Dunning process completed",
}


async def test_send_to_debt_collection_hands_over_and_reads_the_invoice_back(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, billecta_error_message="old", invoicestatus="sent")
    view = invoice_action(stage="SentToDebtCollection")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/debtcollection/actionfrominvoice").respond(
            200, json={"PublicId": "dc-new"}
        )
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        response = await client.post(f"{BASE}/send-to-debt-collection", json=COLLECTION)

    assert response.status_code == 200
    assert response.content == b""
    assert sent_json(route.calls.last) == {
        "SourcePublicId": "inv-act-1001",
        "DeliveryMethod": "Email",
        "OurReference": "COLL-001",
        "ReasonDescription": "Invoice overdue 60 days, collection initiated",
        "ReasonForHigherInterest": "Dunning process completed",
    }
    invoice = await reload(session, Invoice, 1001)
    assert invoice.billecta_error_message is None
    assert invoice.billecta_stage == "SentToDebtCollection"


async def test_send_to_debt_collection_without_invoice_or_creditor_is_a_500_without_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        missing = await client.post(f"{BASE}/send-to-debt-collection", json=COLLECTION)
        await seed_invoice(session, actionpublicid=None)
        no_id = await client.post(f"{BASE}/send-to-debt-collection", json=COLLECTION)
        invoice = await session.get(Invoice, 1001)
        assert invoice is not None
        invoice.actionpublicid = "inv-act-1001"
        creditor = await session.get(Creditor, CREDITOR_ID)
        assert creditor is not None
        creditor.creditorpublicid = None
        await session.commit()
        no_creditor = await client.post(f"{BASE}/send-to-debt-collection", json=COLLECTION)

    assert billecta.calls.call_count == 0
    assert missing.status_code == no_id.status_code == no_creditor.status_code == 500
    assert missing.json() == no_id.json() == {"error_message": MISSING_INVOICE}
    assert "creditor" in no_creditor.json()["error_message"]


async def test_send_to_debt_collection_failure_is_a_500_recorded_on_the_invoice(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/debtcollection/actionfrominvoice")
        route.respond(400, json={"Message": "Already in debt collection"})
        rejected = await client.post(f"{BASE}/send-to-debt-collection", json=COLLECTION)
        message = (await reload(session, Invoice, 1001)).billecta_error_message
        route.mock(side_effect=CONNECT_ERROR)
        unreachable = await client.post(f"{BASE}/send-to-debt-collection", json=COLLECTION)

    assert rejected.status_code == 500
    assert set(rejected.json()) == {"error_message"}
    assert "Already in debt collection" in rejected.json()["error_message"]
    assert "Already in debt collection" in message
    assert unreachable.status_code == 500
    assert "could not be reached" in unreachable.json()["error_message"]
