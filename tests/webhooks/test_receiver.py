"""The receiver: authentication, Billecta's body, durable intake, enqueueing, failure modes."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from billecta_gateway.main import create_app
from billecta_gateway.models import AuditRecord, WebhookEvent
from billecta_gateway.webhooks.envelope import canonical_json
from billecta_gateway.webhooks.fixtures import fixture_bytes, list_fixtures, load_fixture
from billecta_gateway.webhooks.intake import Intake
from billecta_gateway.webhooks.service import process_job_id
from billecta_gateway.webhooks.tasks import enqueue_webhook_events
from tests.conftest import LIME_KEY, WEBHOOK_KEY, join_test_transaction, make_settings
from tests.webhooks.support import (
    RECEIVER,
    close_context,
    event_row,
    hook_client,
    job_context,
    post_event,
    post_fixture,
)


def queued_job(job_id: str, redis: ArqRedis) -> Job:
    return Job(job_id, redis, _queue_name=make_settings().arq_queue_name)


async def _count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(WebhookEvent)) or 0)


async def test_valid_delivery_is_stored_and_queued(
    hook: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis
) -> None:
    raw = fixture_bytes("InvoicePaymentReceived")
    response = await post_fixture(hook, "InvoicePaymentReceived")

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "accepted"
    event = await event_row(session, answer["event_id"])
    body = json.loads(raw)
    assert set(body) == {"EventDate", "CreditorPublicId", "Event", "Data", "AdditionalData"}
    assert event.status == "received"
    assert event.event_type == "InvoicePaymentReceived"
    digest = hashlib.sha256(canonical_json(body).encode()).hexdigest()
    assert event.dedupe_key == f"sha256:{digest}"
    assert event.event_id is None
    assert event.creditorpublicid == body["CreditorPublicId"]
    # "2026-03-10T07:30:00" is Stockholm time (UTC+1 in March).
    assert event.created == datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
    assert event.payload == body
    assert event.enqueued_at is not None
    job = queued_job(process_job_id(event.id, 0), redis)
    assert await job.status() == JobStatus.queued


async def test_receiver_path_with_a_trailing_slash_also_works(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await hook.post(RECEIVER + "/", json=load_fixture("DebtorUpdated"))
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert await _count(session) == 1


async def test_receiver_is_not_audited(hook: httpx.AsyncClient, session: AsyncSession) -> None:
    await post_event(hook, load_fixture("DebtorUpdated"))
    audited = await session.scalar(
        select(func.count()).select_from(AuditRecord).where(AuditRecord.path == RECEIVER)
    )
    assert audited == 0


async def test_repeated_delivery_is_a_duplicate_stored_once(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = load_fixture("DebtorUpdated")
    first = (await post_event(hook, body)).json()
    second = (await post_event(hook, body)).json()
    assert first["status"] == "accepted"
    assert second == {"status": "duplicate", "event_id": first["event_id"]}
    assert await _count(session) == 1


async def test_every_fixture_is_accepted_as_its_bytes_are(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    for event, variant in list_fixtures():
        response = await post_fixture(hook, event, variant=variant)
        assert response.status_code == 200, (event, variant, response.text)
        assert response.json()["status"] == "accepted", (event, variant)
        stored = await event_row(session, response.json()["event_id"])
        assert stored.event_type == event
        assert stored.payload == json.loads(fixture_bytes(event, variant=variant))
    assert await _count(session) == len(list_fixtures())


async def test_data_may_be_an_object_a_string_or_null(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    deleted = await post_fixture(hook, "InvoiceActionDeleted")
    assert deleted.status_code == 200
    event = await event_row(session, deleted.json()["event_id"])
    assert event.payload["Data"] == "7545769150"
    assert event.payload["AdditionalData"] == "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f"
    empty = load_fixture("DebtorUpdated")
    empty["Data"] = None
    assert (await post_event(hook, empty)).json()["status"] == "accepted"
    absent = load_fixture("DebtorUpdated")
    del absent["Data"], absent["AdditionalData"]
    assert (await post_event(hook, absent)).json()["status"] == "accepted"
    assert await _count(session) == 3


async def test_the_earlier_names_are_read_as_aliases(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    real = load_fixture("DebtorUpdated")
    legacy = {
        "EventId": "legacy-1",
        "EventType": real["Event"],
        "CreditorPublicId": real["CreditorPublicId"],
        "Created": "2026-03-02T08:15:00+01:00",
        "Content": real["Data"],
        "SecondaryContent": None,
    }
    answer = (await post_event(hook, legacy)).json()
    assert answer["status"] == "accepted"
    event = await event_row(session, answer["event_id"])
    assert event.event_type == "DebtorUpdated"
    assert event.dedupe_key == "id:legacy-1"
    assert event.created == datetime(2026, 3, 2, 7, 15, tzinfo=UTC)


async def test_delivery_is_deduplicated_by_its_body(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = load_fixture("UnmatchedPayment")
    other = copy.deepcopy(body)
    other["Data"]["Amount"]["Value"] = 1

    first = (await post_event(hook, body)).json()
    again = (await post_event(hook, body)).json()
    different = (await post_event(hook, other)).json()

    assert again == {"status": "duplicate", "event_id": first["event_id"]}
    assert different["status"] == "accepted"
    assert different["event_id"] != first["event_id"]
    event = await event_row(session, first["event_id"])
    assert event.dedupe_key.startswith("sha256:")
    assert event.event_id is None


async def test_unknown_event_type_is_stored_and_ignored(
    hook: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis
) -> None:
    body = load_fixture("DebtorUpdated")
    body["Event"] = "InvoiceCommented"
    answer = (await post_event(hook, body)).json()
    assert answer["status"] == "ignored"
    event = await event_row(session, answer["event_id"])
    assert event.status == "ignored"
    assert event.enqueued_at is None
    assert await queued_job(process_job_id(event.id, 0), redis).status() == JobStatus.not_found


async def test_event_date_without_offset_is_billectas_stockholm_clock(
    sessionmaker: async_sessionmaker[AsyncSession], connection: AsyncConnection, redis: ArqRedis
) -> None:
    # Whatever the business time zone: Billecta's clock is Europe/Stockholm.
    settings = make_settings(business_timezone="America/New_York")
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        await join_test_transaction(app, sessionmaker, connection)
        async with hook_client(app) as client:
            summer = load_fixture("DebtorUpdated")
            summer["EventDate"] = "2026-07-02T08:15:00.1234567"
            winter = load_fixture("DebtorUpdated")
            winter["EventDate"] = "2026-01-02T08:15:00"
            explicit = load_fixture("DebtorUpdated")
            explicit["EventDate"] = "2026-01-02T08:15:00Z"
            ids = [
                (await post_event(client, b)).json()["event_id"] for b in (summer, winter, explicit)
            ]
    async with sessionmaker() as session:
        created = [(await event_row(session, i)).created for i in ids]
    stockholm = ZoneInfo("Europe/Stockholm")
    assert created[0] == datetime(2026, 7, 2, 8, 15, 0, 123456, tzinfo=stockholm)
    assert created[0] == datetime(2026, 7, 2, 6, 15, 0, 123456, tzinfo=UTC)
    assert created[1] == datetime(2026, 1, 2, 7, 15, tzinfo=UTC)
    assert created[2] == datetime(2026, 1, 2, 8, 15, tzinfo=UTC)


async def test_missing_or_wrong_key_is_401_and_stores_nothing(
    app: FastAPI, session: AsyncSession
) -> None:
    body = load_fixture("DebtorUpdated")
    async with hook_client(app, key="wrong") as wrong:
        assert (await post_event(wrong, body)).status_code == 401
    async with hook_client(app, key=LIME_KEY) as lime_key:
        response = await post_event(lime_key, body)
    assert response.status_code == 401
    assert "error_message" in response.json()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as anonymous:
        assert (await post_event(anonymous, body)).status_code == 401
    assert await _count(session) == 0


async def test_both_rotation_keys_are_accepted(
    sessionmaker: async_sessionmaker[AsyncSession], connection: AsyncConnection, redis: ArqRedis
) -> None:
    settings = make_settings(webhook_api_key=f"{WEBHOOK_KEY},next-key-2f9a")
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        await join_test_transaction(app, sessionmaker, connection)
        for n, key in enumerate((WEBHOOK_KEY, "next-key-2f9a")):
            body = load_fixture("DebtorUpdated")
            body["EventDate"] = f"2026-03-02T08:15:0{n}"
            async with hook_client(app, key=key) as client:
                assert (await post_event(client, body)).json()["status"] == "accepted"
        async with hook_client(app, key="old-key") as client:
            assert (await post_event(client, body)).status_code == 401


async def test_configured_header_name_is_used(
    sessionmaker: async_sessionmaker[AsyncSession], connection: AsyncConnection, redis: ArqRedis
) -> None:
    settings = make_settings(webhook_header_name="authorization")
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        await join_test_transaction(app, sessionmaker, connection)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ok = await client.post(
                RECEIVER, json=load_fixture("DebtorUpdated"), headers={"authorization": WEBHOOK_KEY}
            )
            wrong_header = await client.post(
                RECEIVER, json=load_fixture("Overpayment"), headers={"x-api-key": WEBHOOK_KEY}
            )
    assert ok.status_code == 200
    assert wrong_header.status_code == 401


async def test_malformed_json_is_400(hook: httpx.AsyncClient, session: AsyncSession) -> None:
    for raw in (b"{not json", b"[1, 2]", b"", b'{"Event": NaN}'):
        response = await hook.post(
            RECEIVER, content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert "error_message" in response.json()
    assert await _count(session) == 0


async def test_malformed_envelope_is_400_naming_the_field(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    cases: list[tuple[dict[str, Any], str]] = []
    for field, value in (("Event", None), ("Event", "  "), ("EventDate", "yesterday")):
        body = load_fixture("DebtorUpdated")
        body[field] = value
        cases.append((body, field))
    for field in ("Event", "EventDate"):
        missing = load_fixture("DebtorUpdated")
        del missing[field]
        cases.append((missing, field))
    for body, field in cases:
        response = await post_event(hook, body)
        assert response.status_code == 400
        message = response.json()["error_message"]
        assert message.startswith(f"The webhook body is not valid: {field}:"), message
    assert await _count(session) == 0


async def test_json_that_postgresql_cannot_store_is_400_and_stores_nothing(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = load_fixture("DebtorUpdated")
    body["AdditionalData"] = "nul \u0000 inside"
    response = await post_event(hook, body)
    assert response.status_code == 400
    assert "cannot be stored" in response.json()["error_message"]
    assert await _count(session) == 0
    # The receiver still works after the refused statement (its savepoint was rolled back).
    assert (await post_event(hook, load_fixture("DebtorUpdated"))).json()["status"] == "accepted"
    assert await _count(session) == 1


async def test_oversized_body_is_413(hook: httpx.AsyncClient) -> None:
    body = load_fixture("DebtorUpdated")
    body["AdditionalData"] = "x" * 1_100_000
    assert (await post_event(hook, body)).status_code == 413


async def test_database_unreachable_is_503(redis: ArqRedis) -> None:
    settings = make_settings()
    app = create_app(settings, configure_logs=False)
    closed = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    async with app.router.lifespan_context(app):
        await app.state.intake.close()
        app.state.intake = await Intake.open(closed, max_size=1)
        async with hook_client(app) as client:
            response = await post_event(client, load_fixture("DebtorUpdated"))
    await closed.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert "error_message" in response.json()


async def test_redis_down_still_stores_and_the_cron_enqueues(
    sessionmaker: async_sessionmaker[AsyncSession],
    connection: AsyncConnection,
    session: AsyncSession,
    redis: ArqRedis,
) -> None:
    down = make_settings(redis_url="redis://127.0.0.1:1/0")
    app = create_app(down, configure_logs=False)
    async with app.router.lifespan_context(app):
        await join_test_transaction(app, sessionmaker, connection)
        async with hook_client(app) as client:
            response = await post_event(client, load_fixture("InvoicePaymentReceived"))
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "accepted"
    event = await event_row(session, answer["event_id"])
    assert event.status == "received"
    assert event.enqueued_at is None

    ctx = job_context(sessionmaker, make_settings())
    result = await enqueue_webhook_events(ctx)
    await close_context(ctx)
    assert result == {"due": 1, "enqueued": 1}
    assert await queued_job(process_job_id(event.id, 0), redis).status() == JobStatus.queued
    assert (await event_row(session, event.id)).enqueued_at is not None


async def test_ten_concurrent_deliveries_store_one_event(
    committed_app: FastAPI,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    body = load_fixture("InvoicePaymentReceived")
    clients = [hook_client(committed_app) for _ in range(10)]
    try:
        responses = await asyncio.gather(*(post_event(c, body) for c in clients))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    answers = [r.json() for r in responses]
    assert all(r.status_code == 200 for r in responses)
    assert sorted(a["status"] for a in answers).count("accepted") == 1
    assert len({a["event_id"] for a in answers}) == 1
    async with committed_sessionmaker() as session:
        assert await _count(session) == 1
