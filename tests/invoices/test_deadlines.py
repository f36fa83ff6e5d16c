"""INTERACTIVE_DEADLINE at the endpoints: nothing sent is a retryable error with Retry-After;
a money operation sent and cut off follows the outcome rule's `uncertain`."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import Priority
from billecta_gateway.config import Settings
from billecta_gateway.invoices.outcomes import UNCERTAIN_MESSAGE
from billecta_gateway.models import Invoice, UncertainOperation
from tests.conftest import BILLECTA_URL, make_settings
from tests.invoices.factories import reload, seed_invoice

BASE = "/limepkg-billecta-integration/billecta"
USER = {"x-lime-user": "anna"}
PAYMENT = {
    "invoice_id": 1001,
    "payment_amount": 1000.0,
    "payment_currencycode": "SEK",
    "payment_date": "2025-09-10",
    "payment_mean_code": "BG",
}


@pytest.fixture
def settings() -> Settings:
    return make_settings(
        interactive_deadline=0.3, billecta_max_concurrency=2, billecta_interactive_reserved=1
    )


async def hold_every_slot(app: Any) -> int:
    limiter = app.state.billecta.limiter
    for _ in range(limiter.max_concurrency):
        await limiter.acquire(Priority.INTERACTIVE)
    return int(limiter.max_concurrency)


def free_slots(app: Any, held: int) -> None:
    for _ in range(held):
        app.state.billecta.limiter.release(Priority.INTERACTIVE)


async def test_a_payment_cut_off_after_sending_is_uncertain(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    received: list[httpx.Request] = []

    async def never_answers(request: httpx.Request) -> httpx.Response:
        received.append(request)
        await asyncio.sleep(10)
        return httpx.Response(200)

    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        billecta.post("/v1/invoice/payment").mock(side_effect=never_answers)
        response = await asyncio.wait_for(
            client.post(f"{BASE}/register-manual-payment", json=PAYMENT, headers=USER), 5
        )

    assert len(received) == 1
    assert response.status_code == 500
    assert response.json() == {"status_code": 500, "error_message": UNCERTAIN_MESSAGE}
    marker = (await session.scalars(select(UncertainOperation))).one()
    assert marker.reference.encode() in received[0].content
    assert (marker.limetype, marker.object_id, marker.settled_at) == ("invoice", 1001, None)
    invoice = await reload(session, Invoice, 1001)
    assert marker.reference in invoice.billecta_error_message


async def test_a_payment_that_found_no_slot_in_time_sent_nothing(
    app: Any, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    held = await hold_every_slot(app)
    try:
        with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
            route = billecta.post("/v1/invoice/payment").respond(200)
            response = await asyncio.wait_for(
                client.post(f"{BASE}/register-manual-payment", json=PAYMENT, headers=USER), 5
            )
    finally:
        free_slots(app, held)

    assert route.call_count == 0
    assert response.status_code == 500  # the endpoint's documented code for "unreachable"
    assert response.headers["Retry-After"] == "5"
    assert UNCERTAIN_MESSAGE not in response.text
    assert "INTERACTIVE_DEADLINE" in response.json()["error_message"]
    assert (await session.scalars(select(UncertainOperation))).all() == []


async def test_a_read_that_found_no_slot_in_time_is_503_with_retry_after(
    app: Any, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    held = await hold_every_slot(app)
    try:
        with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
            route = billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json={})
            response = await asyncio.wait_for(client.get(f"{BASE}/get-invoice-next-event/1001"), 5)
    finally:
        free_slots(app, held)

    assert route.call_count == 0
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "INTERACTIVE_DEADLINE" in response.json()["error_message"]
