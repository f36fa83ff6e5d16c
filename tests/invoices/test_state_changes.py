"""Dispute, cancel dispute, pause and resume: Billecta calls, refresh, error shapes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.invoices.service import MISSING_INVOICE
from billecta_gateway.models import Invoice
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import CONNECT_ERROR, invoice_action, reload, seed_invoice

BASE = "/limepkg-billecta-integration/billecta"

# endpoint, Billecta method, Billecta path, whether the invoice is read back afterwards
OPERATIONS = [
    ("dispute-invoice", "PUT", "/v1/invoice/dispute/inv-act-1001", True),
    ("cancel-disputed-invoice", "DELETE", "/v1/invoice/dispute/inv-act-1001", True),
    ("pause-invoice", "PUT", "/v1/invoice/pause/inv-act-1001", True),
    ("resume-paused-invoice", "PUT", "/v1/invoice/resume/inv-act-1001", True),
]


@pytest.mark.parametrize(("endpoint", "method", "path", "refreshes"), OPERATIONS)
async def test_state_change_calls_billecta_and_clears_the_error(
    client: httpx.AsyncClient,
    session: AsyncSession,
    endpoint: str,
    method: str,
    path: str,
    refreshes: bool,
) -> None:
    await seed_invoice(session, billecta_error_message="old failure", invoicestatus="sent")
    view = invoice_action(disputed="2025-01-10T09:00:00", paused=True)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.request(method, path).respond(200)
        if refreshes:
            billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        response = await client.put(f"{BASE}/{endpoint}", json={"invoice_id": 1001})

    assert response.status_code == 200
    assert response.content == b""
    assert route.call_count == 1
    assert route.calls.last.request.content == b""
    invoice = await reload(session, Invoice, 1001)
    assert invoice.billecta_error_message is None
    if refreshes:
        assert (invoice.disputed, invoice.paused, invoice.invoicenumber) == (True, True, "10023")
    else:
        assert invoice.invoicenumber is None


@pytest.mark.parametrize(("endpoint", "method", "path", "refreshes"), OPERATIONS)
async def test_state_change_of_a_missing_invoice_is_a_404_without_billecta(
    client: httpx.AsyncClient,
    session: AsyncSession,
    endpoint: str,
    method: str,
    path: str,
    refreshes: bool,
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        missing = await client.put(f"{BASE}/{endpoint}", json={"invoice_id": 1001})
        await seed_invoice(session, actionpublicid=None)
        no_id = await client.put(f"{BASE}/{endpoint}", json={"invoice_id": 1001})
    assert billecta.calls.call_count == 0
    for response in (missing, no_id):
        assert response.status_code == 404
        assert response.json() == {"error_message": MISSING_INVOICE}


@pytest.mark.parametrize(("endpoint", "method", "path", "refreshes"), OPERATIONS)
async def test_state_change_failure_in_billecta_is_a_500_recorded_on_the_invoice(
    client: httpx.AsyncClient,
    session: AsyncSession,
    endpoint: str,
    method: str,
    path: str,
    refreshes: bool,
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.request(method, path)
        route.respond(400, json={"Message": "Not allowed in this state"})
        rejected = await client.put(f"{BASE}/{endpoint}", json={"invoice_id": 1001})
        message = (await reload(session, Invoice, 1001)).billecta_error_message
        route.mock(side_effect=CONNECT_ERROR)
        unreachable = await client.put(f"{BASE}/{endpoint}", json={"invoice_id": 1001})

    assert rejected.status_code == 500
    assert set(rejected.json()) == {"error_message"}
    assert "Not allowed in this state" in rejected.json()["error_message"]
    assert "Not allowed in this state" in message
    assert unreachable.status_code == 500
    assert "could not be reached" in unreachable.json()["error_message"]
    assert "could not be reached" in (await reload(session, Invoice, 1001)).billecta_error_message


async def test_refresh_that_fails_after_a_dispute_is_left_to_a_job(
    client: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis, settings: Settings
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.put("/v1/invoice/dispute/inv-act-1001").respond(200)
        billecta.get("/v1/invoice/action/inv-act-1001").mock(side_effect=CONNECT_ERROR)
        response = await client.put(f"{BASE}/dispute-invoice", json={"invoice_id": 1001})

    assert response.status_code == 200
    assert (await reload(session, Invoice, 1001)).billecta_error_message is None
    jobs: list[Any] = await redis.queued_jobs(queue_name=settings.arq_queue_name)
    assert [(job.function, job.args) for job in jobs] == [
        ("update_invoice_in_lime_with_billecta_invoice_data", (1001,))
    ]
