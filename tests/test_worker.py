"""The arq worker: a real worker in burst mode on the real Redis; after-commit enqueueing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.models import IntegrationMonitorBatch, IntegrationMonitorLog
from billecta_gateway.queue import AfterCommit, close_queue, create_queue, job_id
from billecta_gateway.worker import CRON_JOBS, FUNCTIONS, create_worker
from tests.conftest import make_settings, run_worker_burst


async def _stalled_batch(maker: async_sessionmaker[AsyncSession], statuses: list[str]) -> int:
    """A running batch whose logs finished but whose counters were never closed."""
    async with maker() as session:
        batch = IntegrationMonitorBatch(
            title="Upsert debtors in Billecta", task="upsert_debtors", total=len(statuses)
        )
        session.add(batch)
        await session.flush()
        for n, status in enumerate(statuses):
            session.add(
                IntegrationMonitorLog(
                    batch_id=batch.id,
                    limetype="debtor",
                    object_id=1000 + n,
                    status=status,
                    task_id=job_id("upsert_debtor", batch.id, 1000 + n, 1),
                )
            )
        await session.commit()
        return batch.id


@pytest.mark.worker
async def test_real_worker_runs_an_enqueued_job_in_burst_mode(
    committed_sessionmaker: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    settings = make_settings()
    batch_id = await _stalled_batch(committed_sessionmaker, ["ok", "error", "ok"])
    jobs = AfterCommit()
    jobs.add("finish_running_imb", job_id="finish_running_imb:test")
    queue = create_queue(settings)
    assert await jobs.flush(queue) == 1
    await close_queue(queue)

    worker = await run_worker_burst(settings)
    assert worker.jobs_complete == 1
    assert worker.jobs_failed == 0

    async with committed_sessionmaker() as session:
        batch = await session.get(IntegrationMonitorBatch, batch_id)
    assert batch is not None
    assert batch.status == "donewitherror"
    assert batch.endtime is not None


@pytest.mark.worker
async def test_nightly_job_fails_logs_whose_job_vanished(
    committed_sessionmaker: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    settings = make_settings()
    batch_id = await _stalled_batch(committed_sessionmaker, ["ok", "running"])
    async with committed_sessionmaker() as session:
        await session.execute(
            update(IntegrationMonitorLog)
            .where(IntegrationMonitorLog.batch_id == batch_id)
            .values(updated_at=datetime.now(UTC) - timedelta(hours=3))
        )
        await session.commit()
    queue = create_queue(settings)
    # A nightly job: it runs on the long-job worker.
    await queue.enqueue_job("finish_running_imb_nightly", _queue_name=settings.arq_long_queue_name)
    await close_queue(queue)
    worker = await run_worker_burst(settings, queue="long")
    assert worker.jobs_complete == 1
    async with committed_sessionmaker() as session:
        batch = await session.get(IntegrationMonitorBatch, batch_id)
        logs = (
            await session.scalars(
                select(IntegrationMonitorLog.status)
                .where(IntegrationMonitorLog.batch_id == batch_id)
                .order_by(IntegrationMonitorLog.object_id)
            )
        ).all()
    assert list(logs) == ["ok", "error"]
    assert batch is not None
    assert batch.status == "donewitherror"


def test_crons_have_the_spec_schedules_in_utc() -> None:
    worker = create_worker(make_settings(), burst=True)
    assert worker.timezone == UTC
    schedules = {job.name: (job.hour, job.minute) for job in CRON_JOBS}
    assert schedules["cron:finish_running_imb"] == (set(range(6, 24)), set(range(0, 60, 5)))
    assert schedules["cron:finish_running_imb_nightly"] == ({3}, {0})
    names = {getattr(f, "name", getattr(f, "__name__", None)) for f in FUNCTIONS}
    assert {"finish_running_imb", "finish_running_imb_nightly"} <= names


def test_a_killed_object_worker_holds_its_jobs_for_seconds_not_an_hour() -> None:
    # arq keeps a job's in-progress key for the longest timeout on its worker plus 10 s; the
    # hour-long backfill and the reconciliation run on the long-job worker instead.
    settings = make_settings()
    objects = create_worker(settings, burst=True)
    long = create_worker(settings, burst=True, queue="long")
    assert objects.in_progress_timeout_s <= 130
    assert objects.queue_name == settings.arq_queue_name
    assert long.queue_name == settings.arq_long_queue_name != settings.arq_queue_name
    assert {"backfill_creditor_from_billecta", "retrigger_failed_webhook_events_for_creditor"} <= (
        set(long.functions)
    )
    assert "backfill_creditor_from_billecta" not in objects.functions
    assert "upsert_debtor" in objects.functions


def test_a_short_task_timeout_setting_times_every_object_job() -> None:
    worker = create_worker(make_settings(task_timeout_seconds=4), burst=True)
    assert worker.functions["upsert_debtor"].timeout_s == 4
    assert worker.functions["upsert_order"].timeout_s == 4


async def test_enqueue_after_commit_survives_redis_being_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = ArqRedis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    jobs = AfterCommit()
    jobs.add("finish_running_imb", job_id="x")
    with caplog.at_level(logging.WARNING):
        assert await jobs.flush(down) == 0
    assert "a cron will re-drive" in caplog.text
    await down.aclose()


def test_job_ids_are_deterministic() -> None:
    assert job_id("upsert_debtor", 7, 1001, 2) == "upsert_debtor:7:1001:2"
    assert job_id("upsert_debtor", 7, 1001, 2) != job_id("upsert_debtor", 8, 1001, 2)
