"""Gauges derived from the database and Redis, set by the worker only.

The worker runs every source (these, and those added with
:func:`billecta_gateway.metrics.register_gauge_source`) every METRICS_REFRESH_SECONDS and
serves the result on METRICS_PORT, so a scrape never waits on a query and N API processes do
not each query the database. With several workers each exports the same values: aggregate
them with `max`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import start_http_server
from sqlalchemy import func, or_, select

from billecta_gateway.metrics import (
    GAUGE_REFRESH_ERRORS,
    GaugeSource,
    gauge,
    gauge_sources,
    registry,
)
from billecta_gateway.models import (
    CronRun,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    UncertainOperation,
    WebhookEvent,
)
from billecta_gateway.models.system import BATCH_STATUSES, LOG_STATUSES, WEBHOOK_STATUSES
from billecta_gateway.webhooks.service import UNPROCESSED

logger = logging.getLogger("billecta_gateway.metrics")

# Finished batches and logs count over this window: enough to alert on, cheap to count.
RECENT = timedelta(hours=24)
SOURCE_TIMEOUT_SECONDS = 10.0

INBOX_EVENTS = gauge(
    "webhook_inbox_events", "Webhook inbox events by source and status", ["source", "status"]
)
INBOX_OLDEST = gauge(
    "webhook_inbox_oldest_unprocessed_seconds",
    "Age of the oldest webhook event not processed yet (received or pending); 0 when none",
    ["source"],
)
BATCHES = gauge(
    "monitor_batches",
    "Integration-monitor batches: running ones now, finished ones (ok, donewitherror, error) "
    "that ended in the last 24 hours",
    ["status"],
)
LOGS = gauge(
    "monitor_logs",
    "Integration-monitor logs: pending and running ones now, ok and error ones updated in the "
    "last 24 hours",
    ["status"],
)
QUEUE_JOBS = gauge(
    "job_queue_jobs", "Jobs in the arq queue, ready to run or deferred", ["queue", "state"]
)
CRON_SINCE_SUCCESS = gauge(
    "cron_seconds_since_success",
    "Seconds since a cron recorded in cron_run last succeeded",
    ["cron"],
)
UNCERTAIN = gauge(
    "uncertain_operations", "Money operations whose outcome is unknown and not settled yet"
)
UNCERTAIN_OLDEST = gauge(
    "uncertain_operation_oldest_seconds",
    "Age of the oldest unsettled uncertain money operation; 0 when none",
)


def _now() -> datetime:
    return datetime.now(UTC)


def _age(since: datetime | None, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


async def webhook_inbox(ctx: Any) -> None:
    """The Billecta inbox: events by status, and the oldest unprocessed one's age."""
    async with ctx["sessionmaker"]() as session:
        counts = dict(
            (
                await session.execute(
                    select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status)
                )
            ).all()
        )
        oldest = await session.scalar(
            select(func.min(WebhookEvent.received_at)).where(WebhookEvent.status.in_(UNPROCESSED))
        )
    for status in WEBHOOK_STATUSES:
        INBOX_EVENTS.labels("billecta", status).set(counts.get(status, 0))
    INBOX_OLDEST.labels("billecta").set(_age(oldest, _now()))


async def integration_monitor(ctx: Any) -> None:
    """Batches running and recently finished, logs open and recently finished, by status."""
    since = _now() - RECENT
    async with ctx["sessionmaker"]() as session:
        batches = dict(
            (
                await session.execute(
                    select(IntegrationMonitorBatch.status, func.count())
                    .where(
                        or_(
                            IntegrationMonitorBatch.status == "running",
                            IntegrationMonitorBatch.endtime >= since,
                        )
                    )
                    .group_by(IntegrationMonitorBatch.status)
                )
            ).all()
        )
        logs = dict(
            (
                await session.execute(
                    select(IntegrationMonitorLog.status, func.count())
                    .where(
                        or_(
                            IntegrationMonitorLog.status.in_(("pending", "running")),
                            IntegrationMonitorLog.updated_at >= since,
                        )
                    )
                    .group_by(IntegrationMonitorLog.status)
                )
            ).all()
        )
    for status in BATCH_STATUSES:
        BATCHES.labels(status).set(batches.get(status, 0))
    for status in LOG_STATUSES:
        LOGS.labels(status).set(logs.get(status, 0))


async def job_queue(ctx: Any) -> None:
    """Jobs waiting in the worker's arq queue: due now, and deferred to later."""
    name = ctx["settings"].arq_queue_name
    now_ms = int(_now().timestamp() * 1000)
    ready = await ctx["redis"].zcount(name, "-inf", now_ms)
    total = await ctx["redis"].zcard(name)
    QUEUE_JOBS.labels(name, "ready").set(ready)
    QUEUE_JOBS.labels(name, "deferred").set(total - ready)


async def crons(ctx: Any) -> None:
    """Seconds since each recorded cron's last success."""
    # `cron_run` also keeps watermarks, named `<kind>:<key>` (a creditor's public id for
    # reconciliation): not crons, and ids must not become labels.
    async with ctx["sessionmaker"]() as session:
        rows = (
            await session.execute(
                select(CronRun.name, CronRun.last_success_at).where(CronRun.name.not_like("%:%"))
            )
        ).all()
    now = _now()
    for name, last_success in rows:
        if last_success is not None:
            CRON_SINCE_SUCCESS.labels(name).set(_age(last_success, now))


async def uncertain_operations(ctx: Any) -> None:
    """Open uncertain money operations, and the oldest one's age."""
    async with ctx["sessionmaker"]() as session:
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(UncertainOperation.created_at)).where(
                    UncertainOperation.settled_at.is_(None)
                )
            )
        ).one()
    UNCERTAIN.set(count)
    UNCERTAIN_OLDEST.set(_age(oldest, _now()))


BUILT_IN: dict[str, GaugeSource] = {
    "webhook_inbox": webhook_inbox,
    "integration_monitor": integration_monitor,
    "job_queue": job_queue,
    "crons": crons,
    "uncertain_operations": uncertain_operations,
}


async def refresh(ctx: Any) -> None:
    """Run every gauge source once; a failing one keeps its last values and is counted."""
    for name, source in {**BUILT_IN, **gauge_sources()}.items():
        try:
            await asyncio.wait_for(source(ctx), SOURCE_TIMEOUT_SECONDS)
        except Exception as exc:
            GAUGE_REFRESH_ERRORS.labels(name).inc()
            logger.warning("metrics: gauge source %s failed: %s", name, type(exc).__name__)


async def _refresh_until(ctx: Any, every: float, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        await refresh(ctx)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), every)


class WorkerMetrics:
    """The worker's /metrics server and the task refreshing its gauges."""

    def __init__(self, server: Any, task: asyncio.Task[None], stopping: asyncio.Event) -> None:
        self._server = server
        self._task = task
        self._stopping = stopping

    @classmethod
    def start(cls, ctx: Any, *, port: int, every: float) -> WorkerMetrics:
        """Serve /metrics on ``port`` (all interfaces) and refresh the gauges every ``every``
        seconds, starting now."""
        server, _ = start_http_server(port, registry=registry())
        stopping = asyncio.Event()
        task = asyncio.create_task(_refresh_until(ctx, every, stopping), name="metrics-refresh")
        logger.info("metrics on port %d, gauges refreshed every %g s", port, every)
        return cls(server, task, stopping)

    async def stop(self) -> None:
        """Let a refresh under way finish (its queries are not cut off), then stop serving."""
        self._stopping.set()
        try:
            await asyncio.wait_for(self._task, SOURCE_TIMEOUT_SECONDS * (len(BUILT_IN) + 1))
        except TimeoutError:
            logger.warning("metrics: the gauge refresh did not stop in time")
        await asyncio.to_thread(self._server.shutdown)
        self._server.server_close()
