"""Fault injection: errors, 429 with Retry-After, lost answers, latency, timeouts over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from billecta_gateway.billecta import (
    BillectaApiRequestException,
    BillectaClient,
)
from billecta_gateway.sandbox import Sandbox, sandbox_server
from tests.sandbox.conftest import AUTH, CID, debtor_model, make_config


@pytest.fixture
async def retrying(sandbox_app: FastAPI) -> AsyncIterator[tuple[BillectaClient, list[float]]]:
    """A client that retries idempotent calls, recording its waits instead of sleeping."""
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    client = BillectaClient(
        base_url="http://sandbox",
        authentication=AUTH,
        transport=httpx.ASGITransport(app=sandbox_app),
        max_retries=3,
        sleep=no_sleep,
    )
    yield client, waits
    await client.aclose()


async def put_fault(control: httpx.AsyncClient, route: str, **spec: object) -> None:
    response = await control.put(f"/_sandbox/faults/{route}", json=spec)
    assert response.status_code == 200, response.text


async def test_an_error_fault_hits_the_next_requests_then_disappears(
    retrying: tuple[BillectaClient, list[float]], control: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    client, waits = retrying
    await put_fault(control, "get_creditor", kind="error", status=503, times=2)
    creditor = await client.get_creditor(CID)
    assert creditor.creditor_public_id == CID
    assert len(waits) == 2
    log = (await control.get("/_sandbox/requests", params={"route": "get_creditor"})).json()
    assert [r["status"] for r in log["requests"]] == [503, 503, 200]
    assert (await control.get("/_sandbox/faults")).json()["rules"] == {}


async def test_429_carries_retry_after_and_the_client_honours_it(
    retrying: tuple[BillectaClient, list[float]], control: httpx.AsyncClient
) -> None:
    client, waits = retrying
    await put_fault(control, "get_creditor", kind="rate_limit", retry_after=2.5, times=1)
    raw = await control.get(f"/v1/creditors/creditor/{CID}", headers={"Authorization": AUTH})
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "2.5"
    await put_fault(control, "get_creditor", kind="rate_limit", retry_after=2.5, times=1)
    await client.get_creditor(CID)
    assert waits == [2.5]


async def test_an_error_rate_hits_about_that_share_of_requests(
    billecta: BillectaClient, control: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await put_fault(control, "*", kind="error", rate=0.3, status=500)
    errors: list[BillectaApiRequestException] = []
    for _ in range(200):
        try:
            await billecta.get_creditor(CID)
        except BillectaApiRequestException as exc:
            errors.append(exc)
    failures = len(errors)
    assert 35 <= failures <= 85
    assert all(e.status_code == 500 and e.retryable for e in errors)
    assert sandbox.requests.statuses[500] == failures


async def test_a_lost_answer_leaves_the_change_made(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    await put_fault(
        control, "create_debtor", kind="error", status=502, after_handling=True, times=1
    )
    with pytest.raises(BillectaApiRequestException, match="502"):
        await billecta.create_debtor(debtor_model("lost-1"))
    found = await billecta.get_debtor_by_external_id(CID, "lost-1")
    assert found is not None


async def test_latency_is_added_per_route_and_globally(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    await put_fault(control, "get_creditor", kind="latency", latency_ms=80)
    started = time.perf_counter()
    await billecta.get_creditor(CID)
    assert time.perf_counter() - started >= 0.08
    await control.delete("/_sandbox/faults")
    await control.put("/_sandbox/latency", json={"latency_ms": 60})
    started = time.perf_counter()
    await billecta.list_creditors()
    assert time.perf_counter() - started >= 0.06
    assert (await control.get("/_sandbox/faults")).json()["latency_ms"] == 60


async def test_a_fault_for_an_unknown_route_name_is_refused(control: httpx.AsyncClient) -> None:
    response = await control.put("/_sandbox/faults/get_everything", json={"kind": "error"})
    assert response.status_code == 404
    assert "not a route name" in response.json()["Message"]


async def test_a_timeout_fault_never_answers_within_the_clients_timeout() -> None:
    server = sandbox_server("127.0.0.1", 0, make_config(webhook_url=None))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no "started" event
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as control:
            await put_fault(control, "get_debtor", kind="timeout")
            client = BillectaClient(
                base_url=base, authentication=AUTH, timeout_seconds=0.3, max_retries=0
            )
            async with client:
                assert (await client.get_creditor(CID)).name == "Testbolaget AB"
                started = time.perf_counter()
                with pytest.raises(BillectaApiRequestException, match="did not answer") as caught:
                    await client.get_debtor("any")
                assert caught.value.retryable
                assert time.perf_counter() - started < 2
            await control.delete("/_sandbox/faults")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
