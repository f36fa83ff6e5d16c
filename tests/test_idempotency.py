"""Idempotency-Key on money operations: one Billecta call per key, even under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.idempotency import (
    IdempotencyKeyReused,
    IdempotencyRequest,
    begin,
    purge_expired,
    request_fingerprint,
    store,
)
from billecta_gateway.models import IdempotencyRecord, Invoice
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import (
    CONNECT_ERROR,
    reload,
    seed_invoice,
)
from tests.tasks import fixtures as task_fixtures

# The API on committed sessions (each request on its own connection), shared with tests/tasks.
committed_client = task_fixtures.committed_client

MANUAL = "/limepkg-billecta-integration/billecta/register-manual-payment"
PAYMENT = {
    "invoice_id": 1001,
    "payment_amount": 1000.0,
    "payment_currencycode": "SEK",
    "payment_date": "2025-09-10",
    "payment_mean_code": "BG",
}
KEY = {"Idempotency-Key": "pay-1001-7f3a"}


async def test_repeated_payment_with_the_same_key_reaches_billecta_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        first = await client.post(MANUAL, json=PAYMENT, headers=KEY)
        second = await client.post(MANUAL, json=PAYMENT, headers=KEY)

    assert route.call_count == 1
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"status_code": 200}
    assert "Idempotency-Replayed" not in first.headers
    assert second.headers["Idempotency-Replayed"] == "true"
    stored = await session.scalar(
        select(func.count())
        .select_from(IdempotencyRecord)
        .where(IdempotencyRecord.key == KEY["Idempotency-Key"])
    )
    assert stored == 1


async def test_trailing_slash_variant_shares_the_key(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        await client.post(MANUAL, json=PAYMENT, headers=KEY)
        again = await client.post(f"{MANUAL}/", json=PAYMENT, headers=KEY)
    assert again.status_code == 200
    assert route.call_count == 1


async def test_same_key_with_a_different_body_is_a_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        await client.post(MANUAL, json=PAYMENT, headers=KEY)
        other = await client.post(MANUAL, json={**PAYMENT, "payment_amount": 5.0}, headers=KEY)
    assert other.status_code == 422
    assert "different request" in other.json()["error_message"]
    assert route.call_count == 1


async def test_the_key_is_scoped_to_the_acting_user(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        await client.post(MANUAL, json=PAYMENT, headers={**KEY, "x-lime-user": "anna"})
        await client.post(MANUAL, json=PAYMENT, headers={**KEY, "x-lime-user": "bertil"})
    assert route.call_count == 2


async def test_a_failure_that_never_reached_billecta_is_not_stored(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment")
        route.mock(side_effect=CONNECT_ERROR)
        failed = await client.post(MANUAL, json=PAYMENT, headers=KEY)
        route.mock(side_effect=None, return_value=httpx.Response(200))
        retried = await client.post(MANUAL, json=PAYMENT, headers=KEY)

    assert failed.status_code == 500
    assert retried.status_code == 200
    assert route.call_count == 2
    assert (await reload(session, Invoice, 1001)).billecta_error_message is None


async def test_a_billecta_rejection_is_replayed_without_calling_again(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(400, json={"Message": "Closed"})
        first = await client.post(MANUAL, json=PAYMENT, headers=KEY)
        second = await client.post(MANUAL, json=PAYMENT, headers=KEY)
    assert route.call_count == 1
    assert first.status_code == second.status_code == 500
    assert first.json() == second.json()


async def test_an_expired_key_starts_afresh(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").respond(200)
        await client.post(MANUAL, json=PAYMENT, headers=KEY)
        await session.execute(
            update(IdempotencyRecord).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
        again = await client.post(MANUAL, json=PAYMENT, headers=KEY)
    assert again.status_code == 200
    assert "Idempotency-Replayed" not in again.headers
    assert route.call_count == 2


async def test_an_unusable_key_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post(MANUAL, json=PAYMENT, headers={"Idempotency-Key": "a" * 300})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_fingerprint_ignores_json_key_order_and_trailing_slash() -> None:
    one = request_fingerprint("POST", "/x/", "", b'{"a": 1, "b": 2}')
    two = request_fingerprint("POST", "/x", "", b'{"b":2,"a":1}')
    assert one == two
    assert one != request_fingerprint("POST", "/x", "", b'{"a": 1, "b": 3}')
    assert request_fingerprint("POST", "/x", "b=1&a=2", b"") == request_fingerprint(
        "POST", "/x", "a=2&b=1", b""
    )


async def test_begin_and_store_round_trip(session: AsyncSession) -> None:
    now = datetime.now(UTC)
    request = IdempotencyRequest("k-1", "POST /x user=-", "h" * 64, timedelta(hours=24))
    assert await begin(session, request, now=now) is None
    await store(session, request, status_code=201, body={"requestid": "t"}, now=now)
    replay = await begin(session, request, now=now)
    assert replay is not None
    assert (replay.status_code, replay.body) == (201, {"requestid": "t"})
    changed = IdempotencyRequest("k-1", "POST /x user=-", "g" * 64, timedelta(hours=24))
    with pytest.raises(IdempotencyKeyReused):
        await begin(session, changed, now=now)
    assert await purge_expired(session, now=now + timedelta(hours=25)) == 1


async def test_concurrent_duplicates_reach_billecta_once(
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

    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post("/v1/invoice/payment").mock(side_effect=slow_billecta)
        first = asyncio.create_task(committed_client.post(MANUAL, json=PAYMENT, headers=KEY))
        await asyncio.wait_for(entered.wait(), timeout=5)
        second = await committed_client.post(MANUAL, json=PAYMENT, headers=KEY)
        first_response = await first

    assert route.call_count == 1
    assert first_response.status_code == second.status_code == 200
    assert second.headers["Idempotency-Replayed"] == "true"
