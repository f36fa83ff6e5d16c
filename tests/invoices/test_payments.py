"""Manual payments, write-offs and use of credit: Billecta requests, answers and rows."""

from __future__ import annotations

import re

import httpx
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Invoice
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import (
    CONNECT_ERROR,
    audit_rows,
    invoice_action,
    reload,
    seed_invoice,
    sent_json,
)

BASE = "/limepkg-billecta-integration"
MANUAL = f"{BASE}/billecta/register-manual-payment"
WRITEOFF = f"{BASE}/billecta/register-writeoff-payment"
USE_CREDIT = f"{BASE}/billecta/use-credit-on-invoice"

PAYMENT = {
    "invoice_id": 1001,
    "payment_amount": 1000.0,
    "payment_currencycode": "SEK",
    "payment_date": "2025-09-10",
    "payment_mean_code": "BG",
}


async def test_manual_payment_registers_the_payment_in_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, billecta_error_message="an earlier failure")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        response = await client.post(MANUAL, json=PAYMENT, headers={"x-lime-user": "anna"})

    assert response.status_code == 200
    assert response.json() == {"status_code": 200}
    assert route.call_count == 1
    sent = sent_json(route.calls.last)
    assert re.fullmatch(r"BG-[0-9A-F]{16}", sent.pop("PaymentReferenceText"))
    assert sent == {
        "ActionPublicId": "inv-act-1001",
        "Amount": {"CurrencyCode": "SEK", "Value": 100000, "ValueForView": 1000.0},
        "Date": "2025-09-10T00:00:00",
        "PaymentMeanCode": "BG",
    }
    invoice = await reload(session, Invoice, 1001)
    assert invoice.billecta_error_message is None
    audit = (await audit_rows(session))[-1]
    assert (audit.limetype, audit.object_id, audit.actor, audit.result) == (
        "invoice",
        1001,
        "anna",
        "ok",
    )
    assert audit.detail["amount"] == "1000.00"


async def test_floating_point_amount_is_sent_as_exact_minor_units(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        response = await client.post(MANUAL, json={**PAYMENT, "payment_amount": 0.1 + 0.2})

    assert response.status_code == 200
    assert sent_json(route.calls.last)["Amount"]["Value"] == 30


async def test_sub_cent_amount_is_refused_before_billecta(client: httpx.AsyncClient) -> None:
    response = await client.post(MANUAL, json={**PAYMENT, "payment_amount": 10.005})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "payment_amount"


async def test_manual_payment_for_a_missing_invoice_is_a_500_without_billecta(
    client: httpx.AsyncClient,
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        response = await client.post(MANUAL, json=PAYMENT)
    assert response.status_code == 500
    assert response.json() == {"status_code": 500, "error_message": "Invoice 1001 not found"}
    assert billecta.calls.call_count == 0


async def test_manual_payment_for_an_invoice_not_in_billecta_is_a_500_without_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, actionpublicid=None)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        response = await client.post(MANUAL, json=PAYMENT)
    assert response.status_code == 500
    body = response.json()
    assert body["status_code"] == 500
    assert "actionpublicid" in body["error_message"]
    assert billecta.calls.call_count == 0


async def test_manual_payment_rejected_by_billecta_keeps_its_message(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.post("/v1/invoice/payment").respond(
            400, json={"Message": "Amount exceeds the remaining amount"}
        )
        response = await client.post(MANUAL, json=PAYMENT)

    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"status_code", "error_message"}
    assert "Amount exceeds the remaining amount" in body["error_message"]
    invoice = await reload(session, Invoice, 1001)
    assert "Amount exceeds the remaining amount" in invoice.billecta_error_message
    assert (await audit_rows(session))[-1].result == "error"


async def test_manual_payment_when_billecta_is_unreachable_is_a_500(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.post("/v1/invoice/payment").mock(side_effect=CONNECT_ERROR)
        response = await client.post(MANUAL, json=PAYMENT)

    assert response.status_code == 500
    assert response.json()["status_code"] == 500
    assert "could not be reached" in response.json()["error_message"]
    invoice = await reload(session, Invoice, 1001)
    assert "could not be reached" in invoice.billecta_error_message


WRITE_OFF = {
    "invoiceid": 1001,
    "amount": 250.5,
    "vat": "25",
    "paymentdate": "2025-09-10",
    "comment": "Uncollectible per legal review",
}


async def test_write_off_registers_the_write_off_in_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, billecta_error_message="old")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        response = await client.post(WRITEOFF, json=WRITE_OFF)

    assert response.status_code == 200
    assert response.json() == {"status_code": 200}
    sent = sent_json(route.calls.last)
    assert re.fullmatch(r"BG-[0-9A-F]{16}", sent.pop("PaymentReferenceText"))
    assert sent == {
        "ActionPublicId": "inv-act-1001",
        "Amount": {"CurrencyCode": "SEK", "Value": 0, "ValueForView": 0.0},
        "WriteOff": {"CurrencyCode": "SEK", "Value": 25050, "ValueForView": 250.5},
        "WriteOffVat": 25,
        "Comment": "Uncollectible per legal review",
        "Date": "2025-09-10T00:00:00",
    }
    assert (await reload(session, Invoice, 1001)).billecta_error_message is None


async def test_write_off_failures_use_the_status_code_and_message_shape(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    missing = await client.post(WRITEOFF, json=WRITE_OFF)
    assert missing.status_code == 500
    assert missing.json() == {"status_code": 500, "message": "Invoice 1001 not found"}

    await seed_invoice(session, actionpublicid=None)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        no_id = await client.post(WRITEOFF, json=WRITE_OFF)
    assert no_id.status_code == 500
    assert set(no_id.json()) == {"status_code", "message"}
    assert billecta.calls.call_count == 0


async def test_write_off_rejected_or_unreachable_is_a_500_with_the_reason(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment")
        route.respond(400, json={"Message": "Invoice is closed"})
        rejected = await client.post(WRITEOFF, json=WRITE_OFF)
        route.mock(side_effect=CONNECT_ERROR)
        unreachable = await client.post(WRITEOFF, json=WRITE_OFF)

    assert rejected.status_code == 500
    assert rejected.json()["status_code"] == 500
    assert "Invoice is closed" in rejected.json()["message"]
    assert unreachable.status_code == 500
    assert "could not be reached" in unreachable.json()["message"]
    assert "could not be reached" in (await reload(session, Invoice, 1001)).billecta_error_message


async def test_write_off_vat_must_be_a_percentage(client: httpx.AsyncClient) -> None:
    response = await client.post(WRITEOFF, json={**WRITE_OFF, "vat": "125"})
    assert response.status_code == 422


CREDIT = {"creditinvoiceid": 1002, "invoicetocreditid": 1001, "paymentmeancode": "BG"}


async def _seed_credit_pair(session: AsyncSession) -> None:
    await seed_invoice(session, billecta_error_message="old")
    await seed_invoice(session, id=1002, actionpublicid="credit-act-1002", is_credit_invoice=True)


async def test_use_credit_pays_the_smaller_of_credit_left_and_amount_owed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed_credit_pair(session)
    credit = invoice_action(
        "credit-act-1002",
        action_type="CreditInvoiceAction",
        invoiced=-30_000,
        invoice_number="C-7",
        crediting_source="other",
    )
    owed = invoice_action("inv-act-1001", invoiced=100_000, paid=80_000)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/credit-act-1002").respond(200, json=credit)
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=owed)
        route = billecta.put("/v1/invoice/credit").respond(200)
        response = await client.post(USE_CREDIT, json=CREDIT)

    assert response.status_code == 200
    assert response.content == b""
    sent = sent_json(route.calls.last)
    assert sent["ActionPublicId"] == "inv-act-1001"
    assert sent["Value"] == {"CurrencyCode": "SEK", "Value": 20000, "ValueForView": 200.0}
    assert sent["IsPaymentCreditation"] is True
    assert sent["PaymentMeanCode"] == "BG"
    assert re.fullmatch(r"Credit from credit invoice C-7 \(BG-[0-9A-F]{16}\)", sent["Comment"])
    assert (await reload(session, Invoice, 1001)).billecta_error_message is None


async def test_use_credit_with_a_missing_invoice_is_a_404_message(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        missing = await client.post(USE_CREDIT, json=CREDIT)
        await seed_invoice(session, id=1002, actionpublicid=None)
        no_id = await client.post(USE_CREDIT, json=CREDIT)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Invoice 1002 not found"}
    assert no_id.status_code == 404
    assert set(no_id.json()) == {"message"}
    assert billecta.calls.call_count == 0


async def test_use_credit_on_a_normal_invoice_is_a_409(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed_credit_pair(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/credit-act-1002").respond(
            200, json=invoice_action("credit-act-1002")
        )
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=invoice_action())
        response = await client.post(USE_CREDIT, json=CREDIT)
    assert response.status_code == 409
    assert response.json() == {"message": "Invoice 1002 is not a credit invoice"}


async def test_use_credit_rejected_or_unreachable_is_a_500_message(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed_credit_pair(session)
    credit = invoice_action("credit-act-1002", action_type="CreditInvoiceAction", invoiced=-5000)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/credit-act-1002").respond(200, json=credit)
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=invoice_action())
        route = billecta.put("/v1/invoice/credit")
        route.respond(400, json={"Message": "Credit not allowed"})
        rejected = await client.post(USE_CREDIT, json=CREDIT)
        route.mock(side_effect=CONNECT_ERROR)
        unreachable = await client.post(USE_CREDIT, json=CREDIT)

    assert rejected.status_code == 500
    assert set(rejected.json()) == {"message"}
    assert "Credit not allowed" in rejected.json()["message"]
    assert unreachable.status_code == 500
    assert "could not be reached" in unreachable.json()["message"]
    assert "could not be reached" in (await reload(session, Invoice, 1001)).billecta_error_message
