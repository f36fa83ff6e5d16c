"""Outbound bounds: requests in flight, the interactive share, and the requests-per-second cap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from billecta_gateway.billecta import BillectaClient, Priority
from billecta_gateway.billecta.limiter import ConcurrencyLimiter, RateLimiter

BASE = "https://apitest.billecta.com"
TOKEN = "Basic dXNlcjpwYXNzd29yZA=="
CID = "8e0d1f5a-0000-4000-8000-000000000001"


def make_client(**kwargs: Any) -> BillectaClient:
    return BillectaClient(base_url=BASE, authentication=TOKEN, retry_base_delay=0.001, **kwargs)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        yield mock


class InFlight:
    """A mocked Billecta route that counts concurrent requests by priority class."""

    def __init__(self, client: BillectaClient, delay: float = 0.0) -> None:
        self.client = client
        self.delay = delay
        self.release = asyncio.Event()
        self.current = 0
        self.peak = 0
        self.peak_bulk = 0
        self.starts: list[float] = []
        if delay:
            self.release.set()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.starts.append(time.monotonic())
        self.current += 1
        self.peak = max(self.peak, self.current)
        self.peak_bulk = max(self.peak_bulk, self.client.limiter.bulk_in_flight)
        try:
            await self.release.wait()
            await asyncio.sleep(self.delay)
        finally:
            self.current -= 1
        return httpx.Response(200, json=[])


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_fifty_concurrent_calls_never_exceed_max_concurrency(
    router: respx.MockRouter,
) -> None:
    async with make_client(max_concurrency=5, interactive_reserved=2) as client:
        probe = InFlight(client, delay=0.02)
        route = router.get(f"/v1/invoice/open/{CID}").mock(side_effect=probe)

        await asyncio.gather(*(client.get_open_invoices(CID) for _ in range(50)))

    assert route.call_count == 50
    assert probe.peak == 5
    assert client.limiter.in_flight == 0


async def test_bulk_calls_leave_the_reserved_slots_to_interactive_ones(
    router: respx.MockRouter,
) -> None:
    async with make_client(max_concurrency=5, interactive_reserved=2) as client:
        probe = InFlight(client)
        bulk_route = router.get(f"/v1/invoice/open/{CID}").mock(side_effect=probe)
        quick = router.get(f"/v1/creditors/creditor/{CID}").respond(
            200, json={"CreditorPublicId": CID}
        )

        with client.priority(Priority.BULK):
            bulk = [asyncio.create_task(client.get_open_invoices(CID)) for _ in range(10)]
        try:
            await settle()
            assert probe.current == 3
            assert client.limiter.waiting(Priority.BULK) == 7

            started = time.monotonic()
            creditor = await asyncio.wait_for(client.get_creditor(CID), timeout=1.0)
            interactive_latency = time.monotonic() - started

            assert creditor.creditor_public_id == CID
            assert quick.call_count == 1
            assert interactive_latency < 0.5
            assert not any(task.done() for task in bulk)
        finally:
            probe.release.set()
            await asyncio.gather(*bulk)

    assert bulk_route.call_count == 10
    assert probe.peak_bulk == 3
    assert probe.peak == 3


async def test_interactive_calls_may_use_every_slot(router: respx.MockRouter) -> None:
    async with make_client(max_concurrency=4, interactive_reserved=1) as client:
        probe = InFlight(client)
        router.get(f"/v1/invoice/open/{CID}").mock(side_effect=probe)

        tasks = [asyncio.create_task(client.get_open_invoices(CID)) for _ in range(6)]
        try:
            await settle()
            assert probe.current == 4
        finally:
            probe.release.set()
            await asyncio.gather(*tasks)


async def test_rate_cap_spaces_request_starts(router: respx.MockRouter) -> None:
    rate = 20.0
    async with make_client(rate_limit=rate) as client:
        probe = InFlight(client, delay=0.001)
        router.get(f"/v1/invoice/open/{CID}").mock(side_effect=probe)

        await asyncio.gather(*(client.get_open_invoices(CID) for _ in range(6)))

    gaps = [b - a for a, b in zip(probe.starts, probe.starts[1:], strict=False)]
    assert len(probe.starts) == 6
    assert min(gaps) >= 1 / rate - 0.005
    assert probe.starts[-1] - probe.starts[0] < 5 / rate + 0.2


async def test_rate_cap_also_spaces_retries(router: respx.MockRouter) -> None:
    starts: list[float] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        starts.append(time.monotonic())
        return httpx.Response(503 if len(starts) == 1 else 200, json=[])

    router.get(f"/v1/invoice/open/{CID}").mock(side_effect=flaky)
    async with make_client(rate_limit=10.0) as client:
        await client.get_open_invoices(CID)

    assert len(starts) == 2
    assert starts[1] - starts[0] >= 0.1 - 0.005


# The limiters on their own


async def test_waiting_interactive_gets_the_next_free_slot_before_waiting_bulk() -> None:
    limiter = ConcurrencyLimiter(2, interactive_reserved=0)
    await limiter.acquire(Priority.BULK)
    await limiter.acquire(Priority.BULK)
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await limiter.acquire(priority)
        order.append(name)

    bulk_1 = asyncio.create_task(take("bulk-1", Priority.BULK))
    await settle()
    interactive = asyncio.create_task(take("interactive", Priority.INTERACTIVE))
    await settle()
    bulk_2 = asyncio.create_task(take("bulk-2", Priority.BULK))
    await settle()
    assert order == []

    limiter.release(Priority.BULK)
    await settle()
    assert order == ["interactive"]

    limiter.release(Priority.BULK)
    await settle()
    assert order == ["interactive", "bulk-1"]

    limiter.release(Priority.INTERACTIVE)
    await asyncio.gather(bulk_1, interactive, bulk_2)
    assert order == ["interactive", "bulk-1", "bulk-2"]
    assert limiter.in_flight == 2


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    limiter = ConcurrencyLimiter(1)
    await limiter.acquire(Priority.INTERACTIVE)
    waiter = asyncio.create_task(limiter.acquire(Priority.INTERACTIVE))
    await settle()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    limiter.release(Priority.INTERACTIVE)

    assert limiter.in_flight == 0
    await asyncio.wait_for(limiter.acquire(Priority.BULK), timeout=0.1)
    assert limiter.in_flight == 1


async def test_reservation_always_leaves_bulk_one_slot() -> None:
    limiter = ConcurrencyLimiter(2, interactive_reserved=4)
    assert limiter.bulk_limit == 1
    await asyncio.wait_for(limiter.acquire(Priority.BULK), timeout=0.1)
    with pytest.raises(ValueError, match="max_concurrency"):
        ConcurrencyLimiter(0)


async def test_rate_limiter_lets_interactive_callers_start_first() -> None:
    limiter = RateLimiter(50.0)
    await limiter.wait(Priority.BULK)
    order: list[str] = []

    async def start(name: str, priority: Priority) -> None:
        await limiter.wait(priority)
        order.append(name)

    tasks = [asyncio.create_task(start("bulk-1", Priority.BULK))]
    await settle()
    tasks.append(asyncio.create_task(start("bulk-2", Priority.BULK)))
    tasks.append(asyncio.create_task(start("interactive", Priority.INTERACTIVE)))
    await asyncio.gather(*tasks)

    assert order == ["interactive", "bulk-1", "bulk-2"]


def test_rate_limiter_refuses_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(0)
