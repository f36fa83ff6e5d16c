"""End to end on a real arq worker in burst mode, real Redis and committed data."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.models import CreditorDebtor, Debtor
from tests.conftest import make_settings
from tests.tasks.support import (
    FakeBillecta,
    add_creditor,
    add_debtor,
    batch_and_logs,
    drain_worker,
    job_context,
    run_job,
)

pytestmark = pytest.mark.worker
PREFIX = "/limepkg-billecta-integration"


async def _seed(maker: async_sessionmaker[AsyncSession]) -> None:
    async with maker() as session:
        await add_creditor(session, 1, "cred-A", name="Acme AB")
        await add_creditor(session, 2, "cred-B", name="Beta AB")
        await add_debtor(session, 1001, creditors=(1, 2), orgno="556677-8899")
        await add_debtor(session, 1002, person=True, email=None)
        await session.commit()


async def _start(client: httpx.AsyncClient, ids: list[int]) -> int:
    response = await client.post(
        f"{PREFIX}/task/upsert-debtors-in-billecta",
        json={
            "integration_monitor_batch_title": "Upsert debtors in Billecta",
            "query_filter": {"key": "_id", "op": "IN", "exp": ids},
        },
        headers={"x-lime-user": "anna.svensson"},
    )
    assert response.status_code == 200, response.text
    return int(response.json()["integration_monitor_batch_id"])


async def test_a_debtor_batch_sends_exactly_the_expected_requests(
    committed_client: httpx.AsyncClient,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    fake: FakeBillecta,
) -> None:
    await _seed(committed_sessionmaker)
    batch_id = await _start(committed_client, [1001, 1002])

    worker = await drain_worker()

    assert worker.jobs_failed == 0
    creates = fake.requests("POST", "/v1/debtors/debtor")
    assert sorted((c.body["CreditorPublicId"], c.body["DebtorExternalId"]) for c in creates) == [
        ("cred-A", "1001"),
        ("cred-A", "1002"),
        ("cred-B", "1001"),
    ]
    company = next(c.body for c in creates if c.body["DebtorExternalId"] == "1001")
    assert company["Name"] == "Debtor 1001"
    assert company["OrgNo"] == "556677-8899"
    assert company["Email"] == "d1001@example.se"
    assert company["DebtorType"] == "Company"
    private = next(c.body for c in creates if c.body["DebtorExternalId"] == "1002")
    assert private["DebtorType"] == "Private"
    assert "Email" not in private
    lookups = fake.requests("GET")
    assert len(lookups) == 3
    assert all(s.path.startswith("/v1/debtors/debtorbyexternalid/") for s in lookups)
    assert len(fake.sent) == 6
    async with committed_sessionmaker() as session:
        batch, logs = await batch_and_logs(session, batch_id)
        relations = (await session.scalars(select(CreditorDebtor))).all()
    assert (batch.status, batch.total, batch.done, batch.failed) == ("ok", 2, 2, 0)
    assert batch.endtime is not None and batch.created_by == "anna.svensson"
    assert {log.status for log in logs.values()} == {"ok"}
    assert sorted(r.debtorpublicid or "" for r in relations) == sorted(fake.debtors)


async def test_429_and_503_are_retried_and_the_batch_still_ends_ok(
    committed_client: httpx.AsyncClient,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    fake: FakeBillecta,
) -> None:
    await _seed(committed_sessionmaker)
    fake.fail("get_debtor_by_external_id", httpx.Response(429, headers={"Retry-After": "0"}))
    fake.fail("create_debtor", httpx.Response(503, headers={"Retry-After": "0"}))
    batch_id = await _start(committed_client, [1002])

    worker = await drain_worker()

    assert worker.jobs_retried == 2
    assert len(fake.debtors) == 1
    async with committed_sessionmaker() as session:
        batch, logs = await batch_and_logs(session, batch_id)
    assert (batch.status, logs[1002].status) == ("ok", "ok")


async def test_one_failing_object_ends_the_batch_donewitherror(
    committed_client: httpx.AsyncClient,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    fake: FakeBillecta,
) -> None:
    await _seed(committed_sessionmaker)
    fake.fail(
        "create_debtor",
        httpx.Response(400, json={"Message": "OrgNo is not valid"}),
    )
    batch_id = await _start(committed_client, [1001, 1002])

    await drain_worker()

    async with committed_sessionmaker() as session:
        batch, logs = await batch_and_logs(session, batch_id)
        failed = next(log for log in logs.values() if log.status == "error")
        debtor = await session.get(Debtor, failed.object_id)
    assert (batch.status, batch.done, batch.failed) == ("donewitherror", 2, 1)
    assert sorted(log.status for log in logs.values()) == ["error", "ok"]
    assert failed.message is not None
    assert "Billecta rejected the request: OrgNo is not valid" in failed.message
    assert failed.message.startswith("Creditor ")
    assert debtor is not None and debtor.billecta_error_message == failed.message


async def test_two_concurrent_jobs_for_one_debtor_create_it_once(
    committed_client: httpx.AsyncClient,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    fake: FakeBillecta,
) -> None:
    async with committed_sessionmaker() as session:
        await add_creditor(session)
        await add_debtor(session, 1001)
        await session.commit()
    fake.delays["get_debtor_by_external_id"] = 0.2
    fake.delays["create_debtor"] = 0.2
    first = await _start(committed_client, [1001])
    second = await _start(committed_client, [1001])

    await drain_worker()

    assert len(fake.requests("POST", "/v1/debtors/debtor")) == 1
    assert len(fake.debtors) == 1
    async with committed_sessionmaker() as session:
        for batch_id in (first, second):
            batch, _ = await batch_and_logs(session, batch_id)
            assert batch.status == "ok"


class WorkerKilled(BaseException):
    """Stands for the worker dying: nothing in the job catches it."""


async def test_a_job_crashing_right_after_billecta_created_the_debtor_creates_it_once(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    fake: FakeBillecta,
    billecta: BillectaClient,
) -> None:
    async with committed_sessionmaker() as session:
        await add_creditor(session)
        await add_debtor(session, 1001)
        await session.commit()
    ctx = job_context(
        settings=make_settings(),
        sessionmaker=committed_sessionmaker,
        billecta=billecta,
        redis=redis,
    )
    from billecta_gateway.debtors.tasks import UPSERT_DEBTOR
    from billecta_gateway.queue import AfterCommit
    from billecta_gateway.tasks.contract import start_task
    from billecta_gateway.tasks.fanout import fan_out_task

    async with committed_sessionmaker() as session:
        batch_id = await start_task(
            session,
            kind=UPSERT_DEBTOR,
            title="t",
            created_by=None,
            object_ids=[1001],
            jobs=AfterCommit(),
        )
        await session.commit()
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    async with committed_sessionmaker() as session:
        _, logs = await batch_and_logs(session, batch_id)

    def crash() -> None:
        raise WorkerKilled

    fake.after["create_debtor"] = crash
    with pytest.raises(WorkerKilled):
        await run_job(ctx, "upsert_debtor", logs[1001].id, 1001)
    async with committed_sessionmaker() as session:
        _, logs = await batch_and_logs(session, batch_id)
        relation = await session.scalar(select(CreditorDebtor))
    # The try's work died with it; its `running` mark was committed on its own, so the
    # re-drive can tell a dead worker's job by how long it has been running.
    assert logs[1001].status == "running"
    assert relation is not None and relation.debtorpublicid is None
    assert len(fake.debtors) == 1

    # arq runs the job again (the next try) after the worker's death.
    assert await run_job({**ctx, "job_try": 2}, "upsert_debtor", logs[1001].id, 1001) == "ok"

    assert len(fake.requests("POST", "/v1/debtors/debtor")) == 1
    assert len(fake.requests("PUT", "/v1/debtors/debtor")) == 1
    async with committed_sessionmaker() as session:
        batch, logs = await batch_and_logs(session, batch_id)
        relation = await session.scalar(select(CreditorDebtor))
    assert relation is not None and relation.debtorpublicid == next(iter(fake.debtors))
    assert (batch.status, logs[1001].status) == ("ok", "ok")


async def test_concurrent_jobs_in_one_process_serialise_on_the_debtor_lock(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    fake: FakeBillecta,
    billecta: BillectaClient,
) -> None:
    from billecta_gateway.debtors.tasks import UPSERT_DEBTOR
    from billecta_gateway.queue import AfterCommit
    from billecta_gateway.tasks.contract import start_task
    from billecta_gateway.tasks.fanout import fan_out_task

    async with committed_sessionmaker() as session:
        await add_creditor(session)
        await add_debtor(session, 1001)
        await session.commit()
    ctx = job_context(
        settings=make_settings(),
        sessionmaker=committed_sessionmaker,
        billecta=billecta,
        redis=redis,
    )
    logs = []
    for _ in range(2):
        async with committed_sessionmaker() as session:
            batch_id = await start_task(
                session,
                kind=UPSERT_DEBTOR,
                title="t",
                created_by=None,
                object_ids=[1001],
                jobs=AfterCommit(),
            )
            await session.commit()
        await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
        async with committed_sessionmaker() as session:
            logs.append((await batch_and_logs(session, batch_id))[1][1001].id)
    fake.delays["get_debtor_by_external_id"] = 0.2

    results = await asyncio.gather(
        *(run_job(ctx, "upsert_debtor", log_id, 1001) for log_id in logs)
    )

    assert results == ["ok", "ok"]
    assert len(fake.requests("POST", "/v1/debtors/debtor")) == 1
    assert len(fake.debtors) == 1


async def _one_debtor_log(
    maker: async_sessionmaker[AsyncSession], ctx: dict[str, Any], debtor_id: int = 1001
) -> tuple[int, int]:
    """A committed upsert batch for one debtor, fanned out; answers (batch id, log id)."""
    from billecta_gateway.debtors.tasks import UPSERT_DEBTOR
    from billecta_gateway.queue import AfterCommit
    from billecta_gateway.tasks.contract import start_task
    from billecta_gateway.tasks.fanout import fan_out_task

    async with maker() as session:
        await add_creditor(session)
        await add_debtor(session, debtor_id)
        batch_id = await start_task(
            session,
            kind=UPSERT_DEBTOR,
            title="t",
            created_by=None,
            object_ids=[debtor_id],
            jobs=AfterCommit(),
        )
        await session.commit()
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    async with maker() as session:
        _, logs = await batch_and_logs(session, batch_id)
    return batch_id, logs[debtor_id].id


async def test_a_second_run_of_a_job_in_flight_waits_for_it_and_is_skipped(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    fake: FakeBillecta,
    billecta: BillectaClient,
) -> None:
    from billecta_gateway.debtors.tasks import UPSERT_DEBTOR
    from billecta_gateway.tasks.runner import run_object_task

    ctx = job_context(
        settings=make_settings(),
        sessionmaker=committed_sessionmaker,
        billecta=billecta,
        redis=redis,
    )
    batch_id, log_id = await _one_debtor_log(committed_sessionmaker, ctx)
    fake.delays["get_debtor_by_external_id"] = 0.2

    async def second() -> str:
        await asyncio.sleep(0.05)  # the first run has started its log
        return await run_object_task(ctx, UPSERT_DEBTOR, log_id, 1001)

    results = await asyncio.gather(run_object_task(ctx, UPSERT_DEBTOR, log_id, 1001), second())

    assert sorted(results) == ["ok", "skipped"]
    assert len(fake.requests("GET")) == 1
    assert len(fake.requests("POST", "/v1/debtors/debtor")) == 1
    async with committed_sessionmaker() as session:
        batch, logs = await batch_and_logs(session, batch_id)
    assert (batch.status, batch.done, logs[1001].status) == ("ok", 1, "ok")


async def test_a_connection_the_database_dropped_fails_the_try_and_the_next_try_succeeds(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    migrated_database: str,
    redis: ArqRedis,
    fake: FakeBillecta,
    billecta: BillectaClient,
) -> None:
    """The worker's pool does not pre-ping: a connection the server closed while it sat in the
    pool fails the job's try with a transient error, and the retry gets a fresh connection."""
    from arq import Retry
    from sqlalchemy import text

    from billecta_gateway.db import create_engine, create_sessionmaker
    from billecta_gateway.debtors.tasks import UPSERT_DEBTOR
    from billecta_gateway.tasks.runner import run_object_task

    settings = make_settings(database_url=migrated_database)
    worker_engine = create_engine(settings, pre_ping=False)
    try:
        worker_sessions = create_sessionmaker(worker_engine)
        ctx = job_context(
            settings=settings, sessionmaker=worker_sessions, billecta=billecta, redis=redis
        )
        batch_id, log_id = await _one_debtor_log(committed_sessionmaker, ctx)
        async with worker_sessions() as session:
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
        async with committed_sessionmaker() as session:
            assert await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.2)

        with pytest.raises(Retry):
            await run_object_task(ctx, UPSERT_DEBTOR, log_id, 1001)
        assert fake.sent == []
        assert await run_object_task({**ctx, "job_try": 2}, UPSERT_DEBTOR, log_id, 1001) == "ok"
    finally:
        await worker_engine.dispose()
    async with committed_sessionmaker() as session:
        batch, logs = await batch_and_logs(session, batch_id)
    assert (batch.status, logs[1001].status) == ("ok", "ok")
    assert len(fake.debtors) == 1
