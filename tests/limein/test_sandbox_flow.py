"""Through the Lime sandbox: signed deliveries over HTTP into the receiver, processed by the
worker's code, a refused signature, Lime disabling the subscription and the gateway re-enabling
it, and the catch-up poll finding what was dropped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from billecta_gateway.config import Settings
from billecta_gateway.db import session_scope
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm import subscriptions
from billecta_gateway.limecrm.connect import LimeConnector, open_lime
from billecta_gateway.limecrm.poll import compare_ids, poll_limetype
from billecta_gateway.limecrm.processing import process_lime_event
from billecta_gateway.limesandbox import LimeSandboxConfig
from billecta_gateway.models import Debtor, LimePollMark, LimeWebhookEvent
from billecta_gateway.queue import AfterCommit
from billecta_gateway.webhooks.service import utcnow
from tests.conftest import run_worker_burst
from tests.limecrm.support import API_KEY, APPLICATION, LimeSandboxServer, serve_lime_sandbox
from tests.limein.conftest import lime_settings


@pytest.fixture
async def world(
    committed_app: Any, engine: AsyncEngine
) -> AsyncIterator[tuple[LimeSandboxServer, Settings, LimeConnector]]:
    """A sandbox whose deliveries reach the app, fast retries, and the worker's connector."""
    config = LimeSandboxConfig(
        api_key=API_KEY,
        application=APPLICATION,
        delivery_attempts=2,
        delivery_backoff=1.0,
        time_scale=0.01,
    )
    transport = httpx.ASGITransport(app=committed_app)
    async with serve_lime_sandbox(config, webhook_transport=transport) as server:
        settings = lime_settings(server)
        connector = open_lime(settings, engine, role="worker", schema=LimeSchema())
        assert connector is not None
        try:
            yield server, settings, connector
        finally:
            await connector.aclose()


async def settle(server: LimeSandboxServer) -> None:
    for _ in range(500):
        if server.sandbox.webhooks.idle():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("deliveries did not settle")


async def process_all(
    maker: async_sessionmaker[AsyncSession], settings: Settings, lime: LimeConnector
) -> list[str]:
    async with session_scope(maker) as session:
        ids = (
            await session.scalars(
                select(LimeWebhookEvent.id)
                .where(LimeWebhookEvent.status == "received")
                .order_by(LimeWebhookEvent.id)
            )
        ).all()
    statuses = []
    for event_id in ids:
        async with session_scope(maker) as session:
            outcome = await process_lime_event(
                session,
                event_id=event_id,
                now=utcnow(),
                settings=settings,
                schema=LimeSchema(),
                lime=lime,
            )
        statuses.append(outcome.status)
    return statuses


async def test_lime_changes_reach_the_mirror_and_a_disabled_subscription_is_repaired(
    world: tuple[LimeSandboxServer, Settings, LimeConnector],
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    server, settings, lime = world
    states = await subscriptions.subscribe(lime.client, settings, LimeSchema())
    assert [(s.name, s.action) for s in states] == [
        ("billecta-gateway", "created"),
        ("billecta-gateway-system", "created"),
    ]
    assert (await subscriptions.subscribe(lime.client, settings, LimeSchema()))[0].action == (
        "updated"
    )
    subs = await lime.client.subscriptions()
    assert len(subs) == 2
    assert {s["target_url"] for s in subs} == {
        "http://gateway.test/limepkg-billecta-integration/lime-webhook-receiver"
    }

    # 1. A debtor created in Lime reaches the mirror.
    created = await lime.client.create_object("debtor", {"name": "Acme AB", "phone": "0701"})
    await settle(server)
    assert await process_all(committed_sessionmaker, settings, lime) == ["processed"]
    async with session_scope(committed_sessionmaker) as session:
        debtor = await session.get(Debtor, created["_id"])
        assert debtor is not None and (debtor.name, debtor.phone) == ("Acme AB", "0701")

    # 2. Deliveries signed with a secret the gateway does not know are refused (401) until Lime
    #    drops the message and disables the subscription; nothing is stored for them.
    main = next(s for s in subs if s["name"] == "billecta-gateway")
    await lime.client.update_subscription(main["id"], {"secret": "a-wrong-secret"})
    await lime.client.update_object("debtor", created["_id"], {"phone": "0702"})
    await settle(server)
    message = next(m for m in server.sandbox.webhooks.messages if m.event == "debtor.update")
    assert message.responses == [401, 401, 401] and message.status == "dropped"
    assert (await lime.client.get_subscription(main["id"]))["enabled"] is False
    async with session_scope(committed_sessionmaker) as session:
        stored = (await session.scalars(select(LimeWebhookEvent.event_type))).all()
    assert sorted(stored) == ["debtor.new", "webhook.msg_dropped", "webhook.webhook.disabled"]

    # 3. The system events (second subscription) make the gateway re-enable the main one.
    assert await process_all(committed_sessionmaker, settings, lime) == ["processed", "processed"]
    await lime.client.update_subscription(main["id"], {"secret": "lime-webhook-secret-current"})
    repaired = await subscriptions.ensure_enabled(lime.client, settings)
    assert [(s.name, s.action) for s in repaired] == [
        ("billecta-gateway", "re-enabled"),
        ("billecta-gateway-system", "unchanged"),
    ]
    assert (await lime.client.get_subscription(main["id"]))["enabled"] is True

    # 4. The catch-up poll finds the dropped change.
    async with session_scope(committed_sessionmaker) as session:
        session.add(LimePollMark(limetype="debtor", high_water=utcnow() - timedelta(hours=1)))
    jobs = AfterCommit()
    summary = await poll_limetype(
        committed_sessionmaker,
        lime=lime,
        schema=LimeSchema(),
        settings=settings,
        limetype="debtor",
        now=utcnow(),
        jobs=jobs,
    )
    assert (summary.read, summary.applied, summary.failed) == (1, 1, [])
    async with session_scope(committed_sessionmaker) as session:
        debtor = await session.get(Debtor, created["_id"])
        assert debtor is not None and debtor.phone == "0702"
        mark = await session.get(LimePollMark, "debtor")
        assert mark is not None and mark.high_water is not None
    # Polled again: the same version is already applied.
    again = await poll_limetype(
        committed_sessionmaker,
        lime=lime,
        schema=LimeSchema(),
        settings=settings,
        limetype="debtor",
        now=utcnow(),
        jobs=jobs,
    )
    assert (again.read, again.applied, again.stale) == (1, 0, 1)


async def test_the_nightly_comparison_applies_deletes_polling_cannot_see(
    world: tuple[LimeSandboxServer, Settings, LimeConnector],
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _server, settings, lime = world
    kept = await lime.client.create_object("debtor", {"name": "Kept"})
    async with session_scope(committed_sessionmaker) as session:
        session.add_all([Debtor(id=kept["_id"], name="Kept"), Debtor(id=999_001, name="Gone")])

    summary = await compare_ids(
        committed_sessionmaker,
        lime=lime,
        schema=LimeSchema(),
        settings=settings,
        limetype="debtor",
        now=utcnow(),
        jobs=AfterCommit(),
    )

    assert summary.deleted == [999_001]
    async with session_scope(committed_sessionmaker) as session:
        assert await session.get(Debtor, 999_001) is None
        assert await session.get(Debtor, kept["_id"]) is not None


@pytest.mark.worker
async def test_the_real_worker_applies_what_lime_delivered(
    world: tuple[LimeSandboxServer, Settings, LimeConnector],
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: Any,
) -> None:
    server, settings, lime = world
    await subscriptions.subscribe(lime.client, settings, LimeSchema())
    created = await lime.client.create_object("debtor", {"name": "Worker AB"})
    await settle(server)

    worker = await run_worker_burst(settings)

    assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
    async with session_scope(committed_sessionmaker) as session:
        debtor = await session.get(Debtor, created["_id"])
        assert debtor is not None and debtor.name == "Worker AB"
        event = await session.scalar(select(LimeWebhookEvent))
        assert event is not None and event.status == "processed"


async def test_an_empty_list_from_lime_deletes_nothing(
    world: tuple[LimeSandboxServer, Settings, LimeConnector],
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _server, settings, lime = world
    async with session_scope(committed_sessionmaker) as session:
        session.add(Debtor(id=999_002, name="Still here"))

    summary = await compare_ids(
        committed_sessionmaker,
        lime=lime,
        schema=LimeSchema(),
        settings=settings,
        limetype="debtor",
        now=utcnow(),
        jobs=AfterCommit(),
    )

    assert summary.deleted == [] and "nothing deleted" in summary.kept[0]
    async with session_scope(committed_sessionmaker) as session:
        assert await session.get(Debtor, 999_002) is not None


async def test_a_limetype_lime_refuses_keeps_its_mark_and_the_poll_goes_on(
    world: tuple[LimeSandboxServer, Settings, LimeConnector],
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: Any,
) -> None:
    from billecta_gateway.limecrm.jobs import poll_lime_changes
    from tests.webhooks.support import close_context, job_context

    server, settings, lime = world
    created = await lime.client.create_object("debtor", {"name": "Polled AB"})
    await server.fault(kind="status", status=403, method="GET", path_contains="query/", count=1)
    ctx = job_context(committed_sessionmaker, settings)
    ctx["lime_schema"], ctx["lime"] = LimeSchema(), lime
    try:
        counts = await poll_lime_changes(ctx)
    finally:
        await close_context(ctx)

    # The first limetype (creditor) was refused; debtor was still polled.
    assert counts["creditor"] == -1 and counts["debtor"] == 1
    async with session_scope(committed_sessionmaker) as session:
        refused = await session.get(LimePollMark, "creditor")
        assert refused is not None and refused.high_water is None
        assert refused.last_error is not None and "403" in refused.last_error
        assert await session.get(Debtor, created["_id"]) is not None
