"""The fan-out and the per-object runner (retries, final try, budget, follow-ups)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest
from arq import Retry
from arq.connections import ArqRedis
from arq.jobs import JobStatus
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from billecta_gateway.debtors.tasks import UPSERT_DEBTOR
from billecta_gateway.models import (
    CreditorDebtor,
    Debtor,
    IntegrationMonitorLog,
)
from billecta_gateway.monitor import service as monitor
from billecta_gateway.tasks import fanout, runner
from billecta_gateway.tasks.contract import (
    Outcome,
    TaskContext,
    TaskKind,
)
from billecta_gateway.tasks.fanout import fan_out_task
from billecta_gateway.tasks.runner import run_object_task
from tests.conftest import make_settings
from tests.tasks.support import (
    FakeBillecta,
    add_creditor,
    add_debtor,
    batch_and_logs,
    job_status,
    run_batch,
    run_job,
    start_debtor_task,
)

QUEUE = make_settings().arq_queue_name


async def test_fan_out_creates_pending_logs_and_one_job_per_object(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    batch_id = await start_debtor_task(session, [11, 12, 13])

    result = await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]

    assert result == {"logs": 3, "enqueued": 3}
    batch, logs = await batch_and_logs(session, batch_id)
    assert (batch.total, batch.done, batch.status) == (3, 0, "running")
    assert batch.parameters == {
        "limetype": "debtor",
        "fan_out_attempt": 1,
        "fanned_out": True,
        "objects": 3,
    }
    for object_id, log in logs.items():
        assert (log.status, log.attempt, log.limetype) == ("pending", 1, "debtor")
        assert log.task_id == f"upsert_debtor:{batch_id}:{object_id}:1"
        assert await job_status(redis, log.task_id) == JobStatus.queued
    assert await redis.zcard(QUEUE) == 3


async def test_running_the_fan_out_twice_creates_nothing_twice(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "LOG_CHUNK", 100)
    monkeypatch.setattr(fanout, "ENQUEUE_CHUNK", 7)
    batch_id = await start_debtor_task(session, list(range(1, 251)))

    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    again = await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]

    assert again == {"logs": 250, "enqueued": 0}
    batch, logs = await batch_and_logs(session, batch_id)
    assert batch.total == 250 and len(logs) == 250
    assert await redis.zcard(QUEUE) == 250


async def test_the_runner_retries_a_503_with_backoff_and_leaves_the_log_pending(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 21)
    batch_id = await start_debtor_task(session, [21])
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    _, logs = await batch_and_logs(session, batch_id)
    fake.fail("get_debtor_by_external_id", httpx.Response(503))

    with pytest.raises(Retry) as caught:
        await run_object_task({**ctx, "job_try": 2}, UPSERT_DEBTOR, logs[21].id, 21)

    assert 5.0 <= (caught.value.defer_score or 0) / 1000 <= 10.0
    _, logs = await batch_and_logs(session, batch_id)
    # Waiting for its retry, not running: the re-drive takes a log running past its kind's
    # timeout for a dead worker's.
    assert logs[21].status == "pending"


async def test_the_runner_honours_retry_after_of_a_429(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 22)
    batch_id = await start_debtor_task(session, [22])
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    _, logs = await batch_and_logs(session, batch_id)
    fake.fail("get_debtor_by_external_id", httpx.Response(429, headers={"Retry-After": "7"}))

    with pytest.raises(Retry) as caught:
        await run_object_task(ctx, UPSERT_DEBTOR, logs[22].id, 22)

    assert caught.value.defer_score == 7000


async def test_a_retried_429_and_503_still_end_the_batch_ok(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 23)
    batch_id = await start_debtor_task(session, [23])
    fake.fail("get_debtor_by_external_id", httpx.Response(429, headers={"Retry-After": "0"}))
    fake.fail("create_debtor", httpx.Response(503, headers={"Retry-After": "0"}))

    results = await run_batch(ctx, batch_id)

    assert results == {23: "ok"}
    batch, logs = await batch_and_logs(session, batch_id)
    assert (batch.status, logs[23].status) == ("ok", "ok")
    creates = fake.requests("POST", "/v1/debtors/debtor")
    assert len(creates) == 2 and len(fake.debtors) == 1


async def test_a_job_on_its_final_try_records_the_failure_instead_of_raising(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 24)
    batch_id = await start_debtor_task(session, [24])
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    _, logs = await batch_and_logs(session, batch_id)
    fake.fail("get_debtor_by_external_id", *[httpx.Response(503)] * 5)

    with pytest.raises(Retry):
        await run_job({**ctx, "max_tries": 5}, "upsert_debtor", logs[24].id, 24, max_tries=4)
    result = await run_object_task({**ctx, "job_try": 5}, UPSERT_DEBTOR, logs[24].id, 24)

    assert result == "error"
    batch, logs = await batch_and_logs(session, batch_id)
    assert logs[24].status == "error"
    assert logs[24].message is not None
    assert logs[24].message.startswith(
        "Billecta was unavailable after 5 tries: Billecta answered 503"
    )
    assert (batch.status, batch.failed) == ("donewitherror", 1)
    debtor = await session.get(Debtor, 24, populate_existing=True)
    assert debtor is not None and debtor.billecta_error_message == logs[24].message


async def test_a_finished_log_is_skipped_without_calling_billecta(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 25)
    batch_id = await start_debtor_task(session, [25])
    await run_batch(ctx, batch_id)
    _, logs = await batch_and_logs(session, batch_id)
    sent = len(fake.sent)

    assert await run_object_task(ctx, UPSERT_DEBTOR, logs[25].id, 25) == "skipped"
    assert len(fake.sent) == sent


def _kind(handler: Any, timeout: float = 90) -> TaskKind:
    async def on_failure(session: AsyncSession, object_id: int, message: str, phase: str) -> None:
        await session.execute(
            update(Debtor).where(Debtor.id == object_id).values(billecta_error_message=message)
        )

    return TaskKind(
        job="test_job",
        task="test_task",
        limetype="debtor",
        title="Test",
        handler=handler,
        on_failure=on_failure,
        timeout=timeout,
        max_tries=3,
    )


async def _log(session: AsyncSession, object_id: int) -> int:
    batch = await monitor.create_batch(session, title="t", task="test_task", created_by=None)
    [(log_id, _)] = await monitor.add_logs(
        session, batch_id=batch.id, limetype="debtor", object_ids=[object_id]
    )
    await session.commit()
    return log_id


async def test_an_unexpected_error_is_recorded_not_left_running(
    session: AsyncSession, ctx: dict[str, Any]
) -> None:
    await add_creditor(session)
    await add_debtor(session, 26)
    log_id = await _log(session, 26)

    async def broken(run: TaskContext, object_id: int) -> Outcome:
        raise RuntimeError("boom")

    assert await run_object_task(ctx, _kind(broken), log_id, 26) == "error"
    log = await session.get(IntegrationMonitorLog, log_id, populate_existing=True)
    assert log is not None
    # The exception's text may quote personal data: the log names the job, never the text.
    assert (log.status, log.message) == (
        "error",
        "Unexpected error (RuntimeError) (see the worker log for job test-job)",
    )


async def test_a_job_over_its_budget_is_retried_then_recorded(
    session: AsyncSession, ctx: dict[str, Any]
) -> None:
    await add_creditor(session)
    await add_debtor(session, 27)
    log_id = await _log(session, 27)

    async def slow(run: TaskContext, object_id: int) -> Outcome:
        await asyncio.sleep(5)
        return Outcome(ok=True)

    kind = _kind(slow, timeout=1.2)
    with pytest.raises(Retry):
        await run_object_task(ctx, kind, log_id, 27)
    assert await run_object_task({**ctx, "job_try": 3}, kind, log_id, 27) == "error"
    log = await session.get(IntegrationMonitorLog, log_id, populate_existing=True)
    assert log is not None and log.status == "error"
    assert log.message == "The job did not finish within 1 s after 3 tries"


def test_retry_delay_grows_and_honours_retry_after() -> None:
    assert runner.retry_delay(1, 12.5) == 12.5
    assert runner.retry_delay(1, 10_000) == runner.RETRY_MAX_DELAY
    assert 2.5 <= runner.retry_delay(1) <= 5
    assert 20 <= runner.retry_delay(4) <= 40
    assert runner.retry_delay(30) <= runner.RETRY_MAX_DELAY


async def test_the_relation_keeps_its_public_id_across_a_second_batch(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 71)
    for _ in range(2):
        await run_batch(ctx, await start_debtor_task(session, [71]))
    assert len(fake.requests("POST", "/v1/debtors/debtor")) == 1
    assert len(fake.requests("PUT", "/v1/debtors/debtor")) == 1
    relation = await session.scalar(select(CreditorDebtor).where(CreditorDebtor.debtor == 71))
    assert relation is not None and relation.debtorpublicid in fake.debtors


class _DatabaseDown:
    """A sessionmaker whose database cannot be reached."""

    def __call__(self) -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database down"))


async def test_a_database_outage_is_retried_by_the_object_job_and_the_fan_out(
    ctx: dict[str, Any],
) -> None:
    down = {**ctx, "sessionmaker": _DatabaseDown()}
    with pytest.raises(Retry):
        await run_object_task(down, UPSERT_DEBTOR, 1, 1)
    with pytest.raises(Retry):
        await fan_out_task(down, 1)  # type: ignore[arg-type]
    with pytest.raises(OperationalError):
        await fan_out_task({**down, "job_try": fanout.FAN_OUT_TRIES}, 1)  # type: ignore[arg-type]


class _Driver(Exception):
    """What the database driver raised, with the SQLSTATE PostgreSQL sent."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "invalidated", "expected"),
    [
        ("08003", False, True),  # the server closed the connection mid-statement
        ("57P01", False, True),  # terminating connection due to administrator command
        ("40P01", False, True),  # deadlock
        ("23505", False, False),  # unique violation: retrying changes nothing
        ("23505", True, True),  # ...unless the connection died with it
    ],
)
def test_a_lost_database_connection_is_transient(
    sqlstate: str, invalidated: bool, expected: bool
) -> None:
    exc = DBAPIError("SELECT 1", {}, _Driver(sqlstate), connection_invalidated=invalidated)

    assert runner.transient(exc) == (expected, None)


async def test_the_runner_holds_the_kinds_lock_while_the_handler_runs(
    session: AsyncSession, ctx: dict[str, Any], engine: AsyncEngine
) -> None:
    await add_creditor(session)
    await add_debtor(session, 28)
    log_id = await _log(session, 28)
    seen: list[bool] = []

    async def handler(run: TaskContext, object_id: int) -> Outcome:
        async with engine.connect() as other:
            free = await other.scalar(
                select(func.pg_try_advisory_xact_lock(func.hashtextextended("debtor:28", 0)))
            )
            await other.rollback()
        seen.append(bool(free))
        await run.lock("debtor", object_id)  # already held: sends nothing
        return Outcome(ok=True)

    kind = dataclasses.replace(_kind(handler), lock="debtor")

    assert await run_object_task(ctx, kind, log_id, 28) == "ok"
    assert seen == [False]


async def test_a_failure_is_not_written_over_a_log_another_run_finished(
    session: AsyncSession, ctx: dict[str, Any]
) -> None:
    await add_creditor(session)
    await add_debtor(session, 29)
    log_id = await _log(session, 29)
    await monitor.finish_log(session, log_id=log_id, ok=True, message="Synced to 1 creditor(s)")
    await session.commit()

    async def never(run: TaskContext, object_id: int) -> Outcome:
        raise AssertionError("a finished log must not run")

    await runner.record_failure(ctx, _kind(never), log_id=log_id, object_id=29, message="late")

    log = await session.get(IntegrationMonitorLog, log_id, populate_existing=True)
    assert log is not None and (log.status, log.message) == ("ok", "Synced to 1 creditor(s)")
    debtor = await session.get(Debtor, 29, populate_existing=True)
    assert debtor is not None and debtor.billecta_error_message is None
    assert await run_object_task({**ctx, "job_try": 3}, _kind(never), log_id, 29) == "skipped"


@pytest.mark.parametrize("follow_up", [True, False])
async def test_a_sync_whose_object_changed_meanwhile_queues_a_follow_up_an_action_does_not(
    session: AsyncSession, ctx: dict[str, Any], redis: ArqRedis, follow_up: bool
) -> None:
    await add_creditor(session)
    await add_debtor(session, 29)
    log_id = await _log(session, 29)

    async def handler(run: TaskContext, object_id: int) -> Outcome:
        # What ingestion does when Lime saves a change while the job runs.
        await run.session.execute(
            update(Debtor)
            .where(Debtor.id == object_id)
            .values(sync_counter=Debtor.sync_counter + 1)
        )
        return Outcome(ok=True)

    kind = dataclasses.replace(_kind(handler), follow_up=follow_up)
    assert await run_object_task(ctx, kind, log_id, 29) == "ok"

    logs = (
        await session.execute(
            select(IntegrationMonitorLog.status, IntegrationMonitorLog.task_id)
            .where(IntegrationMonitorLog.object_id == 29)
            .order_by(IntegrationMonitorLog.id)
        )
    ).all()
    if follow_up:
        batch_id = await session.scalar(
            select(IntegrationMonitorLog.batch_id).where(IntegrationMonitorLog.id == log_id)
        )
        task_id = f"test_job:{batch_id}:29:2"
        assert [tuple(r) for r in logs] == [("ok", None), ("pending", task_id)]
        assert await job_status(redis, task_id) == JobStatus.queued
    else:
        assert [r.status for r in logs] == ["ok"]
