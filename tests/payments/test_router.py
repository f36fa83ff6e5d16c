"""Matching and deleting unhandled payments."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Creditor, Invoice, Payment
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import (
    CONNECT_ERROR,
    CREDITOR_ID,
    CREDITOR_PUBLIC_ID,
    audit_rows,
    reload,
    seed_invoice,
    seed_payment,
    sent_json,
)

BASE = "/limepkg-billecta-integration/billecta"
MATCH = f"{BASE}/match-payment/"
DELETE = f"{BASE}/delete-unhandled-payment/"
MATCH_BODY = {"payment_billecta_id": "unh-pay-4001", "invoice_id": 1001}
MATCH_PATH = f"/v1/payments/matchpayments/{CREDITOR_PUBLIC_ID}"


async def test_match_payment_uses_the_payment_on_the_invoice_in_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    await seed_payment(session, paymentdate=date(2025, 9, 1), billecta_error_message="old")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post(MATCH_PATH).respond(
            200, json=[{"UnhandledPaymentPublicId": "unh-pay-4001", "Successfull": True}]
        )
        response = await client.post(MATCH, json=MATCH_BODY)
        no_slash = await client.post(MATCH.rstrip("/"), json=MATCH_BODY)

    # The path without the slash is the same operation: its identical repeat sends nothing.
    assert response.status_code == 200
    assert no_slash.status_code == 409
    assert route.call_count == 1
    assert response.json() == {"status_code": 200, "status": "The match was successful"}
    assert sent_json(route.calls[0]) == [
        {
            "UnhandledPaymentPublicId": "unh-pay-4001",
            "ActionPublicId": "inv-act-1001",
            "PaymentDate": "2025-09-01T00:00:00",
        }
    ]
    assert (await reload(session, Payment, 4001)).billecta_error_message is None
    audit = [row for row in await audit_rows(session) if row.result == "ok"][-1]
    assert (audit.limetype, audit.object_id) == ("payment", 4001)


async def test_match_refused_by_billecta_is_a_502_with_its_reason(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    await seed_payment(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.post(MATCH_PATH).respond(
            200,
            json=[
                {
                    "UnhandledPaymentPublicId": "unh-pay-4001",
                    "Successfull": False,
                    "ResponseMessage": "Invoice already paid",
                }
            ],
        )
        billecta.get("/v1/payments/unhandledpayment/unh-pay-4001").respond(
            200, json={"UnhandledPaymentPublicId": "unh-pay-4001", "State": "Unhandled"}
        )
        response = await client.post(MATCH, json=MATCH_BODY)
    assert response.status_code == 502
    assert response.json() == {
        "error_message": "Billecta did not match the payment: Invoice already paid"
    }
    assert "Invoice already paid" in (await reload(session, Payment, 4001)).billecta_error_message


async def test_match_with_missing_objects_is_a_404_without_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        no_payment = await client.post(MATCH, json=MATCH_BODY)
        await seed_payment(session)
        no_invoice = await client.post(MATCH, json=MATCH_BODY)
        await seed_invoice(session, actionpublicid=None)
        invoice_not_synced = await client.post(MATCH, json=MATCH_BODY)
        invoice = await reload(session, Invoice, 1001)
        invoice.actionpublicid = "inv-act-1001"
        creditor = await session.get(Creditor, CREDITOR_ID)
        assert creditor is not None
        creditor.creditorpublicid = None
        await session.commit()
        creditor_not_synced = await client.post(MATCH, json=MATCH_BODY)

    assert billecta.calls.call_count == 0
    assert no_payment.json() == {"error_message": "No payment with Billecta id unh-pay-4001"}
    assert no_invoice.json() == {"error_message": "Invoice 1001 not found"}
    assert "actionpublicid" in invoice_not_synced.json()["error_message"]
    assert "creditor" in creditor_not_synced.json()["error_message"]
    for response in (no_payment, no_invoice, invoice_not_synced, creditor_not_synced):
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("billecta_answer", "status", "reason"),
    [
        (httpx.Response(400, json={"Message": "Unknown payment"}), 502, "Unknown payment"),
        (CONNECT_ERROR, 503, "could not be reached"),
    ],
)
async def test_match_when_billecta_fails(
    client: httpx.AsyncClient,
    session: AsyncSession,
    billecta_answer: object,
    status: int,
    reason: str,
) -> None:
    await seed_invoice(session)
    await seed_payment(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.post(MATCH_PATH).mock(side_effect=[billecta_answer])
        response = await client.post(MATCH, json=MATCH_BODY)
    assert response.status_code == status
    assert reason in response.json()["error_message"]
    assert reason in (await reload(session, Payment, 4001)).billecta_error_message


DELETE_BODY = {"_id": 4001, "bookkeepingaccount": "1501", "transactiondate": "2025-09-10"}


async def test_delete_unhandled_payment_books_it_and_marks_it_deleted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_payment(session, billecta_error_message="old")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.delete("/v1/payments/unhandledpayment/unh-pay-4001").respond(200)
        response = await client.post(DELETE, json=DELETE_BODY)

    assert response.status_code == 200
    assert response.json() == {"status_code": 200}
    assert dict(route.calls.last.request.url.params) == {
        "bookkeepingaccount": "1501",
        "transactiondate": "2025-09-10",
    }
    payment = await reload(session, Payment, 4001)
    assert (payment.paymentstatus, payment.billecta_error_message) == ("deleted", None)


async def test_delete_uses_the_payment_reference_when_there_is_no_unhandled_id(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_payment(session, unhandledpaymentpublicid=None, paymentreferenceid="ref-9")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.delete("/v1/payments/unhandledpayment/ref-9").respond(200)
        response = await client.post(DELETE, json={**DELETE_BODY, "bookkeepingaccount": 1501})
    assert response.status_code == 200


async def test_delete_of_a_missing_payment_is_the_documented_500(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        missing = await client.post(DELETE, json=DELETE_BODY)
        await seed_payment(session, unhandledpaymentpublicid=None)
        no_reference = await client.post(DELETE, json=DELETE_BODY)
    assert billecta.calls.call_count == 0
    assert missing.status_code == no_reference.status_code == 500
    assert missing.json() == {"status_code": 500, "error_message": "Payment 4001 not found"}
    assert no_reference.json()["status_code"] == 500
    assert "paymentreferenceid" in no_reference.json()["error_message"]


@pytest.mark.parametrize(
    ("billecta_answer", "reason"),
    [
        (httpx.Response(400, json={"Message": "Already handled"}), "Already handled"),
        (CONNECT_ERROR, "could not be reached"),
    ],
)
async def test_delete_when_billecta_fails_is_a_500_and_keeps_the_payment(
    client: httpx.AsyncClient, session: AsyncSession, billecta_answer: object, reason: str
) -> None:
    await seed_payment(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.delete("/v1/payments/unhandledpayment/unh-pay-4001").mock(
            side_effect=[billecta_answer]
        )
        response = await client.post(DELETE, json=DELETE_BODY)
    assert response.status_code == 500
    assert response.json()["status_code"] == 500
    assert reason in response.json()["error_message"]
    payment = await reload(session, Payment, 4001)
    assert payment.paymentstatus == "unmatched"
    assert reason in payment.billecta_error_message


async def test_delete_needs_the_underscore_id_field(client: httpx.AsyncClient) -> None:
    body = {"id": 4001, "bookkeepingaccount": "1501", "transactiondate": "2025-09-10"}
    response = await client.post(DELETE, json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "_id"
