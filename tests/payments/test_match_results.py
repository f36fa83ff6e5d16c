"""match-payment succeeds only on Billecta's successful result for this very payment."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Payment
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import CREDITOR_PUBLIC_ID, reload, seed_invoice, seed_payment

MATCH = "/limepkg-billecta-integration/billecta/match-payment/"
BODY = {"payment_billecta_id": "unh-pay-4001", "invoice_id": 1001}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (None, "without a result"),
        ([], "without a result"),
        (
            [
                {
                    "UnhandledPaymentPublicId": "unh-pay-9999",
                    "Successfull": True,
                    "ResponseMessage": "Matched",
                }
            ],
            "another payment (unh-pay-9999: Matched)",
        ),
        ([{"UnhandledPaymentPublicId": "unh-pay-4001"}], "no reason was given"),
    ],
    ids=["empty body", "empty list", "another payment", "no Successfull flag"],
)
async def test_anything_but_a_successful_result_for_this_payment_is_a_502(
    client: httpx.AsyncClient, session: AsyncSession, answer: Any, reason: str
) -> None:
    await seed_invoice(session)
    await seed_payment(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        match = billecta.post(f"/v1/payments/matchpayments/{CREDITOR_PUBLIC_ID}")
        match.respond(200) if answer is None else match.respond(200, json=answer)
        refresh = billecta.get("/v1/payments/unhandledpayment/unh-pay-4001").respond(
            200, json={"UnhandledPaymentPublicId": "unh-pay-4001", "State": "UsedOnInvoice"}
        )
        response = await client.post(MATCH, json=BODY)

    assert response.status_code == 502
    message = response.json()["error_message"]
    assert message.startswith("Billecta did not match the payment: ")
    assert reason in message
    assert (match.call_count, refresh.call_count) == (1, 1)
    payment = await reload(session, Payment, 4001)
    assert payment.billecta_error_message == message
    assert payment.paymentstatus == "usedoninvoice"
