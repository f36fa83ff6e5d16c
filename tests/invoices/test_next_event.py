"""An invoice's next event: reading it and postponing it."""

from __future__ import annotations

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.invoices.service import MISSING_INVOICE, POSTPONE_DAYS_MESSAGE
from billecta_gateway.models import Invoice
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import CONNECT_ERROR, invoice_action, reload, seed_invoice

BASE = "/limepkg-billecta-integration/billecta"
NEXT = f"{BASE}/get-invoice-next-event"
POSTPONE = f"{BASE}/invoice-postpone-next-event/"


async def test_next_event_date_is_read_from_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    view = invoice_action(next_event="Reminder", next_event_date="2025-10-15T00:00:00")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        response = await client.get(f"{NEXT}/1001")
        with_slash = await client.get(f"{NEXT}/1001/")

    assert response.status_code == with_slash.status_code == 200
    assert response.json() == {"next_event_date": "2025-10-15"}
    assert route.call_count == 2


async def test_no_scheduled_event_is_null(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=invoice_action())
        response = await client.get(f"{NEXT}/1001")
    assert response.json() == {"next_event_date": None}


async def test_next_event_of_a_missing_invoice_is_a_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        missing = await client.get(f"{NEXT}/1001")
        await seed_invoice(session, actionpublicid=None)
        no_id = await client.get(f"{NEXT}/1001")
    assert billecta.calls.call_count == 0
    for response in (missing, no_id):
        assert response.status_code == 404
        assert response.json() == {"error_message": MISSING_INVOICE}


@pytest.mark.parametrize(
    ("billecta_answer", "status"),
    [(httpx.Response(400, json={"Message": "Bad id"}), 502), (CONNECT_ERROR, 503)],
)
async def test_next_event_when_billecta_fails(
    client: httpx.AsyncClient, session: AsyncSession, billecta_answer: object, status: int
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/inv-act-1001").mock(side_effect=[billecta_answer])
        response = await client.get(f"{NEXT}/1001")
    assert response.status_code == status
    assert set(response.json()) == {"error_message"}


async def test_postpone_moves_the_next_event_by_the_days_given(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, billecta_error_message="old")
    view = invoice_action(next_event_date="2025-10-15T00:00:00")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        route = billecta.put("/v1/invoice/postpone/inv-act-1001").respond(200)
        response = await client.put(POSTPONE, json={"invoice_id": 1001, "postpone_days": 7})

    assert response.status_code == 200
    assert response.json() == {}
    assert dict(route.calls.last.request.url.params) == {"date": "2025-10-22"}
    assert (await reload(session, Invoice, 1001)).billecta_error_message is None


async def test_postpone_without_a_next_event_uses_the_due_date(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=invoice_action())
        route = billecta.put("/v1/invoice/postpone/inv-act-1001").respond(200)
        response = await client.put(POSTPONE, json={"invoice_id": 1001, "postpone_days": 1})
    assert response.status_code == 200
    assert dict(route.calls.last.request.url.params) == {"date": "2025-02-01"}


@pytest.mark.parametrize("days", [0, -3, "seven", 2.5, None, True])
async def test_postpone_days_must_be_a_positive_integer(
    client: httpx.AsyncClient, days: object
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        response = await client.put(POSTPONE, json={"invoice_id": 1001, "postpone_days": days})
    assert response.status_code == 400
    assert response.json() == {"error_message": POSTPONE_DAYS_MESSAGE}
    assert billecta.calls.call_count == 0


async def test_postpone_of_a_missing_invoice_is_a_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        missing = await client.put(POSTPONE, json={"invoice_id": 1001, "postpone_days": 7})
        await seed_invoice(session, actionpublicid=None)
        no_id = await client.put(POSTPONE, json={"invoice_id": 1001, "postpone_days": 7})
    assert billecta.calls.call_count == 0
    assert missing.status_code == no_id.status_code == 404
    assert missing.json() == {"error_message": MISSING_INVOICE}


async def test_postpone_failure_in_billecta_is_recorded_on_the_invoice(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    view = invoice_action(next_event_date="2025-10-15T00:00:00")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        route = billecta.put("/v1/invoice/postpone/inv-act-1001")
        route.respond(400, json={"Message": "Cannot postpone"})
        rejected = await client.put(POSTPONE, json={"invoice_id": 1001, "postpone_days": 7})
        message = (await reload(session, Invoice, 1001)).billecta_error_message
        route.mock(side_effect=CONNECT_ERROR)
        unreachable = await client.put(POSTPONE, json={"invoice_id": 1001, "postpone_days": 7})

    assert rejected.status_code == 502
    assert "Cannot postpone" in rejected.json()["error_message"]
    assert "Cannot postpone" in message
    assert unreachable.status_code == 503
    assert set(unreachable.json()) == {"error_message"}


async def test_repeated_postpone_with_the_same_key_postpones_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    view = invoice_action(next_event_date="2025-10-15T00:00:00")
    headers = {"Idempotency-Key": "postpone-1001"}
    body = {"invoice_id": 1001, "postpone_days": 7}
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=view)
        route = billecta.put("/v1/invoice/postpone/inv-act-1001").respond(200)
        await client.put(POSTPONE, json=body, headers=headers)
        again = await client.put(POSTPONE.rstrip("/"), json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == {}
    assert route.call_count == 1
