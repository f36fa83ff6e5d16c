"""Money operations are exactly once without the caller's help (no Idempotency-Key).

An identical repeat within IDEMPOTENCY_WINDOW sends nothing to Billecta and is a 409 in the
endpoint's error shape; a request sent without an answer is ``uncertain`` on its object and an
identical request then sends nothing either, until a refresh settles it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.invoices.outcomes import UNCERTAIN_MESSAGE
from billecta_gateway.invoices.refresh import refresh_invoice
from billecta_gateway.models import IdempotencyRecord, Invoice, UncertainOperation
from tests.conftest import BILLECTA_URL, make_settings
from tests.invoices.factories import (
    CREDITOR_PUBLIC_ID,
    invoice_action,
    reload,
    seed_debtcollection,
    seed_invoice,
    seed_payment,
    sent_json,
)
from tests.tasks import fixtures as task_fixtures

# The API on committed sessions (each request on its own connection), shared with tests/tasks.
committed_client = task_fixtures.committed_client

BASE = "/limepkg-billecta-integration/billecta"
USER = {"x-lime-user": "anna"}
PAYMENT = {
    "invoice_id": 1001,
    "payment_amount": 1000.0,
    "payment_currencycode": "SEK",
    "payment_date": "2025-09-10",
    "payment_mean_code": "BG",
}
TIMEOUT = httpx.ReadTimeout("no answer")


async def _invoice(session: AsyncSession) -> None:
    await seed_invoice(session)


async def _credit_pair(session: AsyncSession) -> None:
    await seed_invoice(session)
    await seed_invoice(session, id=1002, actionpublicid="credit-act-1002", is_credit_invoice=True)


async def _case(session: AsyncSession) -> None:
    await seed_debtcollection(session)


async def _payment_and_invoice(session: AsyncSession) -> None:
    await seed_invoice(session)
    await seed_payment(session)


def _refresh(billecta: respx.MockRouter) -> None:
    billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=invoice_action())


def _credit_reads(billecta: respx.MockRouter) -> None:
    credit = invoice_action("credit-act-1002", action_type="CreditInvoiceAction", invoiced=-30_000)
    billecta.get("/v1/invoice/action/credit-act-1002").respond(200, json=credit)
    _refresh(billecta)


def _postpone_reads(billecta: respx.MockRouter) -> None:
    view = invoice_action(next_event_date="2025-02-10T00:00:00")
    billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)


def _case_reads(billecta: respx.MockRouter) -> None:
    billecta.get("/v1/debtcollection/action/dc-act-3001").respond(
        200, json={"ActionPublicId": "dc-act-3001", "State": {"NextEventDate": "2025-03-01"}}
    )


def _nothing(billecta: respx.MockRouter) -> None:
    return None


@dataclass(frozen=True)
class Operation:
    """One money operation: how to call it and the Billecta call it must make once."""

    name: str
    method: str
    path: str
    body: dict[str, Any] | None
    seed: Callable[[AsyncSession], Awaitable[None]]
    billecta_method: str
    billecta_path: str
    billecta_answer: dict[str, Any] | list[Any] | None = None
    reads: Callable[[respx.MockRouter], None] = _nothing
    error_key: str = "error_message"


OPERATIONS = [
    Operation(
        "manual payment",
        "POST",
        "/register-manual-payment",
        PAYMENT,
        _invoice,
        "POST",
        "/v1/invoice/payment",
    ),
    Operation(
        "write-off",
        "POST",
        "/register-writeoff-payment",
        {
            "invoiceid": 1001,
            "amount": 250.5,
            "vat": "25",
            "comment": "Uncollectible",
            "paymentdate": "2025-09-10",
        },
        _invoice,
        "POST",
        "/v1/invoice/payment",
        error_key="message",
    ),
    Operation(
        "reminder invoice",
        "POST",
        "/create-reminder-invoice",
        {
            "invoice_action_public_id": "inv-act-1001",
            "delivery_method": "email",
            "reminder_fee": 60,
            "currency_code": "SEK",
            "payment_terms_in_days": 14,
        },
        _invoice,
        "POST",
        "/v1/invoice/reminder",
        reads=_refresh,
    ),
    Operation(
        "swish request",
        "POST",
        "/swish-request/inv-act-1001?phone=0701234567&message=Faktura",
        None,
        _invoice,
        "POST",
        "/v1/payments/swish/inv-act-1001",
        {"PublicId": "tok-1"},
        error_key="message",
    ),
    Operation(
        "send to debt collection",
        "POST",
        "/send-to-debt-collection",
        {"invoice_id": 1001, "delivery_method": "email"},
        _invoice,
        "POST",
        "/v1/debtcollection/actionfrominvoice",
        {"PublicId": "dc-new"},
        reads=_refresh,
    ),
    Operation(
        "bailiff",
        "PUT",
        "/send-to-bailiff",
        {"debtcollection_id": 3001, "bailiff_option": "bailiff"},
        _case,
        "PUT",
        "/v1/debtcollection/SendToBailiff/dc-act-3001",
    ),
    Operation(
        "long-term surveillance",
        "PUT",
        "/send-to-long-term-surveillance",
        {"debtcollection_id": 3001},
        _case,
        "PUT",
        "/v1/debtcollection/SendToLongTermSurveillance/dc-act-3001",
    ),
    Operation(
        "cancel debt collection",
        "PUT",
        "/cancel-debtcollection",
        {"debtcollection_id": 3001},
        _case,
        "PUT",
        "/v1/debtcollection/cancel/dc-act-3001",
    ),
    Operation(
        "use credit",
        "POST",
        "/use-credit-on-invoice",
        {"creditinvoiceid": 1002, "invoicetocreditid": 1001},
        _credit_pair,
        "PUT",
        "/v1/invoice/credit",
        reads=_credit_reads,
        error_key="message",
    ),
    Operation(
        "match payment",
        "POST",
        "/match-payment/",
        {"payment_billecta_id": "unh-pay-4001", "invoice_id": 1001},
        _payment_and_invoice,
        "POST",
        f"/v1/payments/matchpayments/{CREDITOR_PUBLIC_ID}",
        [{"UnhandledPaymentPublicId": "unh-pay-4001", "Successfull": True}],
    ),
    Operation(
        "delete unhandled payment",
        "POST",
        "/delete-unhandled-payment/",
        {"_id": 4001, "bookkeepingaccount": "1501", "transactiondate": "2025-09-10"},
        _payment_and_invoice,
        "DELETE",
        "/v1/payments/unhandledpayment/unh-pay-4001",
    ),
    Operation(
        "postpone invoice",
        "PUT",
        "/invoice-postpone-next-event/",
        {"invoice_id": 1001, "postpone_days": 5},
        _invoice,
        "PUT",
        "/v1/invoice/postpone/inv-act-1001",
        reads=_postpone_reads,
    ),
    Operation(
        "postpone debt collection",
        "PUT",
        "/postpone-debtcollection-next-event/",
        {"debtcollection_id": 3001, "postpone_days": 5},
        _case,
        "PUT",
        "/v1/debtcollection/postpone/dc-act-3001",
        reads=_case_reads,
    ),
]


async def _send(client: httpx.AsyncClient, op: Operation, **headers: str) -> httpx.Response:
    return await client.request(
        op.method, f"{BASE}{op.path}", json=op.body, headers={**USER, **headers}
    )


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.name for op in OPERATIONS])
async def test_identical_repeat_without_a_key_sends_nothing_and_is_a_409(
    client: httpx.AsyncClient, session: AsyncSession, op: Operation
) -> None:
    await op.seed(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        op.reads(billecta)
        route = billecta.request(op.billecta_method, op.billecta_path).respond(
            200, json=op.billecta_answer
        )
        first = await _send(client, op)
        repeat = await _send(client, op)

    assert first.status_code in (200, 201), first.text
    assert route.call_count == 1
    assert repeat.status_code == 409
    message = repeat.json()[op.error_key]
    assert message.startswith("An identical request was made at ")
    assert "it was not sent to Billecta again" in message
    record = (await session.scalars(select(IdempotencyRecord))).one()
    assert record.key.startswith("auto:")
    assert record.scope.endswith("user=anna")
    assert record.expires_at - record.created_at == timedelta(minutes=10)


async def test_another_user_or_another_comment_is_a_new_request(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        first = await client.post(f"{BASE}/register-manual-payment", json=PAYMENT, headers=USER)
        other_user = await client.post(
            f"{BASE}/register-manual-payment", json=PAYMENT, headers={"x-lime-user": "bo"}
        )
        other_amount = await client.post(
            f"{BASE}/register-manual-payment",
            json={**PAYMENT, "payment_amount": 999},
            headers=USER,
        )
        same_amount_written_differently = await client.post(
            f"{BASE}/register-manual-payment",
            json={**PAYMENT, "payment_amount": 1000},
            headers=USER,
        )

    assert (first.status_code, other_user.status_code, other_amount.status_code) == (
        200,
        200,
        200,
    )
    assert same_amount_written_differently.status_code == 409
    assert route.call_count == 3


async def test_the_window_passing_allows_the_same_request_again(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        await client.post(f"{BASE}/register-manual-payment", json=PAYMENT, headers=USER)
        await session.execute(
            update(IdempotencyRecord).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
        again = await client.post(f"{BASE}/register-manual-payment", json=PAYMENT, headers=USER)

    assert again.status_code == 200
    assert route.call_count == 2


async def test_explicit_key_still_replays_its_first_answer(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    key = {"Idempotency-Key": "pay-1001-a"}
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        first = await client.post(
            f"{BASE}/register-manual-payment", json=PAYMENT, headers={**USER, **key}
        )
        replay = await client.post(
            f"{BASE}/register-manual-payment", json=PAYMENT, headers={**USER, **key}
        )

    assert first.status_code == replay.status_code == 200
    assert replay.headers["Idempotency-Replayed"] == "true"
    assert route.call_count == 1
    record = (await session.scalars(select(IdempotencyRecord))).one()
    assert record.expires_at - record.created_at == timedelta(hours=24)


async def test_a_timeout_after_sending_is_uncertain_and_blocks_an_identical_request(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").mock(side_effect=TIMEOUT)
        response = await client.post(f"{BASE}/register-manual-payment", json=PAYMENT, headers=USER)
        # Even once the keyless window has passed, the uncertain marker still refuses it.
        await session.execute(
            update(IdempotencyRecord).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
        repeat = await client.post(f"{BASE}/register-manual-payment", json=PAYMENT, headers=USER)

    assert route.call_count == 1
    assert response.status_code == 500
    assert response.json() == {"status_code": 500, "error_message": UNCERTAIN_MESSAGE}
    marker = (await session.scalars(select(UncertainOperation))).one()
    sent_reference = sent_json(route.calls.last)["PaymentReferenceText"]
    assert marker.reference == sent_reference
    assert (marker.limetype, marker.object_id, marker.actor) == ("invoice", 1001, "anna")
    assert marker.settled_at is None
    invoice = await reload(session, Invoice, 1001)
    assert UNCERTAIN_MESSAGE in invoice.billecta_error_message
    assert sent_reference in invoice.billecta_error_message
    assert repeat.status_code == 409
    assert sent_reference in repeat.json()["error_message"]


async def test_a_refused_connection_is_not_uncertain_and_may_be_retried(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment")
        route.side_effect = [httpx.ConnectError("refused"), httpx.Response(200)]
        refused = await client.post(f"{BASE}/register-manual-payment", json=PAYMENT, headers=USER)
        retried = await client.post(f"{BASE}/register-manual-payment", json=PAYMENT, headers=USER)

    assert refused.status_code == 500
    assert UNCERTAIN_MESSAGE not in refused.text
    assert retried.status_code == 200
    assert route.call_count == 2
    assert (await session.scalars(select(UncertainOperation))).all() == []


async def test_the_next_refresh_settles_an_uncertain_payment(
    app: Any, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").mock(side_effect=TIMEOUT)
        await client.post(f"{BASE}/register-manual-payment", json=PAYMENT, headers=USER)
        reference = sent_json(route.calls.last)["PaymentReferenceText"]
        view = invoice_action(paid=100_000, stage="Completed")
        view["Events"] = [{"Title": "Betalning", "Content": f"Inbetalning {reference}"}]
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        await refresh_invoice(
            session, billecta=app.state.billecta, invoice_id=1001, settings=make_settings()
        )
        await session.commit()

    marker = (await session.scalars(select(UncertainOperation))).one()
    assert marker.settled_at is not None
    assert marker.settled_by == "refresh: applied"
    invoice = await reload(session, Invoice, 1001)
    assert invoice.billecta_error_message is None
    assert invoice.invoicestatus == "paid"


async def test_swish_answered_without_a_token_is_uncertain(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    path = f"{BASE}/swish-request/inv-act-1001?phone=0701234567"
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/payments/swish/inv-act-1001").respond(200, json={})
        response = await client.post(path, headers=USER)
        repeat = await client.post(path, headers=USER)

    assert route.call_count == 1
    assert response.status_code == 500
    assert response.json() == {"error": "OUTCOME_UNKNOWN", "message": UNCERTAIN_MESSAGE}
    assert repeat.status_code == 409
    assert repeat.json()["error"] == "DUPLICATE_REQUEST"
    marker = (await session.scalars(select(UncertainOperation))).one()
    assert (marker.limetype, marker.object_id) == ("invoice", 1001)


async def test_two_identical_keyless_requests_at_once_reach_billecta_once(
    committed_client: httpx.AsyncClient,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with committed_sessionmaker() as session:
        await seed_invoice(session)
    entered = asyncio.Event()

    async def slow_billecta(request: httpx.Request) -> httpx.Response:
        entered.set()
        await asyncio.sleep(0.3)
        return httpx.Response(200)

    url = f"{BASE}/register-manual-payment"
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").mock(side_effect=slow_billecta)
        first = asyncio.create_task(committed_client.post(url, json=PAYMENT, headers=USER))
        await asyncio.wait_for(entered.wait(), timeout=5)
        second = await committed_client.post(url, json=PAYMENT, headers=USER)
        first_response = await first

    assert route.call_count == 1
    assert first_response.status_code == 200
    assert second.status_code == 409
