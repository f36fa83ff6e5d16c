"""The Lime webhook receiver: signatures (v1, v2, rotation), what is stored, dedupe, answers."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from billecta_gateway.limecrm.processing import process_job_id
from billecta_gateway.limecrm.signature import sign_v1
from billecta_gateway.main import create_app
from billecta_gateway.webhooks.intake import Intake
from tests.conftest import make_settings
from tests.limein.conftest import lime_settings
from tests.limein.support import (
    OLD_SECRET,
    RECEIVER,
    encode,
    fixture,
    post_v1,
    post_v2,
    stored_events,
)

QUEUE = make_settings().arq_queue_name


def queued_job(job_id: str, redis: ArqRedis) -> Job:
    return Job(job_id, redis, _queue_name=QUEUE)


async def test_v1_delivery_is_stored_with_its_object_and_queued(
    hook: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis
) -> None:
    response = await post_v1(hook, fixture("debtor_update"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "accepted"
    [event] = await stored_events(session)
    assert body["event_id"] == event.id
    assert (event.event_type, event.limetype, event.object_id) == ("debtor.update", "debtor", 1001)
    assert event.lime_timestamp is not None
    assert event.lime_timestamp.isoformat() == "2023-10-27T11:40:01.100000+00:00"
    assert event.status == "received"
    assert event.payload == fixture("debtor_update")
    assert event.enqueued_at is not None
    job = queued_job(process_job_id(event.id, 0), redis)
    assert await job.status() == JobStatus.queued
    info = await job.info()
    assert info is not None
    assert (info.function, info.args) == ("process_lime_webhook_event", (event.id,))


async def test_the_trailing_slash_form_also_works(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    raw = encode(fixture("debtor_new"))
    from tests.limein.support import SECRET

    response = await hook.post(
        RECEIVER + "/", content=raw, headers={"x-lime-signature": sign_v1(SECRET, raw)}
    )
    assert response.status_code == 200
    assert len(await stored_events(session)) == 1


async def test_the_previous_secret_is_accepted_during_a_rotation(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    assert (await post_v1(hook, fixture("debtor_new"), secret=OLD_SECRET)).status_code == 200
    assert len(await stored_events(session)) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-lime-signature": ""},
        {"x-lime-signature": "sha256="},
        {"x-lime-signature": "sha256=" + "0" * 64},
        {"x-lime-signature": "md5=abc"},
    ],
)
async def test_missing_or_wrong_signature_is_401_and_stores_nothing(
    hook: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis, headers: dict[str, str]
) -> None:
    response = await hook.post(RECEIVER, content=encode(fixture("debtor_new")), headers=headers)
    assert response.status_code == 401
    assert "X-Lime-Signature" in response.json()["error_message"]
    assert await stored_events(session) == []
    assert await redis.zcard(QUEUE) == 0


async def test_a_signature_by_another_secret_is_401(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    assert (await post_v1(hook, fixture("debtor_new"), secret="not-ours")).status_code == 401
    assert await stored_events(session) == []


async def test_a_signature_over_other_bytes_is_401(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    from tests.limein.support import SECRET

    signed = encode(fixture("debtor_new"))
    sent = signed.replace(b"Testsson AB", b"Mallory AB")
    response = await hook.post(
        RECEIVER, content=sent, headers={"x-lime-signature": sign_v1(SECRET, signed)}
    )
    assert response.status_code == 401
    assert await stored_events(session) == []


async def test_v2_delivery_is_accepted_and_deduplicated_by_its_delivery_id(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    first = await post_v2(hook, fixture("debtor_new"), delivery_id="dlv-1")
    assert first.json()["status"] == "accepted"
    # A retry keeps the delivery id (and the first attempt's timestamp).
    again = await post_v2(hook, fixture("debtor_new"), delivery_id="dlv-1", at=time.time() - 60)
    assert again.json() == {"status": "duplicate", "event_id": first.json()["event_id"]}
    [event] = await stored_events(session)
    assert event.delivery_id == "dlv-1"


async def test_v2_older_than_300_seconds_is_refused(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    old = await post_v2(hook, fixture("debtor_new"), delivery_id="dlv-2", at=time.time() - 301)
    assert old.status_code == 401
    assert await stored_events(session) == []


async def test_v2_signature_without_its_delivery_headers_is_refused(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    from tests.limein.support import SECRET

    raw = encode(fixture("debtor_new"))
    # A v1 digest presented as v2 must not pass, nor a v2 header without its delivery id.
    response = await hook.post(
        RECEIVER, content=raw, headers={"x-lime-signature": "v2=" + sign_v1(SECRET, raw)[7:]}
    )
    assert response.status_code == 401
    assert await stored_events(session) == []


async def test_v1_retry_is_a_duplicate_by_event_id_and_timestamp(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    first = await post_v1(hook, fixture("debtor_update"))
    # Same event, object and values.timestamp; key order differs: still the same delivery.
    reordered: dict[str, Any] = {"body": fixture("debtor_update")["body"], "event": "debtor.update"}
    again = await post_v1(hook, reordered)
    assert again.json() == {"status": "duplicate", "event_id": first.json()["event_id"]}
    newer = fixture("debtor_update")
    newer["body"]["values"]["timestamp"] = "2023-10-27T13:45:00.000000+02:00"
    assert (await post_v1(hook, newer)).json()["status"] == "accepted"
    assert len(await stored_events(session)) == 2


@pytest.mark.parametrize(
    "raw",
    [
        b"not json at all",
        b"[1, 2]",
        b'{"event": 5}',
        b'{"event": "debtor.update", "body": {"id": "x", "values": {}}}',
        b'{"event": "debtor.update", "body": {"id": 1001, "values": {}}}',
        b'{"event": "debtor.new", "body": {"id": 1001}}',
    ],
)
async def test_authenticated_but_unreadable_is_stored_invalid_and_answered_200(
    hook: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis, raw: bytes
) -> None:
    response = await post_v1(hook, raw)
    assert response.status_code == 200
    assert response.json()["status"] == "invalid"
    [event] = await stored_events(session)
    assert event.status == "invalid"
    assert event.payload["reason"]
    assert await redis.zcard(QUEUE) == 0


async def test_a_nul_character_is_stored_without_it(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = fixture("debtor_new")
    body["body"]["values"]["name"] = "Nul\u0000AB"
    assert (await post_v1(hook, body)).json()["status"] == "accepted"
    [event] = await stored_events(session)
    assert event.payload["body"]["values"]["name"] == "NulAB"


async def test_an_unmirrored_limetype_is_stored_ignored(
    hook: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis
) -> None:
    body = fixture("debtor_new")
    body["event"], body["body"]["limetype"] = "helpdesk.new", "helpdesk"
    assert (await post_v1(hook, body)).json()["status"] == "ignored"
    [event] = await stored_events(session)
    assert event.status == "ignored"
    assert await redis.zcard(QUEUE) == 0


async def test_without_a_configured_secret_every_delivery_is_401(
    lime_server: Any, redis: ArqRedis
) -> None:
    app = create_app(make_settings(), configure_logs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        raw = encode(fixture("debtor_new"))
        response = await c.post(
            RECEIVER, content=raw, headers={"x-lime-signature": sign_v1("", raw)}
        )
    assert response.status_code == 401


async def test_database_unreachable_is_503(lime_server: Any, redis: ArqRedis) -> None:
    app = create_app(lime_settings(lime_server), configure_logs=False)
    closed = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    async with app.router.lifespan_context(app):
        await app.state.intake.close()
        app.state.intake = await Intake.open(closed, max_size=1)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            response = await post_v1(client, fixture("debtor_new"))
    await closed.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
