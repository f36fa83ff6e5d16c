"""A change saved while its object's job runs is never lost (DESIGN §3.5, issue 16 item 1).

Real commits on both sides: the API on committed sessions and the job on its own connection,
racing. The PUT lands at a different moment of the job each round (before it started, while
it waits for Billecta, while it finishes); whatever the moment, Billecta ends with the last
value saved, and no round leaves work behind.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.config import Settings
from billecta_gateway.models import IntegrationMonitorLog
from tests.conftest import LIME_KEY, make_settings
from tests.tasks.support import FakeBillecta, add_creditor, add_debtor, job_context, run_job

OBJECTS = "/limepkg-billecta-integration/limeobjects"
ROUNDS = 50
Log = IntegrationMonitorLog


@pytest.fixture
def race_settings() -> Settings:
    return make_settings(sync_on_change="debtor,creditordebtor")


@pytest.fixture
async def api(
    race_settings: Settings, committed_sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    from billecta_gateway.main import create_app

    application = create_app(race_settings, configure_logs=False)
    async with application.router.lifespan_context(application):
        application.state.sessionmaker = committed_sessionmaker
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test", headers={"x-api-key": LIME_KEY}
        ) as client:
            yield client


async def _unfinished(maker: async_sessionmaker[AsyncSession]) -> list[tuple[int, str]]:
    async with maker() as session:
        rows = await session.execute(
            select(Log.id, Log.task_id)
            .where(Log.object_id == 1001, Log.status.in_(("pending", "running")))
            .order_by(Log.id)
        )
        return [(int(i), str(t)) for i, t in rows]


async def _drain(ctx: dict[str, Any]) -> int:
    """Run every unfinished sync of the debtor, as a worker would; answers how many ran."""
    ran = 0
    while todo := await _unfinished(ctx["sessionmaker"]):
        for log_id, task_id in todo:
            await run_job(ctx, task_id.split(":", 1)[0], log_id, 1001)
            ran += 1
        assert ran < 20, "follow-ups never stop"
    return ran


def _billecta_email(fake: FakeBillecta) -> str:
    [debtor] = fake.debtors.values()
    return str(debtor["Email"])


async def test_a_change_saved_while_the_job_waits_for_billecta_reaches_billecta(
    api: httpx.AsyncClient,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    fake: FakeBillecta,
    billecta: BillectaClient,
    race_settings: Settings,
) -> None:
    async with committed_sessionmaker() as session:
        await add_creditor(session)
        await add_debtor(session, 1001)
        await session.commit()
    ctx = job_context(
        settings=race_settings, sessionmaker=committed_sessionmaker, billecta=billecta, redis=redis
    )
    assert (await api.put(f"{OBJECTS}/debtor/1001", json={"email": "first@example.se"})).is_success
    [(log_id, task_id)] = await _unfinished(committed_sessionmaker)
    in_billecta = asyncio.Event()
    fake.after["get_debtor_by_external_id"] = in_billecta.set
    fake.delays["create_debtor"] = 0.3

    job = asyncio.create_task(run_job(ctx, "upsert_debtor", log_id, 1001))
    await asyncio.wait_for(in_billecta.wait(), 5)
    second = await api.put(f"{OBJECTS}/debtor/1001", json={"email": "second@example.se"})
    assert await job == "ok"

    assert second.status_code == 200
    # The running job saw the counter move and queued the follow-up in its own batch.
    [(follow_up, follow_task)] = await _unfinished(committed_sessionmaker)
    assert follow_task.rsplit(":", 1)[0] == task_id.rsplit(":", 1)[0]
    assert await redis.exists(f"arq:job:{follow_task}")
    assert await run_job(ctx, "upsert_debtor", follow_up, 1001) == "ok"
    assert _billecta_email(fake) == "second@example.se"
    assert len(fake.requests("POST", "/v1/debtors/debtor")) == 1


async def test_changes_racing_their_job_are_never_lost_50_rounds(
    api: httpx.AsyncClient,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    fake: FakeBillecta,
    billecta: BillectaClient,
    race_settings: Settings,
) -> None:
    rng = random.Random(16)
    async with committed_sessionmaker() as session:
        await add_creditor(session)
        await add_debtor(session, 1001)
        await session.commit()
    ctx = job_context(
        settings=race_settings, sessionmaker=committed_sessionmaker, billecta=billecta, redis=redis
    )
    for round_no in range(ROUNDS):
        first, last = f"r{round_no}-a@example.se", f"r{round_no}-b@example.se"
        assert (await api.put(f"{OBJECTS}/debtor/1001", json={"email": first})).is_success
        [(log_id, task_id)] = await _unfinished(committed_sessionmaker)
        fake.delays["update_debtor"] = fake.delays["create_debtor"] = rng.uniform(0, 0.03)

        async def change(delay: float, email: str) -> None:
            await asyncio.sleep(delay)
            response = await api.put(f"{OBJECTS}/debtor/1001", json={"email": email})
            assert response.status_code == 200

        results = await asyncio.gather(
            run_job(ctx, task_id.split(":", 1)[0], log_id, 1001),
            change(rng.uniform(0, 0.04), last),
        )
        assert results[0] in ("ok", "skipped")
        await _drain(ctx)

        assert _billecta_email(fake) == last, f"round {round_no} lost the change"
        assert await _unfinished(committed_sessionmaker) == []
    assert len(fake.requests("POST", "/v1/debtors/debtor")) == 1
