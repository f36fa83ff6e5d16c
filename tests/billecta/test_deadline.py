"""INTERACTIVE_DEADLINE: an interactive call's total budget, and what a call cut off by it is."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from billecta_gateway.billecta import BillectaApiRequestException, BillectaClient, Priority
from billecta_gateway.billecta.errors import BillectaDeadlineExceeded
from billecta_gateway.invoices.operations import reached_billecta
from billecta_gateway.invoices.outcomes import is_uncertain

BASE = "https://apitest.billecta.com"
TOKEN = "SecureToken c3VwZXItc2VjcmV0LXRva2Vu"
CID = "8e0d1f5a-0000-4000-8000-000000000001"
CREDITOR = f"/v1/creditors/creditor/{CID}"


def make_client(**kwargs: Any) -> BillectaClient:
    options: dict[str, Any] = {
        "base_url": BASE,
        "authentication": TOKEN,
        "interactive_deadline": 0.5,
        "max_retries": 10,
    }
    options.update(kwargs)
    return BillectaClient(**options)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        yield mock


class Slow:
    """A Billecta that answers after ``seconds``; ``received`` counts requests as they arrive
    (respx records a call only once it is answered)."""

    def __init__(self, seconds: float, response: httpx.Response) -> None:
        self.seconds = seconds
        self.response = response
        self.received: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        await asyncio.sleep(self.seconds)
        return self.response


async def test_retries_stop_within_the_deadline(router: respx.MockRouter) -> None:
    route = router.get(CREDITOR).respond(503, headers={"Retry-After": "0.2"})
    client = make_client()
    started = time.monotonic()
    with pytest.raises(BillectaApiRequestException) as caught:
        await client.handle_api_request("GET", CREDITOR)
    elapsed = time.monotonic() - started
    await client.aclose()

    # Without the deadline ten retries 0.2 s apart would take two seconds.
    assert elapsed < 0.6
    assert 2 <= route.call_count <= 3
    assert caught.value.status_code == 503
    assert caught.value.retry_after is not None and caught.value.retry_after >= 0.2


async def test_a_retry_after_beyond_the_deadline_is_not_waited_for(
    router: respx.MockRouter,
) -> None:
    route = router.get(CREDITOR).respond(429, headers={"Retry-After": "30"})
    client = make_client(interactive_deadline=5.0)
    started = time.monotonic()
    with pytest.raises(BillectaApiRequestException) as caught:
        await client.handle_api_request("GET", CREDITOR)
    await client.aclose()

    assert time.monotonic() - started < 1
    assert route.call_count == 1
    assert caught.value.status_code == 429
    assert caught.value.retry_after == 30


async def test_waiting_for_a_slot_past_the_deadline_sends_nothing(
    router: respx.MockRouter,
) -> None:
    client = make_client(max_concurrency=1, interactive_reserved=0)
    route = router.get(CREDITOR).respond(200, json={})
    await client.limiter.acquire(Priority.BULK)  # the only slot, held by a long bulk call
    try:
        with pytest.raises(BillectaDeadlineExceeded) as caught:
            await client.handle_api_request("GET", CREDITOR)
        assert client.limiter.waiting(Priority.INTERACTIVE) == 0
    finally:
        client.limiter.release(Priority.BULK)
    await client.handle_api_request("GET", CREDITOR)  # the slot is free again
    await client.aclose()

    assert route.call_count == 1
    exc = caught.value
    assert exc.sent is False
    assert exc.retryable and exc.retry_after == 5.0
    assert "waiting for a slot" in exc.message
    assert not reached_billecta(exc)
    assert not is_uncertain(exc)


async def test_a_post_cut_off_by_the_deadline_is_uncertain() -> None:
    billecta = Slow(5, httpx.Response(200))
    client = make_client(interactive_deadline=0.3)
    started = time.monotonic()
    # Not assert_all_called: respx records a call only once it is answered.
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/v1/invoice/payment").mock(side_effect=billecta)
        with pytest.raises(BillectaDeadlineExceeded) as caught:
            await client.handle_api_request("POST", "/v1/invoice/payment", {"Amount": 1})
    await client.aclose()

    assert time.monotonic() - started < 1
    assert len(billecta.received) == 1
    assert caught.value.sent is True
    assert reached_billecta(caught.value)
    assert is_uncertain(caught.value)


async def test_a_sent_put_whose_retry_would_outlast_the_deadline_stays_uncertain(
    router: respx.MockRouter,
) -> None:
    path = "/v1/invoice/dispute/act-1"
    route = router.put(path).mock(side_effect=httpx.ReadTimeout("no answer"))
    client = make_client(interactive_deadline=0.5, retry_base_delay=2.0)
    with pytest.raises(BillectaApiRequestException) as caught:
        await client.handle_api_request("PUT", path)
    await client.aclose()

    assert route.call_count == 1
    assert not isinstance(caught.value, BillectaDeadlineExceeded)
    assert is_uncertain(caught.value)


async def test_bulk_calls_have_no_deadline(router: respx.MockRouter) -> None:
    route = router.get(CREDITOR).mock(side_effect=Slow(0.4, httpx.Response(200, json={"a": 1})))
    client = make_client(interactive_deadline=0.1, default_priority=Priority.BULK)
    assert await client.handle_api_request("GET", CREDITOR) == {"a": 1}
    await client.aclose()
    assert route.call_count == 1
