"""Decorator behaviour of debtor, creditordebtor and person (SYNC_ON_CHANGE)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.models import IntegrationMonitorBatch, IntegrationMonitorLog
from tests.conftest import make_settings
from tests.tasks.support import FakeBillecta, add_creditor, add_debtor, run_job

OBJECTS = "/limepkg-billecta-integration/limeobjects"


@pytest.fixture
def settings() -> Settings:
    return make_settings(sync_on_change="debtor,creditordebtor,person,company")


async def _logs(session: AsyncSession) -> list[tuple[str, str, int, str]]:
    rows = await session.execute(
        select(
            IntegrationMonitorBatch.title,
            IntegrationMonitorLog.status,
            IntegrationMonitorLog.object_id,
            IntegrationMonitorLog.task_id,
        )
        .join(IntegrationMonitorBatch, IntegrationMonitorBatch.id == IntegrationMonitorLog.batch_id)
        .order_by(IntegrationMonitorLog.id)
    )
    return [(t, s, int(o or 0), str(j)) for t, s, o, j in rows]


async def test_a_mapped_change_queues_one_upsert_and_the_job_sends_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    redis: ArqRedis,
    ctx: dict[str, Any],
    fake: FakeBillecta,
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)

    response = await client.put(f"{OBJECTS}/debtor/1001", json={"email": "new@example.se"})
    again = await client.put(f"{OBJECTS}/debtor/1001", json={"phone": "070-123"})

    assert response.status_code == 200 and again.status_code == 200
    [(title, status, object_id, _)] = await _logs(session)
    assert (title, status, object_id) == ("Upsert debtors in Billecta (on change)", "pending", 1001)
    assert await redis.zcard(make_settings().arq_queue_name) == 1
    log_id = await session.scalar(select(IntegrationMonitorLog.id))
    assert await run_job(ctx, "upsert_debtor", log_id, 1001) == "ok"
    [create] = fake.requests("POST", "/v1/debtors/debtor")
    assert (create.body["Email"], create.body["Phone"]) == ("new@example.se", "070-123")


async def test_a_change_after_the_sync_started_gets_a_new_attempt(
    client: httpx.AsyncClient,
    session: AsyncSession,
    ctx: dict[str, Any],
    fake: FakeBillecta,
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    await client.put(f"{OBJECTS}/debtor/1001", json={"email": "a@example.se"})
    log_id = await session.scalar(select(IntegrationMonitorLog.id))
    await run_job(ctx, "upsert_debtor", log_id, 1001)

    await client.put(f"{OBJECTS}/debtor/1001", json={"email": "b@example.se"})

    logs = await _logs(session)
    assert [(s, j.rsplit(":", 1)[1]) for _, s, _, j in logs] == [("ok", "1"), ("pending", "2")]


async def test_an_unmapped_change_pushes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    response = await client.put(f"{OBJECTS}/debtor/1001", json={"language": "en"})
    assert response.status_code == 200
    assert await _logs(session) == []
    assert await redis.zcard(make_settings().arq_queue_name) == 0


async def test_a_debtor_without_creditor_relations_pushes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await add_debtor(session, 1001, creditors=())
    await client.put(f"{OBJECTS}/debtor/1001", json={"email": "x@example.se"})
    assert await _logs(session) == []


async def test_a_new_creditor_relation_upserts_its_debtor(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001, creditors=())
    response = await client.put(
        f"{OBJECTS}/creditordebtor/5001", json={"creditor": 1, "debtor": 1001}
    )
    assert response.status_code == 201
    assert [(s, o) for _, s, o, _ in await _logs(session)] == [("pending", 1001)]


async def test_an_anonymized_person_anonymizes_its_debtors(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001, person=True)
    response = await client.put(f"{OBJECTS}/person/51001", json={"anonymized": True})
    assert response.status_code == 200
    [(title, _, object_id, _)] = await _logs(session)
    assert (title, object_id) == ("Anonymize debtors in Billecta (on change)", 1001)
    other = await client.put(f"{OBJECTS}/person/51001", json={"firstname": "Anna"})
    assert other.status_code == 200
    assert len(await _logs(session)) == 1


async def test_decorators_are_off_unless_sync_on_change_names_the_limetype(
    session: AsyncSession, redis: ArqRedis
) -> None:
    from billecta_gateway.main import create_app
    from tests.conftest import LIME_KEY

    app = create_app(make_settings(), configure_logs=False)
    async with app.router.lifespan_context(app):
        from sqlalchemy.ext.asyncio import async_sessionmaker

        app.state.sessionmaker = async_sessionmaker(
            bind=session.bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        await add_creditor(session)
        await add_debtor(session, 1001)
        await session.commit()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gateway.test",
            headers={"x-api-key": LIME_KEY},
        ) as client:
            response = await client.put(f"{OBJECTS}/debtor/1001", json={"email": "n@example.se"})
    assert response.status_code == 200
    assert await _logs(session) == []


async def test_a_mapped_person_field_change_upserts_its_debtors_and_reaches_billecta(
    client: httpx.AsyncClient,
    session: AsyncSession,
    ctx: dict[str, Any],
    fake: FakeBillecta,
) -> None:
    await add_creditor(session)
    # Email = ["email", "person.email", ...]: with no email of its own, the person's is sent.
    await add_debtor(session, 1001, person=True, email=None)

    unmapped = await client.put(f"{OBJECTS}/person/51001", json={"firstname": "Annie"})
    assert unmapped.status_code == 200 and await _logs(session) == []
    response = await client.put(f"{OBJECTS}/person/51001", json={"email": "ny@example.se"})

    assert response.status_code == 200
    [(title, status, object_id, _)] = await _logs(session)
    assert (title, status, object_id) == ("Upsert debtors in Billecta (on change)", "pending", 1001)
    log_id = await session.scalar(select(IntegrationMonitorLog.id))
    assert await run_job(ctx, "upsert_debtor", log_id, 1001) == "ok"
    [create] = fake.requests("POST", "/v1/debtors/debtor")
    assert create.body["Email"] == "ny@example.se"


async def test_a_mapped_company_field_change_upserts_its_debtors(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001, address=None)
    await add_debtor(session, 1002, creditors=())  # nothing to sync to

    response = await client.put(f"{OBJECTS}/company/61001", json={"address": "Nygatan 2"})
    await client.put(f"{OBJECTS}/company/61002", json={"address": "Nygatan 3"})

    assert response.status_code == 200
    assert [(o, s) for _, s, o, _ in await _logs(session)] == [(1001, "pending")]
