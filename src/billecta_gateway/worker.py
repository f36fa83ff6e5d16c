"""The arq worker: the only list of jobs and crons. Mirrors the app lifespan in on_startup."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.jobs import Job, JobStatus
from arq.typing import WorkerCoroutine
from arq.worker import Function, Worker, async_check_health, func
from redis.exceptions import RedisError

from billecta_gateway import tracing
from billecta_gateway.billecta import Priority
from billecta_gateway.binding.service import bind_process
from billecta_gateway.config import Settings
from billecta_gateway.db import create_engine, create_sessionmaker, session_scope
from billecta_gateway.idempotency import purge_expired
from billecta_gateway.invoices.refresh import (
    REFRESH_MAX_TRIES,
    REFRESH_TIMEOUT_SECONDS,
    update_invoice_in_lime_with_billecta_invoice_data,
)
from billecta_gateway.lime.hooks import register_hooks
from billecta_gateway.lime.mappings import load_field_mappings
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.logs import configure_logging, job_id_var
from billecta_gateway.main import build_billecta_client
from billecta_gateway.metrics.gauges import WorkerMetrics
from billecta_gateway.monitor import service as monitor
from billecta_gateway.tasks.context import WorkerContext
from billecta_gateway.tasks.jobs import TASK_CRON_JOBS, TASK_FUNCTIONS
from billecta_gateway.webhooks.schedule import WEBHOOK_CRON_JOBS, WEBHOOK_FUNCTIONS

logger = logging.getLogger("billecta_gateway.worker")


def utcnow() -> datetime:
    return datetime.now(UTC)


async def finish_running_imb(ctx: WorkerContext) -> dict[str, int]:
    """Close running integration-monitor batches whose logs have all finished."""
    async with session_scope(ctx["sessionmaker"]) as session:
        summary = await monitor.finish_running_batches(session, now=utcnow())
    return {"closed": summary.closed, "logs_failed": summary.logs_failed}


async def finish_running_imb_nightly(ctx: WorkerContext) -> dict[str, int]:
    """Force-complete stalled batches: logs whose arq job vanished are marked `error`."""
    redis = ctx["redis"]
    queue_name = ctx["settings"].arq_queue_name

    async def job_exists(task_id: str) -> bool:
        status = await Job(task_id, redis, _queue_name=queue_name).status()
        return status != JobStatus.not_found

    async with session_scope(ctx["sessionmaker"]) as session:
        summary = await monitor.finish_running_batches(
            session, now=utcnow(), job_exists=job_exists, stale_after=timedelta(hours=1)
        )
    return {"closed": summary.closed, "logs_failed": summary.logs_failed}


async def purge_idempotency_records(ctx: WorkerContext) -> int:
    """Delete `Idempotency-Key` answers past their time to live."""
    async with session_scope(ctx["sessionmaker"]) as session:
        return await purge_expired(session, now=utcnow())


FUNCTIONS: list[Function | WorkerCoroutine] = [
    func(finish_running_imb, timeout=120),  # type: ignore[arg-type]
    func(finish_running_imb_nightly, timeout=600),  # type: ignore[arg-type]
    func(purge_idempotency_records, timeout=300),  # type: ignore[arg-type]
    func(
        update_invoice_in_lime_with_billecta_invoice_data,  # type: ignore[arg-type]
        timeout=REFRESH_TIMEOUT_SECONDS,
        max_tries=REFRESH_MAX_TRIES,
    ),
    *TASK_FUNCTIONS,
    *WEBHOOK_FUNCTIONS,
]

CRON_JOBS = [
    # The spec's schedules, in UTC (the worker's timezone is set explicitly below).
    cron(
        finish_running_imb,  # type: ignore[arg-type]
        name="cron:finish_running_imb",
        hour=set(range(6, 24)),
        minute=set(range(0, 60, 5)),
        timeout=120,
        unique=True,
    ),
    cron(
        finish_running_imb_nightly,  # type: ignore[arg-type]
        name="cron:finish_running_imb_nightly",
        hour={3},
        minute={0},
        timeout=600,
        unique=True,
    ),
    cron(
        purge_idempotency_records,  # type: ignore[arg-type]
        name="cron:purge_idempotency_records",
        hour={4},
        minute={15},
        timeout=300,
        unique=True,
    ),
    *TASK_CRON_JOBS,
    *WEBHOOK_CRON_JOBS,
]


def _startup(settings: Settings, *, serve_metrics: bool = False) -> Any:
    async def on_startup(ctx: dict[str, Any]) -> None:
        tracing.configure_tracing("worker")
        # No pre-ping: a dead connection fails the job's try, which is retried (tasks.runner).
        engine = create_engine(settings, pre_ping=False)
        ctx["settings"] = settings
        ctx["engine"] = engine
        ctx["sessionmaker"] = create_sessionmaker(engine)
        ctx["billecta"] = build_billecta_client(settings, priority=Priority.BULK)
        # A mapping naming a field that does not exist stops the worker at start-up.
        ctx["lime_schema"] = LimeSchema.load(settings.lime_schema_file)
        ctx["field_mappings"] = load_field_mappings(settings, ctx["lime_schema"])
        # Another Billecta than the database's stops the worker here (binding/service.py).
        await bind_process(ctx["sessionmaker"], ctx["billecta"])
        if serve_metrics and settings.metrics_port:
            ctx["metrics"] = WorkerMetrics.start(
                ctx, port=settings.metrics_port, every=settings.metrics_refresh_seconds
            )
        logger.info("worker started")

    return on_startup


async def _on_shutdown(ctx: dict[str, Any]) -> None:
    if "metrics" in ctx:
        await ctx["metrics"].stop()
    if "billecta" in ctx:
        await ctx["billecta"].aclose()
    if "engine" in ctx:
        await ctx["engine"].dispose()
    tracing.flush()
    logger.info("worker stopped")


async def _on_job_start(ctx: dict[str, Any]) -> None:
    job_id_var.set(ctx.get("job_id"))
    tracing.job_started(ctx)


async def _on_job_end(ctx: dict[str, Any]) -> None:
    tracing.job_finished(ctx)


# arq's default 0.5 s poll sleeps out the rest of a poll whenever every job slot is busy,
# which caps a bulk batch far below what Billecta's latency allows.
POLL_DELAY_SECONDS = 0.05
# arq refreshes `<queue>:health-check` this often (expiring a second later); `worker --check`
# reads it, so a stopped or wedged worker fails its health check within this many seconds.
HEALTH_CHECK_INTERVAL_SECONDS = 30


def create_worker(settings: Settings, *, burst: bool = False, **overrides: Any) -> Worker:
    """A worker for these settings (jobs, crons, lifecycle hooks, UTC schedules)."""
    # The same ingestion callbacks as the API, so ingestion behaves alike in every process.
    register_hooks()
    options: dict[str, Any] = {
        "functions": FUNCTIONS,
        "cron_jobs": CRON_JOBS,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.arq_queue_name,
        # A burst run (tests, `worker --burst`) serves no /metrics.
        "on_startup": _startup(settings, serve_metrics=not burst),
        "on_shutdown": _on_shutdown,
        "on_job_start": _on_job_start,
        "on_job_end": _on_job_end,
        "job_serializer": tracing.serialize_job,
        "job_deserializer": tracing.deserialize_job,
        "burst": burst,
        "timezone": UTC,
        # Sync jobs hold a database connection while they call Billecta: keep the jobs in
        # flight within what the Billecta limiter and the pool can serve at once.
        "max_jobs": settings.billecta_max_concurrency,
        "job_timeout": 300,
        "keep_result": 3600,
        "handle_signals": not burst,
        # SIGTERM: take no new job, let running ones finish (bounded), then cancel the rest,
        # which arq re-runs later; cancelling at once would spend a try and could repeat a POST.
        "job_completion_wait": settings.job_completion_wait,
        "poll_delay": POLL_DELAY_SECONDS,
        "health_check_interval": HEALTH_CHECK_INTERVAL_SECONDS,
    }
    options.update(overrides)
    return Worker(**options)


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Run the worker until stopped (or until the queue is empty with `burst`)."""
    configure_logging(
        level=settings.log_level, fmt=settings.log_format, secrets=settings.secret_values()
    )
    create_worker(settings, burst=burst).run()


async def check_worker_health(settings: Settings) -> int:
    """0 when a worker on this queue recorded its health recently (arq's key), else 1."""
    # One attempt: a health check that retries outlives the probe's timeout.
    redis_settings = RedisSettings.from_dsn(settings.redis_url)
    redis_settings.conn_retries = 0
    try:
        return await async_check_health(redis_settings, queue_name=settings.arq_queue_name)
    except (RedisError, OSError) as exc:
        logger.warning("worker health check failed: Redis unreachable (%s)", type(exc).__name__)
        return 1
