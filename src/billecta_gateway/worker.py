"""The arq workers: the only list of jobs and crons. Mirrors the app lifespan in on_startup.

Two workers, each on its own queue: the object worker (per-object sync jobs, fan-outs, webhook
events, the frequent crons) and the long-job worker (backfill, reconciliation per creditor, the
nightly maintenance). arq keeps a job's in-progress key for the longest timeout on its worker
plus 10 s; with the hour-long backfill beside them, every object job of a killed worker would
stay blocked for an hour. `billecta-gateway worker` runs both in one process; `--queue` runs one.

The object worker also watches a sentinel key in Redis: when it vanishes (Redis flushed or
replaced), the task work whose messages were lost is re-driven at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

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
from billecta_gateway.limecrm.connect import open_lime
from billecta_gateway.limecrm.jobs import (
    LIME_LONG_FUNCTIONS,
    LIME_OBJECT_CRON_JOBS,
    LIME_OBJECT_FUNCTIONS,
    lime_long_cron_jobs,
)
from billecta_gateway.limecrm.schemacheck import startup_check
from billecta_gateway.logs import configure_logging, job_id_var
from billecta_gateway.main import build_billecta_client
from billecta_gateway.metrics.gauges import WorkerMetrics
from billecta_gateway.monitor import service as monitor
from billecta_gateway.tasks.context import WorkerContext
from billecta_gateway.tasks.fanout import REDRIVE_LIMIT, redrive_task_logs
from billecta_gateway.tasks.jobs import TASK_CRON_JOBS, task_functions
from billecta_gateway.webhooks.schedule import (
    LONG_CRON_JOBS,
    LONG_FUNCTIONS,
    WEBHOOK_CRON_JOBS,
    WEBHOOK_FUNCTIONS,
)

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
        # Only a job still waiting counts: one "in progress" for the hour a log must be stale
        # ran past every job's timeout (its worker died with it), and a finished one left its
        # log unfinished.
        status = await Job(task_id, redis, _queue_name=queue_name).status()
        return status in (JobStatus.queued, JobStatus.deferred)

    async with session_scope(ctx["sessionmaker"]) as session:
        summary = await monitor.finish_running_batches(
            session, now=utcnow(), job_exists=job_exists, stale_after=timedelta(hours=1)
        )
    return {"closed": summary.closed, "logs_failed": summary.logs_failed}


async def purge_idempotency_records(ctx: WorkerContext) -> int:
    """Delete `Idempotency-Key` answers past their time to live."""
    async with session_scope(ctx["sessionmaker"]) as session:
        return await purge_expired(session, now=utcnow())


QueueRole = Literal["object", "long"]


def object_functions(settings: Settings | None = None) -> list[Function | WorkerCoroutine]:
    """The object worker's jobs (per-object timeouts follow `TASK_TIMEOUT_SECONDS`)."""
    return [
        func(finish_running_imb, timeout=120),  # type: ignore[arg-type]
        func(
            update_invoice_in_lime_with_billecta_invoice_data,  # type: ignore[arg-type]
            timeout=REFRESH_TIMEOUT_SECONDS,
            max_tries=REFRESH_MAX_TRIES,
        ),
        *task_functions(settings),
        *WEBHOOK_FUNCTIONS,
        *LIME_OBJECT_FUNCTIONS,
    ]


LONG_WORKER_FUNCTIONS: list[Function | WorkerCoroutine] = [
    func(finish_running_imb_nightly, timeout=600),  # type: ignore[arg-type]
    func(purge_idempotency_records, timeout=300),  # type: ignore[arg-type]
    *LONG_FUNCTIONS,
    *LIME_LONG_FUNCTIONS,
]
FUNCTIONS: list[Function | WorkerCoroutine] = [*object_functions(), *LONG_WORKER_FUNCTIONS]

OBJECT_CRON_JOBS = [
    # The spec's schedules, in UTC (the worker's timezone is set explicitly below).
    cron(
        finish_running_imb,  # type: ignore[arg-type]
        name="cron:finish_running_imb",
        hour=set(range(6, 24)),
        minute=set(range(0, 60, 5)),
        timeout=120,
        unique=True,
    ),
    *TASK_CRON_JOBS,
    *WEBHOOK_CRON_JOBS,
    *LIME_OBJECT_CRON_JOBS,
]
LONG_WORKER_CRON_JOBS = [
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
    *LONG_CRON_JOBS,
]
CRON_JOBS = [*OBJECT_CRON_JOBS, *LONG_WORKER_CRON_JOBS]

# How often the object worker checks that its queue survived (Redis flushed or replaced).
SENTINEL_INTERVAL_SECONDS = 3.0


def sentinel_key(settings: Settings) -> str:
    return f"{settings.arq_queue_name}:sentinel"


async def check_sentinel(ctx: dict[str, Any]) -> bool:
    """Set the sentinel key if it is missing; True when it was missing (the queue was lost,
    or this Redis never had a worker), and then re-drive lost task work at once."""
    created = await ctx["redis"].set(sentinel_key(ctx["settings"]), b"1", nx=True)
    if not created:
        return False
    logger.warning("queue sentinel missing: re-driving task work whose jobs were lost")
    while True:
        summary = await redrive_task_logs(ctx, queue_lost=True)  # type: ignore[arg-type]
        if summary["logs"] + summary["fan_outs"] < REDRIVE_LIMIT:
            return True


async def _watch_sentinel(ctx: dict[str, Any], interval: float) -> None:
    while True:
        try:
            await check_sentinel(ctx)
        except Exception as exc:
            # Redis or the database briefly away: the next check tries again.
            logger.warning("queue sentinel check failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)


def _startup(
    settings: Settings,
    *,
    watch_sentinel: bool = False,
    interval: float = 0,
    serve_metrics: bool = False,
) -> Any:
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
        # None while LIME_BASE_URL is unset: the Lime jobs then do nothing.
        ctx["lime"] = open_lime(settings, engine, role="worker", schema=ctx["lime_schema"])
        ctx["lime_schema_recheck"] = await startup_check(settings, engine, ctx["lime_schema"])
        # Another Billecta than the database's stops the worker here (binding/service.py).
        await bind_process(ctx["sessionmaker"], ctx["billecta"])
        if watch_sentinel:
            ctx["sentinel_task"] = asyncio.create_task(_watch_sentinel(ctx, interval))
        if serve_metrics and settings.metrics_port:
            ctx["metrics"] = WorkerMetrics.start(
                ctx, port=settings.metrics_port, every=settings.metrics_refresh_seconds
            )
        logger.info("worker started")

    return on_startup


async def _on_shutdown(ctx: dict[str, Any]) -> None:
    task = ctx.pop("sentinel_task", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if ctx.get("lime_schema_recheck") is not None:
        ctx["lime_schema_recheck"].cancel()
    if ctx.get("lime") is not None:
        await ctx["lime"].aclose()
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


def create_worker(
    settings: Settings,
    *,
    burst: bool = False,
    queue: QueueRole = "object",
    sentinel_interval: float = SENTINEL_INTERVAL_SECONDS,
    **overrides: Any,
) -> Worker:
    """A worker for these settings and queue (jobs, crons, lifecycle hooks, UTC schedules).

    With ARQ_LONG_QUEUE_NAME equal to ARQ_QUEUE_NAME there is one queue, and the object worker
    runs every job and cron (a small installation's choice: a killed worker's object jobs then
    wait for the longest timeout in arq, though the re-drive still sends them again).
    """
    # The same ingestion callbacks as the API, so ingestion behaves alike in every process.
    register_hooks()
    long = queue == "long"
    one_queue = settings.arq_long_queue_name == settings.arq_queue_name
    watch = not long and not burst and sentinel_interval > 0
    functions = LONG_WORKER_FUNCTIONS if long else object_functions(settings)
    # The Lime poll's schedule depends on LIME_POLL_INTERVAL_MINUTES.
    long_crons = [*LONG_WORKER_CRON_JOBS, *lime_long_cron_jobs(settings.lime_poll_interval_minutes)]
    crons = long_crons if long else OBJECT_CRON_JOBS
    if one_queue and not long:
        functions = [*functions, *LONG_WORKER_FUNCTIONS]
        crons = [*crons, *long_crons]
    options: dict[str, Any] = {
        "functions": functions,
        "cron_jobs": crons,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.arq_long_queue_name if long else settings.arq_queue_name,
        # The object worker serves /metrics (one port per process); a burst run serves none.
        "on_startup": _startup(
            settings,
            watch_sentinel=watch,
            interval=sentinel_interval,
            serve_metrics=not burst and not long,
        ),
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


def run_worker(
    settings: Settings, *, burst: bool = False, queue: QueueRole | Literal["all"] = "all"
) -> None:
    """Run the worker(s) until stopped (or until their queues are empty with `burst`)."""
    configure_logging(
        level=settings.log_level, fmt=settings.log_format, secrets=settings.secret_values()
    )
    if queue != "all" or settings.arq_long_queue_name == settings.arq_queue_name:
        create_worker(settings, burst=burst, queue="long" if queue == "long" else "object").run()
        return
    asyncio.run(_run_both(settings, burst=burst))


async def _run_both(settings: Settings, *, burst: bool) -> None:
    """Both workers in one process, stopped together by SIGINT/SIGTERM."""
    workers = [
        create_worker(settings, burst=burst, queue=role, handle_signals=False)
        for role in ("object", "long")
    ]
    loop = asyncio.get_running_loop()
    for worker in workers:
        worker.main_task = asyncio.create_task(worker.main())

    def stop(signum: signal.Signals) -> None:
        for worker in workers:
            worker.handle_sig(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    try:
        await asyncio.gather(*(w.main_task for w in workers if w.main_task))
    except asyncio.CancelledError:
        pass  # stopped by a signal
    finally:
        for worker in workers:
            # close() cancels what is still running (handle_signals is off) and shuts down.
            await worker.close()


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
