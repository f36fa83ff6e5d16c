"""Debt collection endpoints: next event, postpone, cancel, surveillance and bailiff."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.debtcollections.service import (
    BAILIFF_OPTION_MESSAGE,
    MISSING_NEXT_EVENT,
    POSTPONE_DAYS_MESSAGE,
)
from billecta_gateway.models import DebtCollection
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import CONNECT_ERROR, reload, seed_debtcollection

BASE = "/limepkg-billecta-integration/billecta"
NEXT = f"{BASE}/get-debtcollection-next-event"
POSTPONE = f"{BASE}/postpone-debtcollection-next-event/"
ACTION_PATH = "/v1/debtcollection/action/dc-act-3001"


def _case(next_event_date: str | None = "2025-11-01T00:00:00") -> dict[str, Any]:
    return {
        "ActionPublicId": "dc-act-3001",
        "State": {"Stage": "DebtCollectionInvoiceSent", "NextEventDate": next_event_date},
    }


async def test_next_event_date_of_a_case(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await seed_debtcollection(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.get(ACTION_PATH)
        route.respond(200, json=_case())
        scheduled = await client.get(f"{NEXT}/3001")
        route.respond(200, json=_case(None))
        none = await client.get(f"{NEXT}/3001/")
    assert scheduled.json() == {"next_event_date": "2025-11-01"}
    assert none.json() == {"next_event_date": None}


async def test_next_event_of_a_missing_case_is_the_documented_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        missing = await client.get(f"{NEXT}/3001")
        await seed_debtcollection(session, actionpublicid=None)
        no_id = await client.get(f"{NEXT}/3001")
    assert billecta.calls.call_count == 0
    for response in (missing, no_id):
        assert response.status_code == 404
        assert response.json() == {"error_message": MISSING_NEXT_EVENT}


@pytest.mark.parametrize(
    ("billecta_answer", "status"),
    [
        (httpx.Response(404), 404),
        (httpx.Response(400, json={"Message": "Bad"}), 502),
        (CONNECT_ERROR, 503),
    ],
)
async def test_next_event_when_billecta_fails(
    client: httpx.AsyncClient, session: AsyncSession, billecta_answer: object, status: int
) -> None:
    await seed_debtcollection(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get(ACTION_PATH).mock(side_effect=[billecta_answer])
        response = await client.get(f"{NEXT}/3001")
    assert response.status_code == status
    assert set(response.json()) == {"error_message"}
    if status == 404:
        assert response.json() == {"error_message": MISSING_NEXT_EVENT}


async def test_postpone_moves_the_cases_next_event(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_debtcollection(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get(ACTION_PATH).respond(200, json=_case())
        route = billecta.put("/v1/debtcollection/postpone/dc-act-3001").respond(200)
        response = await client.put(POSTPONE, json={"debtcollection_id": 3001, "postpone_days": 30})
    assert response.status_code == 200
    assert response.content == b""
    assert dict(route.calls.last.request.url.params) == {"date": "2025-12-01"}


@pytest.mark.parametrize("days", [0, -1, "x", None])
async def test_postpone_with_invalid_days_is_a_400(client: httpx.AsyncClient, days: object) -> None:
    response = await client.put(POSTPONE, json={"debtcollection_id": 3001, "postpone_days": days})
    assert response.status_code == 400
    assert response.json() == {"error_message": POSTPONE_DAYS_MESSAGE}


async def test_postpone_other_invalid_input_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.put(POSTPONE, json={"postpone_days": 3})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "debtcollection_id"


async def test_postpone_of_a_missing_case_is_a_400_without_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = {"debtcollection_id": 3001, "postpone_days": 3}
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        missing = await client.put(POSTPONE, json=body)
        await seed_debtcollection(session, actionpublicid=None)
        no_id = await client.put(POSTPONE, json=body)
    assert billecta.calls.call_count == 0
    assert missing.status_code == no_id.status_code == 400
    assert missing.json() == {"error_message": "Debt collection 3001 not found"}


async def test_postpone_failure_in_billecta_is_a_500_recorded_on_the_case(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_debtcollection(session)
    body = {"debtcollection_id": 3001, "postpone_days": 3}
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get(ACTION_PATH).respond(200, json=_case())
        route = billecta.put("/v1/debtcollection/postpone/dc-act-3001")
        route.respond(400, json={"Message": "Cannot postpone now"})
        rejected = await client.put(POSTPONE, json=body)
        route.mock(side_effect=CONNECT_ERROR)
        unreachable = await client.put(POSTPONE, json=body)
    assert rejected.status_code == unreachable.status_code == 500
    assert "Cannot postpone now" in rejected.json()["error_message"]
    assert "could not be reached" in unreachable.json()["error_message"]
    case = await reload(session, DebtCollection, 3001)
    assert "could not be reached" in case.billecta_error_message


# endpoint, extra body, Billecta path (all PUT)
OPERATIONS = [
    ("cancel-debtcollection", {}, "/v1/debtcollection/cancel/dc-act-3001"),
    (
        "send-to-long-term-surveillance",
        {},
        "/v1/debtcollection/SendToLongTermSurveillance/dc-act-3001",
    ),
    (
        "send-to-bailiff",
        {"bailiff_option": "bailiff"},
        "/v1/debtcollection/SendToBailiff/dc-act-3001",
    ),
    (
        "send-to-bailiff",
        {"bailiff_option": "assistance-with-bailiff"},
        "/v1/debtcollection/SendToAssistanceWithBailiff/dc-act-3001",
    ),
]


@pytest.mark.parametrize(("endpoint", "extra", "path"), OPERATIONS)
async def test_case_operation_calls_billecta_and_clears_the_error(
    client: httpx.AsyncClient,
    session: AsyncSession,
    endpoint: str,
    extra: dict[str, str],
    path: str,
) -> None:
    case = await seed_debtcollection(session)
    case.billecta_error_message = "old"
    await session.commit()
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.put(path).respond(200)
        response = await client.put(f"{BASE}/{endpoint}", json={"debtcollection_id": 3001, **extra})
    assert response.status_code == 200
    assert response.content == b""
    assert route.call_count == 1
    assert (await reload(session, DebtCollection, 3001)).billecta_error_message is None


@pytest.mark.parametrize(("endpoint", "extra", "path"), OPERATIONS)
async def test_case_operation_on_a_missing_case_is_a_404_without_billecta(
    client: httpx.AsyncClient,
    session: AsyncSession,
    endpoint: str,
    extra: dict[str, str],
    path: str,
) -> None:
    body = {"debtcollection_id": 3001, **extra}
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        missing = await client.put(f"{BASE}/{endpoint}", json=body)
        await seed_debtcollection(session, actionpublicid=None)
        no_id = await client.put(f"{BASE}/{endpoint}", json=body)
    assert billecta.calls.call_count == 0
    assert missing.status_code == no_id.status_code == 404
    assert missing.json() == {"error_message": "Debt collection 3001 not found"}
    assert "actionpublicid" in no_id.json()["error_message"]


@pytest.mark.parametrize(("endpoint", "extra", "path"), OPERATIONS)
async def test_case_operation_failure_in_billecta_is_a_500_recorded_on_the_case(
    client: httpx.AsyncClient,
    session: AsyncSession,
    endpoint: str,
    extra: dict[str, str],
    path: str,
) -> None:
    await seed_debtcollection(session)
    body = {"debtcollection_id": 3001, **extra}
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.put(path)
        route.respond(400, json={"Message": "Not in a state for this"})
        rejected = await client.put(f"{BASE}/{endpoint}", json=body)
        message = (await reload(session, DebtCollection, 3001)).billecta_error_message
        route.mock(side_effect=CONNECT_ERROR)
        unreachable = await client.put(f"{BASE}/{endpoint}", json=body)
    assert rejected.status_code == unreachable.status_code == 500
    assert set(rejected.json()) == {"error_message"}
    assert "Not in a state for this" in rejected.json()["error_message"]
    assert "Not in a state for this" in message
    assert "could not be reached" in unreachable.json()["error_message"]


async def test_unknown_bailiff_option_is_a_400(client: httpx.AsyncClient) -> None:
    body = {"debtcollection_id": 3001, "bailiff_option": "eviction"}
    response = await client.put(f"{BASE}/send-to-bailiff", json=body)
    assert response.status_code == 400
    assert response.json() == {"error_message": BAILIFF_OPTION_MESSAGE}
