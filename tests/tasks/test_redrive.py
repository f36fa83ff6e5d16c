"""The re-drive of task work whose job was lost: Redis flushed, worker killed, fan-out lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import JobStatus
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.debtors.tasks import UPSERT_DEBTOR
from billecta_gateway.models import (
    Debtor,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
)
from billecta_gateway.monitor import service as monitor
from billecta_gateway.tasks import fanout
from billecta_gateway.tasks.contract import (
    fan_out_job_id,
)
from billecta_gateway.tasks.fanout import fan_out_task, redrive_task_logs
from tests.tasks.support import (
    FakeBillecta,
    add_creditor,
    add_debtor,
    batch_and_logs,
    job_status,
    run_job,
    start_debtor_task,
)


async def _age(session: AsyncSession, batch_id: int, minutes: int = 30) -> None:
    old = datetime.now(UTC) - timedelta(minutes=minutes)
    await session.execute(
        update(IntegrationMonitorLog)
        .where(IntegrationMonitorLog.batch_id == batch_id)
        .values(updated_at=old)
    )
    await session.execute(
        update(IntegrationMonitorBatch)
        .where(IntegrationMonitorBatch.id == batch_id)
        .values(starttime=old)
    )
    await session.commit()


async def test_redrive_enqueues_logs_whose_job_vanished_with_the_next_attempt(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis, fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 31)
    await add_debtor(session, 32)
    batch_id = await start_debtor_task(session, [31, 32])
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    await redis.flushdb()  # Redis lost every message
    await _age(session, batch_id)

    result = await redrive_task_logs(ctx)  # type: ignore[arg-type]

    assert result == {"fan_outs": 0, "logs": 2, "given_up": 0, "enqueued": 2}
    _, logs = await batch_and_logs(session, batch_id)
    for object_id in (31, 32):
        assert logs[object_id].attempt == 2
        assert logs[object_id].task_id == f"upsert_debtor:{batch_id}:{object_id}:2"
        assert await job_status(redis, logs[object_id].task_id or "") == JobStatus.queued
    # The re-driven jobs finish the batch.
    for object_id in (31, 32):
        await run_job(ctx, "upsert_debtor", logs[object_id].id, object_id)
    batch, _ = await batch_and_logs(session, batch_id)
    assert batch.status == "ok"


async def test_redrive_leaves_queued_jobs_and_other_batches_alone(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    batch_id = await start_debtor_task(session, [41])
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    webhooks = await monitor.create_batch(
        session, title="Billecta webhooks", task="webhook_events", created_by=None
    )
    await monitor.add_logs(session, batch_id=webhooks.id, limetype="webhook_event", object_ids=[1])
    await session.commit()
    await _age(session, batch_id)
    await _age(session, webhooks.id)

    result = await redrive_task_logs(ctx)  # type: ignore[arg-type]

    assert result["logs"] == 0
    _, logs = await batch_and_logs(session, webhooks.id)
    assert logs[1].task_id is None and logs[1].attempt == 1


async def test_redrive_gives_up_after_the_last_attempt(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    await add_creditor(session)
    await add_debtor(session, 51)
    batch_id = await start_debtor_task(session, [51])
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    await redis.flushdb()
    await session.execute(
        update(IntegrationMonitorLog)
        .where(IntegrationMonitorLog.batch_id == batch_id)
        .values(attempt=fanout.MAX_ATTEMPTS, status="running")
    )
    await _age(session, batch_id)

    result = await redrive_task_logs(ctx)  # type: ignore[arg-type]

    assert result["given_up"] == 1
    batch, logs = await batch_and_logs(session, batch_id)
    assert logs[51].status == "error"
    assert batch.status == "donewitherror"
    debtor = await session.get(Debtor, 51, populate_existing=True)
    assert debtor is not None and (debtor.billecta_error_message or "").startswith("Gave up")


async def test_redrive_sends_a_lost_fan_out_again(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    batch_id = await start_debtor_task(session, [61, 62])
    await _age(session, batch_id)

    result = await redrive_task_logs(ctx)  # type: ignore[arg-type]

    assert result["fan_outs"] == 1
    assert await job_status(redis, fan_out_job_id(batch_id, 2)) == JobStatus.queued
    batch = await session.get(IntegrationMonitorBatch, batch_id, populate_existing=True)
    assert batch is not None and batch.parameters is not None
    assert batch.parameters["fan_out_attempt"] == 2
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    _, logs = await batch_and_logs(session, batch_id)
    assert sorted(logs) == [61, 62]


async def test_a_batch_whose_fan_out_was_lost_is_never_closed_ok_with_no_logs(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    batch_id = await start_debtor_task(session, [65, 66])  # its fan-out job never reached Redis
    await _age(session, batch_id)

    async def gone(_: str) -> bool:
        return False

    summary = await monitor.finish_running_batches(
        session, now=datetime.now(UTC), job_exists=gone, stale_after=timedelta(minutes=5)
    )
    assert summary.closed == 0
    batch = await session.get(IntegrationMonitorBatch, batch_id, populate_existing=True)
    assert batch is not None and batch.status == "running"
    assert (await redrive_task_logs(ctx))["fan_outs"] == 1  # type: ignore[arg-type]


async def test_a_log_running_past_its_timeout_is_redriven_whatever_redis_says(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    batch_id = await start_debtor_task(session, [67])
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    _, logs = await batch_and_logs(session, batch_id)
    task_id = logs[67].task_id or ""
    # A worker picked the job and was killed: arq keeps its in-progress key for an hour.
    await redis.psetex(f"arq:in-progress:{task_id}", 3_600_000, b"1")
    past = datetime.now(UTC) - timedelta(seconds=UPSERT_DEBTOR.timeout + 5)
    await session.execute(
        update(IntegrationMonitorLog)
        .where(IntegrationMonitorLog.id == logs[67].id)
        .values(status="running", updated_at=past)
    )
    await session.commit()

    result = await redrive_task_logs(ctx)  # type: ignore[arg-type]

    assert result["logs"] == 1
    _, logs = await batch_and_logs(session, batch_id)
    assert (logs[67].status, logs[67].attempt) == ("pending", 2)
    assert await job_status(redis, f"upsert_debtor:{batch_id}:67:2") == JobStatus.queued


async def test_a_log_running_within_its_timeout_is_left_to_its_job(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    batch_id = await start_debtor_task(session, [68])
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    _, logs = await batch_and_logs(session, batch_id)
    await redis.psetex(f"arq:in-progress:{logs[68].task_id}", 3_600_000, b"1")
    await session.execute(
        update(IntegrationMonitorLog)
        .where(IntegrationMonitorLog.id == logs[68].id)
        .values(status="running")
    )
    await session.commit()

    assert (await redrive_task_logs(ctx))["logs"] == 0  # type: ignore[arg-type]


async def test_a_wiped_queue_is_redriven_at_once_when_the_sentinel_is_gone(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    from billecta_gateway.worker import check_sentinel

    batch_id = await start_debtor_task(session, [69])
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    assert await check_sentinel(ctx) is True  # first check on this Redis: nothing lost
    assert await check_sentinel(ctx) is False
    await redis.flushdb()  # seconds after the fan-out, far younger than REDRIVE_AFTER

    assert (await redrive_task_logs(ctx))["logs"] == 0  # type: ignore[arg-type]
    assert await check_sentinel(ctx) is True

    _, logs = await batch_and_logs(session, batch_id)
    assert logs[69].attempt == 2
    assert await job_status(redis, logs[69].task_id or "") == JobStatus.queued
