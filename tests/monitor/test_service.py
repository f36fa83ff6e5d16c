"""Integration monitor service: counting, closing, safety nets and the read side."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.errors import InvalidInput, NotFound
from billecta_gateway.models import IntegrationMonitorBatch, IntegrationMonitorLog
from billecta_gateway.monitor import service
from billecta_gateway.monitor.service import LOST_JOB_MESSAGE

Batch = IntegrationMonitorBatch
Log = IntegrationMonitorLog


async def _batch_row(session: AsyncSession, batch_id: int) -> Batch:
    return await service.get_batch(session, batch_id=batch_id)


async def _log_row(session: AsyncSession, log_id: int) -> Log:
    log = await session.get(Log, log_id, populate_existing=True)
    assert log is not None
    return log


async def _age(session: AsyncSession, *, batch_id: int, by: timedelta) -> None:
    """Move a batch and its logs back in time."""
    await session.execute(
        update(Batch).where(Batch.id == batch_id).values(starttime=Batch.starttime - by)
    )
    await session.execute(
        update(Log).where(Log.batch_id == batch_id).values(updated_at=Log.updated_at - by)
    )


async def test_create_batch_starts_running_and_empty(session: AsyncSession) -> None:
    batch = await service.create_batch(
        session,
        title="Upsert debtors in Billecta",
        task="upsert_debtors",
        created_by="alice",
        parameters={"limetype": "debtor"},
    )

    assert batch.id > 0
    assert (batch.status, batch.total, batch.done, batch.failed) == ("running", 0, 0, 0)
    assert batch.created_by == "alice"
    assert batch.parameters == {"limetype": "debtor"}
    assert batch.starttime is not None
    assert batch.endtime is None


async def test_add_logs_inserts_pending_logs_and_counts_them(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)

    pairs = await service.add_logs(
        session, batch_id=batch.id, limetype="debtor", object_ids=[5, 6, 7]
    )

    assert sorted(obj for _, obj in pairs) == [5, 6, 7]
    logs = (await session.scalars(select(Log).where(Log.batch_id == batch.id))).all()
    assert {(log.id, log.object_id) for log in logs} == set(pairs)
    assert {log.status for log in logs} == {"pending"}
    assert {log.limetype for log in logs} == {"debtor"}
    assert batch.total == 3  # the caller's object is kept fresh


async def test_add_logs_creates_one_log_per_distinct_object(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)

    pairs = await service.add_logs(
        session, batch_id=batch.id, limetype="debtor", object_ids=[1, 2, 1]
    )

    assert sorted(obj for _, obj in pairs) == [1, 2]
    assert (await _batch_row(session, batch.id)).total == 2


async def test_add_logs_takes_ten_thousand_objects_in_one_call(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)

    pairs = await service.add_logs(
        session, batch_id=batch.id, limetype="article", object_ids=range(1, 10_001)
    )

    assert len(pairs) == 10_000
    count = await session.scalar(select(func.count()).where(Log.batch_id == batch.id))
    assert count == 10_000
    assert (await _batch_row(session, batch.id)).total == 10_000


async def test_add_logs_to_unknown_batch_is_not_found(session: AsyncSession) -> None:
    with pytest.raises(NotFound, match="Integration monitor batch 987654 not found"):
        await service.add_logs(session, batch_id=987654, limetype="debtor", object_ids=[1])


async def test_add_logs_with_no_objects_changes_nothing(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)

    assert (
        await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=[]) == []
    )
    assert (await _batch_row(session, batch.id)).total == 0


async def test_set_log_task_records_job_id_and_attempt(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    [(log_id, _)] = await service.add_logs(
        session, batch_id=batch.id, limetype="debtor", object_ids=[9]
    )

    await service.set_log_task(session, log_id=log_id, task_id=f"upsert:{batch.id}:9:2", attempt=2)

    log = await _log_row(session, log_id)
    assert (log.task_id, log.attempt) == (f"upsert:{batch.id}:9:2", 2)


async def test_set_log_tasks_updates_many_logs_but_not_finished_ones(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    pairs = await service.add_logs(
        session, batch_id=batch.id, limetype="debtor", object_ids=[1, 2, 3]
    )
    finished_id = pairs[0][0]
    await service.finish_log(session, log_id=finished_id, ok=True, message=None)

    await service.set_log_tasks(session, tasks=[(log_id, f"job-{obj}", 1) for log_id, obj in pairs])

    for log_id, obj in pairs:
        log = await _log_row(session, log_id)
        assert log.task_id == (None if log_id == finished_id else f"job-{obj}")


async def test_start_log_runs_unfinished_logs_only(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    [(log_id, _)] = await service.add_logs(
        session, batch_id=batch.id, limetype="debtor", object_ids=[1]
    )

    assert await service.start_log(session, log_id=log_id) is True
    assert (await _log_row(session, log_id)).status == "running"
    assert await service.start_log(session, log_id=log_id) is True  # a re-run after a crash

    await service.finish_log(session, log_id=log_id, ok=True, message=None)

    assert await service.start_log(session, log_id=log_id) is False
    assert (await _log_row(session, log_id)).status == "ok"
    assert await service.start_log(session, log_id=123456789) is False


async def test_start_log_attempt_answers_the_attempt_until_the_log_is_finished(
    session: AsyncSession,
) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    [(log_id, _)] = await service.add_logs(
        session, batch_id=batch.id, limetype="debtor", object_ids=[1]
    )
    await service.set_log_task(session, log_id=log_id, task_id="job:1:1:3", attempt=3)

    assert await service.start_log_attempt(session, log_id=log_id) == 3
    assert (await _log_row(session, log_id)).status == "running"

    await service.finish_log(session, log_id=log_id, ok=True, message=None)

    assert await service.start_log_attempt(session, log_id=log_id) is None
    assert await service.start_log_attempt(session, log_id=123456789) is None


async def test_counting_updates_the_batch_the_session_holds(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    pairs = await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=[1, 2])
    assert batch.total == 2

    await service.finish_log(session, log_id=pairs[0][0], ok=False, message="refused")
    assert (batch.status, batch.done, batch.failed) == ("running", 1, 1)
    await service.finish_log(session, log_id=pairs[1][0], ok=True, message=None)

    assert (batch.status, batch.done, batch.failed) == ("donewitherror", 2, 1)
    assert batch.endtime is not None


async def test_last_finished_log_closes_batch_ok(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    pairs = await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=[1, 2])

    first = await service.finish_log(session, log_id=pairs[0][0], ok=True, message=None)
    assert (first.finished, first.batch_closed, first.batch_status) == (True, False, "running")
    last = await service.finish_log(session, log_id=pairs[1][0], ok=True, message="synced")

    assert (last.finished, last.batch_closed, last.batch_status) == (True, True, "ok")
    row = await _batch_row(session, batch.id)
    assert (row.status, row.total, row.done, row.failed) == ("ok", 2, 2, 0)
    latest = await session.scalar(select(func.max(Log.updated_at)).where(Log.batch_id == batch.id))
    assert row.endtime == latest
    assert (await _log_row(session, pairs[1][0])).message == "synced"


async def test_a_failed_log_closes_batch_donewitherror(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    pairs = await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=[1, 2])

    await service.finish_log(session, log_id=pairs[0][0], ok=False, message="creditor 3: refused")
    result = await service.finish_log(session, log_id=pairs[1][0], ok=True, message=None)

    assert (result.batch_closed, result.batch_status) == (True, "donewitherror")
    row = await _batch_row(session, batch.id)
    assert (row.status, row.done, row.failed) == ("donewitherror", 2, 1)
    log = await _log_row(session, pairs[0][0])
    assert (log.status, log.message) == ("error", "creditor 3: refused")


async def test_finishing_a_log_twice_counts_it_once(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    pairs = await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=[1, 2])

    await service.finish_log(session, log_id=pairs[0][0], ok=False, message="boom")
    again = await service.finish_log(session, log_id=pairs[0][0], ok=True, message="late")

    assert again == service.FinishResult(finished=False)
    row = await _batch_row(session, batch.id)
    assert (row.status, row.done, row.failed) == ("running", 1, 1)
    log = await _log_row(session, pairs[0][0])
    assert (log.status, log.message) == ("error", "boom")


async def test_fail_batch_marks_error_with_message(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)

    await service.fail_batch(session, batch_id=batch.id, message="The query filter could not run")

    row = await _batch_row(session, batch.id)
    assert (row.status, row.message) == ("error", "The query filter could not run")
    assert row.endtime is not None
    with pytest.raises(NotFound):
        await service.fail_batch(session, batch_id=987654, message="x")


async def test_adding_logs_to_a_closed_batch_opens_it_again(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    [(log_id, _)] = await service.add_logs(
        session, batch_id=batch.id, limetype="debtor", object_ids=[1]
    )
    await service.finish_log(session, log_id=log_id, ok=True, message=None)
    assert (await _batch_row(session, batch.id)).status == "ok"

    await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=[2])

    row = await _batch_row(session, batch.id)
    assert (row.status, row.endtime, row.total, row.done) == ("running", None, 2, 1)


async def test_add_log_counts_a_finished_log_and_closes_an_ordinary_batch(
    session: AsyncSession,
) -> None:
    batch = await service.create_batch(
        session, title="Retrigger webhooks", task="x", created_by=None
    )

    log_id = await service.add_log(
        session, batch_id=batch.id, limetype="creditor", object_id=4, status="error", message="nope"
    )

    log = await _log_row(session, log_id)
    assert (log.status, log.message, log.object_id) == ("error", "nope", 4)
    row = await _batch_row(session, batch.id)
    assert (row.status, row.total, row.done, row.failed) == ("donewitherror", 1, 1, 1)


async def test_add_log_rejects_unknown_status_and_batch(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    with pytest.raises(ValueError, match="status"):
        await service.add_log(
            session, batch_id=batch.id, limetype="x", object_id=1, status="done", message=None
        )
    with pytest.raises(NotFound):
        await service.add_log(
            session, batch_id=987654, limetype="x", object_id=1, status="ok", message=None
        )


async def test_daily_batch_is_created_once_per_title_and_day(session: AsyncSession) -> None:
    day = date(2026, 3, 4)
    first = await service.daily_batch(session, title="Billecta webhooks", task="webhooks", day=day)
    again = await service.daily_batch(session, title="Billecta webhooks", task="webhooks", day=day)
    next_day = await service.daily_batch(
        session, title="Billecta webhooks", task="webhooks", day=day + timedelta(days=1)
    )
    other = await service.daily_batch(session, title="Other", task="webhooks", day=day)

    assert first.id == again.id
    assert len({first.id, next_day.id, other.id}) == 3
    assert first.parameters == {"daily": "2026-03-04"}


async def test_daily_batch_counts_events_and_stays_open(session: AsyncSession) -> None:
    batch = await service.daily_batch(
        session, title="Billecta webhooks", task="webhooks", day=date(2026, 3, 4)
    )

    await service.add_log(
        session, batch_id=batch.id, limetype="invoice", object_id=1, status="ok", message=None
    )
    await service.add_log(
        session, batch_id=batch.id, limetype="invoice", object_id=2, status="error", message="x"
    )

    row = await _batch_row(session, batch.id)
    assert (row.status, row.total, row.done, row.failed) == ("running", 2, 2, 1)


async def test_daily_batch_creation_is_race_safe(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async def get_or_create() -> int:
        async with committed_sessionmaker() as s:
            batch = await service.daily_batch(
                s, title="Billecta webhooks", task="webhooks", day=date(2026, 5, 6)
            )
            await asyncio.sleep(0.01)
            await s.commit()
            return batch.id

    ids = await asyncio.gather(*(get_or_create() for _ in range(10)))

    assert len(set(ids)) == 1
    async with committed_sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Batch)) == 1


async def test_daily_batch_closes_once_its_day_is_over(session: AsyncSession) -> None:
    now = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
    yesterday = await service.daily_batch(session, title="W", task="w", day=date(2026, 3, 4))
    today = await service.daily_batch(session, title="W", task="w", day=date(2026, 3, 5))
    for batch in (yesterday, today):
        await service.add_log(
            session, batch_id=batch.id, limetype="invoice", object_id=1, status="ok", message=None
        )

    summary = await service.finish_running_batches(session, now=now)

    assert summary.closed == 1
    assert (await _batch_row(session, yesterday.id)).status == "ok"
    assert (await _batch_row(session, today.id)).status == "running"


async def test_late_error_on_a_closed_daily_batch_marks_it_donewitherror(
    session: AsyncSession,
) -> None:
    batch = await service.daily_batch(session, title="W", task="w", day=date(2026, 3, 4))
    await service.add_log(
        session, batch_id=batch.id, limetype="invoice", object_id=1, status="ok", message=None
    )
    await service.finish_running_batches(session, now=datetime(2026, 3, 6, tzinfo=UTC))
    assert (await _batch_row(session, batch.id)).status == "ok"

    await service.add_log(
        session, batch_id=batch.id, limetype="invoice", object_id=2, status="error", message="x"
    )

    row = await _batch_row(session, batch.id)
    assert (row.status, row.total, row.done, row.failed) == ("donewitherror", 2, 2, 1)


async def test_finish_running_batches_closes_a_stalled_batch_from_its_logs(
    session: AsyncSession,
) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    pairs = await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=[1, 2])
    # Logs finished while their counting was lost (e.g. written by hand after an incident).
    await session.execute(
        update(Log).where(Log.id == pairs[0][0]).values(status="ok", updated_at=func.now())
    )
    await session.execute(
        update(Log).where(Log.id == pairs[1][0]).values(status="error", updated_at=func.now())
    )

    summary = await service.finish_running_batches(session, now=datetime.now(UTC))

    assert summary == service.FinishSummary(closed=1, logs_failed=0)
    row = await _batch_row(session, batch.id)
    assert (row.status, row.done, row.failed) == ("donewitherror", 2, 1)
    latest = await session.scalar(select(func.max(Log.updated_at)).where(Log.batch_id == batch.id))
    assert row.endtime == latest


async def test_finish_running_batches_leaves_batches_with_unfinished_logs(
    session: AsyncSession,
) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=[1])
    await _age(session, batch_id=batch.id, by=timedelta(hours=5))

    summary = await service.finish_running_batches(session, now=datetime.now(UTC))

    assert summary == service.FinishSummary(closed=0, logs_failed=0)
    assert (await _batch_row(session, batch.id)).status == "running"


async def test_empty_batch_closes_ok_only_when_old(session: AsyncSession) -> None:
    fresh = await service.create_batch(session, title="fresh", task="x", created_by=None)
    old = await service.create_batch(session, title="old", task="x", created_by=None)
    await _age(session, batch_id=old.id, by=timedelta(hours=2))

    summary = await service.finish_running_batches(session, now=datetime.now(UTC))

    assert summary.closed == 1
    assert (await _batch_row(session, old.id)).status == "ok"
    assert (await _batch_row(session, old.id)).endtime is not None
    assert (await _batch_row(session, fresh.id)).status == "running"


async def test_nightly_marks_stale_logs_of_lost_jobs_error_and_closes(
    session: AsyncSession,
) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    pairs = await service.add_logs(
        session, batch_id=batch.id, limetype="debtor", object_ids=[1, 2, 3, 4]
    )
    (done_id, _), (lost_running, _), (lost_pending, _), (alive_id, _) = pairs
    await service.finish_log(session, log_id=done_id, ok=True, message=None)
    await service.start_log(session, log_id=lost_running)
    await service.set_log_tasks(
        session, tasks=[(lost_running, "job-lost", 1), (alive_id, "job-alive", 1)]
    )
    await _age(session, batch_id=batch.id, by=timedelta(hours=3))
    asked: list[str] = []

    async def job_exists(task_id: str) -> bool:
        asked.append(task_id)
        return task_id == "job-alive"

    summary = await service.finish_running_batches(
        session, now=datetime.now(UTC), job_exists=job_exists
    )

    assert summary == service.FinishSummary(closed=0, logs_failed=2)
    assert sorted(asked) == ["job-alive", "job-lost"]
    for log_id in (lost_running, lost_pending):
        log = await _log_row(session, log_id)
        assert (log.status, log.message) == ("error", LOST_JOB_MESSAGE)
    assert (await _log_row(session, alive_id)).status == "pending"
    row = await _batch_row(session, batch.id)
    assert (row.status, row.done, row.failed) == ("running", 3, 2)

    await service.finish_log(session, log_id=alive_id, ok=True, message=None)
    row = await _batch_row(session, batch.id)
    assert (row.status, row.done, row.failed) == ("donewitherror", 4, 2)


async def test_nightly_closes_batch_when_its_last_logs_were_lost(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    pairs = await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=[1, 2])
    await service.finish_log(session, log_id=pairs[0][0], ok=True, message=None)
    await service.set_log_task(session, log_id=pairs[1][0], task_id="job-gone", attempt=1)
    await _age(session, batch_id=batch.id, by=timedelta(hours=3))

    async def job_exists(task_id: str) -> bool:
        return False

    summary = await service.finish_running_batches(
        session, now=datetime.now(UTC), job_exists=job_exists
    )

    assert summary == service.FinishSummary(closed=1, logs_failed=1)
    row = await _batch_row(session, batch.id)
    assert (row.status, row.done, row.failed) == ("donewitherror", 2, 1)


async def test_nightly_keeps_recent_logs_even_without_a_job(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=[1])

    async def job_exists(task_id: str) -> bool:
        return False

    summary = await service.finish_running_batches(
        session, now=datetime.now(UTC), job_exists=job_exists
    )

    assert summary == service.FinishSummary(closed=0, logs_failed=0)


async def test_concurrent_finishers_count_every_log_once_and_close_once(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with committed_sessionmaker() as s:
        batch = await service.create_batch(s, title="Upsert debtors", task="x", created_by=None)
        pairs = await service.add_logs(
            s, batch_id=batch.id, limetype="debtor", object_ids=range(1, 201)
        )
        await s.commit()
    failing = {log_id for log_id, obj in pairs if obj % 7 == 0}
    # Every log once, and 60 of them a second time (arq may run a job twice).
    calls = [log_id for log_id, _ in pairs] + [log_id for log_id, _ in pairs[::10]] * 2

    async def finish(log_id: int) -> service.FinishResult:
        async with committed_sessionmaker() as s:
            await service.start_log(s, log_id=log_id)
            result = await service.finish_log(
                s, log_id=log_id, ok=log_id not in failing, message=None
            )
            await s.commit()
            return result

    results = await asyncio.gather(*(finish(log_id) for log_id in calls))

    assert sum(r.finished for r in results) == 200
    assert sum(r.batch_closed for r in results) == 1
    async with committed_sessionmaker() as s:
        row = await service.get_batch(s, batch_id=batch.id)
        assert (row.status, row.total, row.done, row.failed) == (
            "donewitherror",
            200,
            200,
            len(failing),
        )
        errors = await s.scalar(
            select(func.count()).where(Log.batch_id == batch.id, Log.status == "error")
        )
        assert errors == len(failing)
        latest = await s.scalar(select(func.max(Log.updated_at)).where(Log.batch_id == batch.id))
        assert row.endtime == latest


async def test_concurrent_successful_finishers_close_batch_ok(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with committed_sessionmaker() as s:
        batch = await service.create_batch(s, title="t", task="x", created_by=None)
        pairs = await service.add_logs(
            s, batch_id=batch.id, limetype="debtor", object_ids=range(50)
        )
        await s.commit()

    async def finish(log_id: int) -> bool:
        async with committed_sessionmaker() as s:
            result = await service.finish_log(s, log_id=log_id, ok=True, message=None)
            await s.commit()
            return result.batch_closed

    closed = await asyncio.gather(*(finish(log_id) for log_id, _ in pairs * 2))

    assert sum(closed) == 1
    async with committed_sessionmaker() as s:
        row = await service.get_batch(s, batch_id=batch.id)
        assert (row.status, row.done, row.failed) == ("ok", 50, 0)


async def test_list_batches_pages_newest_first_with_filters(session: AsyncSession) -> None:
    ids = [
        (await service.create_batch(session, title=f"b{i}", task="x", created_by=None)).id
        for i in range(5)
    ]
    await service.fail_batch(session, batch_id=ids[1], message="x")

    first = await service.list_batches(session, limit=2)
    assert [b.id for b in first.items][:2] == [ids[4], ids[3]]
    assert first.next_cursor == ids[3]
    second = await service.list_batches(session, limit=2, cursor=first.next_cursor)
    assert [b.id for b in second.items] == [ids[2], ids[1]]
    failed = await service.list_batches(session, status="error", limit=50)
    assert [b.id for b in failed.items if b.id in ids] == [ids[1]]


async def test_list_batches_filters_by_start_time(session: AsyncSession) -> None:
    old = await service.create_batch(session, title="old", task="x", created_by=None)
    new = await service.create_batch(session, title="new", task="x", created_by=None)
    await _age(session, batch_id=old.id, by=timedelta(days=3))
    since = datetime.now(UTC) - timedelta(days=1)

    recent = await service.list_batches(session, since=since, limit=50)
    before = await service.list_batches(session, until=since.replace(tzinfo=None), limit=50)

    assert new.id in {b.id for b in recent.items}
    assert old.id not in {b.id for b in recent.items}
    assert {b.id for b in before.items} >= {old.id}
    assert new.id not in {b.id for b in before.items}
    with pytest.raises(InvalidInput):
        await service.list_batches(session, since=since, until=since - timedelta(days=1), limit=5)


async def test_get_batch_of_unknown_id_is_not_found(session: AsyncSession) -> None:
    with pytest.raises(NotFound, match="Integration monitor batch 424242 not found"):
        await service.get_batch(session, batch_id=424242)


async def test_list_logs_pages_and_filters_by_status(session: AsyncSession) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    pairs = sorted(
        await service.add_logs(session, batch_id=batch.id, limetype="debtor", object_ids=range(5))
    )
    await service.finish_log(session, log_id=pairs[0][0], ok=False, message="x")

    page = await service.list_logs(session, batch_id=batch.id, limit=3)
    rest = await service.list_logs(session, batch_id=batch.id, limit=3, cursor=page.next_cursor)
    errors = await service.list_logs(session, batch_id=batch.id, status="error", limit=3)

    assert [log.id for log in page.items + rest.items] == [p[0] for p in reversed(pairs)]
    assert rest.next_cursor is None
    assert [log.id for log in errors.items] == [pairs[0][0]]
    with pytest.raises(NotFound):
        await service.list_logs(session, batch_id=987654, limit=3)


async def test_list_logs_for_object_spans_batches(session: AsyncSession) -> None:
    first = await service.create_batch(session, title="a", task="x", created_by=None)
    second = await service.create_batch(session, title="b", task="x", created_by=None)
    await service.add_logs(session, batch_id=first.id, limetype="debtor", object_ids=[77, 78])
    await service.add_logs(session, batch_id=second.id, limetype="debtor", object_ids=[77])
    await service.add_logs(session, batch_id=second.id, limetype="article", object_ids=[77])

    logs = await service.list_logs_for_object(session, limetype="debtor", object_id=77, limit=10)

    assert [log.batch_id for log in logs] == [second.id, first.id]
