"""/metrics on both processes, as deployed: `billecta-gateway api --workers 2` and
`billecta-gateway worker` (processes of their own, a queue of their own) against the stack's
database, Redis and Billecta sandbox. Traffic through them moves the series."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from billecta_gateway.middleware import PREFIX
from billecta_gateway.webhooks.fixtures import load_fixture
from tests.conftest import LIME_KEY, WEBHOOK_KEY
from tests.e2e.support import Stack, World, eventually

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent.parent
QUEUE = "billecta-gateway:metrics-e2e"
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse(exposition: str) -> dict[str, float]:
    """`name{labels}` -> value, for every sample of a scrape."""
    samples: dict[str, float] = {}
    for line in exposition.splitlines():
        match = SAMPLE.match(line)
        if match:
            samples[f"{match[1]}{match[2] or ''}"] = float(match[3])
    return samples


@dataclass
class Deployed:
    api_url: str
    worker_metrics_url: str
    client: httpx.AsyncClient

    async def scrape(self, url: str) -> dict[str, float]:
        response = await self.client.get(url)
        assert response.status_code == 200, response.text
        return parse(response.text)

    async def api(self) -> dict[str, float]:
        return await self.scrape(f"{self.api_url}/metrics")

    async def worker(self) -> dict[str, float]:
        return await self.scrape(self.worker_metrics_url)


@pytest.fixture
async def deployed(stack: Stack, world: World) -> AsyncIterator[Deployed]:
    api_port, metrics_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "DATABASE_URL": stack.settings.database_url,
        "REDIS_URL": stack.settings.redis_url,
        "ARQ_QUEUE_NAME": QUEUE,
        "BILLECTA_BASE_URL": stack.sandbox_url,
        "BILLECTA_AUTHENTICATION": stack.sandbox_auth,
        "LIME_API_KEYS": LIME_KEY,
        "WEBHOOK_API_KEY": WEBHOOK_KEY,
        "METRICS_PORT": str(metrics_port),
        "METRICS_REFRESH_SECONDS": "0.5",
        "LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "billecta_gateway.cli"]
    api_args = ["api", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "2"]
    processes = [
        subprocess.Popen([*cli, *api_args], cwd=ROOT, env=env),  # noqa: ASYNC220
        subprocess.Popen([*cli, "worker"], cwd=ROOT, env=env),  # noqa: ASYNC220
    ]
    client = httpx.AsyncClient(timeout=10)
    found = Deployed(
        f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{metrics_port}/metrics", client
    )

    async def up(url: str) -> bool | None:
        try:
            return (await client.get(url)).status_code == 200 or None
        except httpx.TransportError:
            return None

    try:
        await eventually(lambda: up(f"{found.api_url}/readyz"), within=60, what="the api")
        await eventually(lambda: up(found.worker_metrics_url), within=60, what="the worker")
        yield found
    finally:
        await client.aclose()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()


async def moved(
    scrape: Callable[[], Any], check: Callable[[dict[str, float]], bool], what: str
) -> dict[str, float]:
    async def once() -> dict[str, float] | None:
        samples: dict[str, float] = await scrape()
        return samples if check(samples) else None

    return await eventually(once, within=30, what=what)


async def test_both_processes_export_series_that_move(
    deployed: Deployed, world: World, stack: Stack
) -> None:
    lime = {"x-api-key": LIME_KEY}
    readyz = 'billecta_gateway_http_requests_total{method="GET",route="/readyz",status="200"}'
    swish = (
        'billecta_gateway_client_requests_total{client="billecta",'
        'route="get_swish_status",status="404"}'
    )
    api_before = await deployed.api()
    worker_before = await deployed.worker()

    # API: ten probes spread over two processes add up to ten in one scrape; an interactive
    # Billecta call is counted by its route name, not its id.
    for _ in range(10):
        assert (await deployed.client.get(f"{deployed.api_url}/readyz")).status_code == 200
    status = await deployed.client.get(
        f"{deployed.api_url}{PREFIX}/billecta/swish-request/status/no-such-request", headers=lime
    )
    assert status.status_code == 404, status.text
    # The worker: a sync task (a batch, its logs, jobs, bulk Billecta calls) and a webhook.
    task = await deployed.client.post(
        f"{deployed.api_url}{PREFIX}/task/upsert-debtors-in-billecta",
        headers=lime,
        json={
            "integration_monitor_batch_title": "Metrics",
            "query_filter": {"key": "_id", "op": "IN", "exp": [world.debtor_id]},
        },
    )
    assert task.status_code == 200, task.text
    webhook = load_fixture("InvoiceActionPaid") | {"Event": "DailyNotification"}
    stored = await deployed.client.post(
        f"{deployed.api_url}{PREFIX}/billecta-webhook-receiver",
        json=webhook,
        headers={"x-api-key": WEBHOOK_KEY},
    )
    assert stored.json()["status"] == "ignored", stored.text
    async with stack.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO cron_run (name, last_success_at) VALUES ('metrics_e2e', :at)"),
            {"at": datetime.now(UTC) - timedelta(minutes=10)},
        )
        await conn.execute(
            text(
                "INSERT INTO uncertain_operation (limetype, object_id, operation, request_hash, "
                "reference, created_at) VALUES ('invoice', 1, 'register_manual_payment', 'h', "
                "'BG-00000000000000E2', now())"
            )
        )

    api_after = await moved(
        deployed.api,
        lambda s: s.get(readyz, 0) >= api_before.get(readyz, 0) + 10 and swish in s,
        "the API series",
    )
    assert api_after[readyz] == api_before.get(readyz, 0) + 10
    assert api_after[swish] == api_before.get(swish, 0) + 1
    assert not any("no-such-request" in name for name in api_after)

    def worker_moved(s: dict[str, float]) -> bool:
        return (
            s.get('billecta_gateway_monitor_batches{status="ok"}', 0) >= 1
            and s.get(
                'billecta_gateway_webhook_inbox_events{source="billecta",status="ignored"}', 0
            )
            >= 1
            and s.get("billecta_gateway_uncertain_operations", 0) == 1
        )

    worker_after = await moved(deployed.worker, worker_moved, "the worker's gauges")
    assert worker_after['billecta_gateway_monitor_logs{status="ok"}'] >= 1
    billecta_calls = sum(
        value
        for name, value in worker_after.items()
        if name.startswith('billecta_gateway_client_requests_total{client="billecta"')
    )
    assert billecta_calls > sum(
        value
        for name, value in worker_before.items()
        if name.startswith('billecta_gateway_client_requests_total{client="billecta"')
    )
    since = worker_after['billecta_gateway_cron_seconds_since_success{cron="metrics_e2e"}']
    assert 600 <= since < 700
    assert f'billecta_gateway_job_queue_jobs{{queue="{QUEUE}",state="ready"}}' in worker_after
