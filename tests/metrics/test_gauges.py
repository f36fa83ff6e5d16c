"""The worker's gauges: read from the database and Redis by the refresher, served on its port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.config import Settings
from billecta_gateway.metrics import _sources as registered_sources
from billecta_gateway.metrics import gauge, register_gauge_source
from billecta_gateway.metrics.gauges import WorkerMetrics, refresh
from billecta_gateway.models import (
    CronRun,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    UncertainOperation,
    WebhookEvent,
)


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def event(n: int, status: str, received: datetime) -> WebhookEvent:
    return WebhookEvent(
        dedupe_key=f"k{n}",
        event_type="InvoiceActionPaid",
        payload={},
        status=status,
        received_at=received,
    )


@pytest.fixture
def ctx(
    sessionmaker: async_sessionmaker[AsyncSession], redis: ArqRedis, settings: Settings
) -> dict[str, Any]:
    return {"sessionmaker": sessionmaker, "redis": redis, "settings": settings}


@pytest.fixture
def no_extra_sources() -> AsyncIterator[None]:
    saved = dict(registered_sources)
    yield
    registered_sources.clear()
    registered_sources.update(saved)


async def seed(session: AsyncSession) -> None:
    now = datetime.now(UTC)
    session.add_all(
        [
            event(1, "pending", now - timedelta(minutes=30)),
            event(2, "received", now - timedelta(minutes=2)),
            event(3, "processed", now - timedelta(hours=3)),
            event(4, "failed", now - timedelta(hours=5)),
        ]
    )
    running = IntegrationMonitorBatch(title="Sync", task="upsert_debtors", status="running")
    failed = IntegrationMonitorBatch(
        title="Old", task="upsert_debtors", status="donewitherror", endtime=now
    )
    ancient = IntegrationMonitorBatch(
        title="Older", task="upsert_debtors", status="error", endtime=now - timedelta(days=3)
    )
    session.add_all([running, failed, ancient])
    await session.flush()
    session.add_all(
        [
            IntegrationMonitorLog(batch_id=running.id, limetype="debtor", status="pending"),
            IntegrationMonitorLog(batch_id=running.id, limetype="debtor", status="running"),
            IntegrationMonitorLog(batch_id=failed.id, limetype="debtor", status="error"),
            IntegrationMonitorLog(
                batch_id=ancient.id,
                limetype="debtor",
                status="error",
                updated_at=now - timedelta(days=3),
            ),
        ]
    )
    session.add(CronRun(name="enqueue_webhook_events", last_success_at=now - timedelta(minutes=7)))
    session.add(CronRun(name="never_succeeded", last_started_at=now))
    session.add(CronRun(name="reconcile:8e0d1f5a-creditor", last_success_at=now))
    session.add_all(
        [
            UncertainOperation(
                limetype="invoice",
                object_id=1,
                operation="register_manual_payment",
                request_hash="h1",
                reference="BG-0000000000000001",
                created_at=now - timedelta(minutes=40),
            ),
            UncertainOperation(
                limetype="invoice",
                object_id=2,
                operation="register_manual_payment",
                request_hash="h2",
                reference="BG-0000000000000002",
                created_at=now - timedelta(days=2),
                settled_at=now,
            ),
        ]
    )
    await session.commit()


async def test_the_refresh_sets_every_database_gauge(
    ctx: dict[str, Any], session: AsyncSession, redis: ArqRedis, no_extra_sources: None
) -> None:
    await seed(session)
    queue = ctx["settings"].arq_queue_name
    await redis.enqueue_job("finish_running_imb", _queue_name=queue)
    await redis.enqueue_job("finish_running_imb", _queue_name=queue, _defer_by=3600)

    await refresh(ctx)

    inbox = "billecta_gateway_webhook_inbox_events"
    assert value(inbox, source="billecta", status="pending") == 1
    assert value(inbox, source="billecta", status="received") == 1
    assert value(inbox, source="billecta", status="processed") == 1
    assert value(inbox, source="billecta", status="failed") == 1
    assert value(inbox, source="billecta", status="ignored") == 0
    oldest = value("billecta_gateway_webhook_inbox_oldest_unprocessed_seconds", source="billecta")
    assert oldest is not None and 30 * 60 <= oldest < 31 * 60
    batches = "billecta_gateway_monitor_batches"
    assert value(batches, status="running") == 1
    assert value(batches, status="donewitherror") == 1
    assert value(batches, status="error") == 0  # ended three days ago
    logs = "billecta_gateway_monitor_logs"
    assert value(logs, status="pending") == value(logs, status="running") == 1
    assert value(logs, status="error") == 1
    assert value(logs, status="ok") == 0
    jobs = "billecta_gateway_job_queue_jobs"
    assert value(jobs, queue=queue, state="ready") == 1
    assert value(jobs, queue=queue, state="deferred") == 1
    since = value("billecta_gateway_cron_seconds_since_success", cron="enqueue_webhook_events")
    assert since is not None and 7 * 60 <= since < 8 * 60
    assert value("billecta_gateway_cron_seconds_since_success", cron="never_succeeded") is None
    scraped = "\n".join(
        str(sample)
        for metric in REGISTRY.collect()
        if metric.name == "billecta_gateway_cron_seconds_since_success"
        for sample in metric.samples
    )
    assert "reconcile" not in scraped  # a watermark, named by a creditor id
    assert value("billecta_gateway_uncertain_operations") == 1
    uncertain_age = value("billecta_gateway_uncertain_operation_oldest_seconds")
    assert uncertain_age is not None and 40 * 60 <= uncertain_age < 41 * 60


LIME_OUTBOX = gauge("test_outbox_events", "A gauge a later module defines", ["status"])


async def test_a_registered_source_runs_and_a_failing_one_is_counted(
    ctx: dict[str, Any], no_extra_sources: None
) -> None:
    async def outbox(ctx: dict[str, Any]) -> None:
        LIME_OUTBOX.labels("pending").set(4)

    async def broken(ctx: dict[str, Any]) -> None:
        raise RuntimeError("the table is not there yet")

    register_gauge_source("test_outbox", outbox)
    register_gauge_source("test_broken", broken)
    errors = "billecta_gateway_metrics_refresh_errors_total"
    before = value(errors, source="test_broken") or 0

    await refresh(ctx)

    assert value("billecta_gateway_test_outbox_events", status="pending") == 4
    assert value(errors, source="test_broken") == before + 1
    # The built-in sources still ran.
    assert value("billecta_gateway_uncertain_operations") == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_worker_serves_its_gauges(ctx: dict[str, Any], no_extra_sources: None) -> None:
    port = free_port()
    served = WorkerMetrics.start(ctx, port=port, every=60)
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                scraped = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                if "billecta_gateway_uncertain_operations " in scraped:
                    break
                await asyncio.sleep(0.1)
    finally:
        await served.stop()
    assert "billecta_gateway_webhook_inbox_events{" in scraped
    assert "billecta_gateway_job_queue_jobs{" in scraped
