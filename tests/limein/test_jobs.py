"""The Lime jobs as the worker runs them: registration, the inbox cron, system events, settings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from arq.jobs import Job, JobStatus
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.config import ConfigurationError, Settings
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.connect import LimeConnector
from billecta_gateway.limecrm.jobs import (
    enqueue_lime_webhook_events,
    process_lime_webhook_event,
)
from billecta_gateway.limecrm.processing import process_job_id
from billecta_gateway.models import LimeWebhookEvent
from billecta_gateway.worker import CRON_JOBS, FUNCTIONS, create_worker
from tests.conftest import make_settings
from tests.limein.support import fixture, post_v1
from tests.webhooks.support import close_context, job_context


@pytest.fixture
async def lime_ctx(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, redis: Any
) -> Any:
    ctx = job_context(sessionmaker, settings)
    ctx["lime_schema"] = LimeSchema()
    yield ctx
    await close_context(ctx)


def test_the_worker_lists_the_lime_jobs_and_crons(settings: Settings) -> None:
    names = {getattr(f, "name", getattr(f, "__name__", "")) for f in FUNCTIONS}
    assert {
        "process_lime_webhook_event",
        "enqueue_lime_webhook_events",
        "poll_lime_changes",
        "compare_lime_ids",
        "ensure_lime_subscriptions",
    } <= names
    settings = make_settings(lime_poll_interval_minutes=15)
    # Per-delivery work beside the object jobs; the poll, the comparison and the prune run long.
    objects = create_worker(settings, burst=True, queue="object")
    long = create_worker(settings, burst=True, queue="long")
    object_crons = {c.name for c in objects.cron_jobs}
    long_crons = {c.name: c for c in long.cron_jobs}
    assert {"cron:enqueue_lime_webhook_events", "cron:ensure_lime_subscriptions"} <= object_crons
    assert not any(
        name.startswith(("cron:poll_lime", "cron:compare_lime")) for name in object_crons
    )
    assert long_crons["cron:poll_lime_changes"].minute == {0, 15, 30, 45}
    assert "cron:compare_lime_ids" in long_crons
    assert "poll_lime_changes" in long.functions and "poll_lime_changes" not in objects.functions
    assert not any(c.name.startswith("cron:poll_lime") for c in CRON_JOBS)


async def test_the_inbox_cron_queues_what_never_reached_redis(
    hook: httpx.AsyncClient, session: AsyncSession, lime_ctx: Any, redis: Any
) -> None:
    event_id = (await post_v1(hook, fixture("debtor_new"))).json()["event_id"]
    await redis.flushdb()  # the message is lost
    await session.execute(
        update(LimeWebhookEvent).where(LimeWebhookEvent.id == event_id).values(enqueued_at=None)
    )
    await session.commit()

    assert await enqueue_lime_webhook_events(lime_ctx) == {"due": 1, "enqueued": 1}

    job = Job(process_job_id(event_id, 0), redis, _queue_name=make_settings().arq_queue_name)
    assert await job.status() == JobStatus.queued


async def test_a_system_event_queues_the_subscriptions_check_and_a_poll(
    hook: httpx.AsyncClient,
    session: AsyncSession,
    lime_ctx: Any,
    connector: LimeConnector,
    redis: Any,
) -> None:
    event_id = (await post_v1(hook, fixture("webhook_disabled"))).json()["event_id"]
    lime_ctx["lime"] = connector

    assert await process_lime_webhook_event(lime_ctx, event_id) == "processed"

    settings = make_settings()
    objects = {j.function for j in await redis.queued_jobs(queue_name=settings.arq_queue_name)}
    long = {j.function for j in await redis.queued_jobs(queue_name=settings.arq_long_queue_name)}
    assert "ensure_lime_subscriptions" in objects
    # The poll runs long: it is queued for the long-job worker.
    assert "poll_lime_changes" in long and "poll_lime_changes" not in objects


async def test_without_the_connector_the_lime_crons_do_nothing(lime_ctx: Any) -> None:
    from billecta_gateway.limecrm.jobs import (
        compare_lime_ids,
        ensure_lime_subscriptions,
        poll_lime_changes,
    )

    lime_ctx["lime"] = None
    assert await poll_lime_changes(lime_ctx) == {}
    assert await compare_lime_ids(lime_ctx) == {}
    assert await ensure_lime_subscriptions(lime_ctx) == []


def test_at_most_two_webhook_secrets_and_they_are_redacted() -> None:
    with pytest.raises(ConfigurationError, match="at most two"):
        make_settings(
            lime_base_url="https://lime.test/app", lime_api_key="k", lime_webhook_secret="a,b,c"
        )
    settings = make_settings(
        lime_base_url="https://lime.test/app", lime_api_key="k", lime_webhook_secret="s1x,s2y"
    )
    assert {"s1x", "s2y"} <= set(settings.secret_values())
    with pytest.raises(ConfigurationError, match="PUBLIC_BASE_URL"):
        make_settings(lime_base_url="https://lime.test/app", lime_api_key="k", public_base_url="x")


async def test_lime_status_prints_subscriptions_last_event_lag_and_inbox(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    lime: Any,
    settings: Settings,
) -> None:
    from datetime import UTC, datetime, timedelta

    from billecta_gateway.limecrm.commands import status_command, subscribe_command
    from billecta_gateway.models import LimePollMark

    printed: list[str] = []
    assert await subscribe_command(settings, out=printed.append) == 0
    assert printed[0] == (
        "Receiver: http://gateway.test/limepkg-billecta-integration/lime-webhook-receiver"
    )
    assert printed[1].startswith("billecta-gateway (id 1): created, enabled, 52 events")
    async with committed_sessionmaker() as session:
        session.add(
            LimeWebhookEvent(
                dedupe_key="k:1", event_type="debtor.new", payload={}, status="processed"
            )
        )
        session.add(
            LimeWebhookEvent(dedupe_key="k:2", event_type="x", payload={}, status="invalid")
        )
        session.add(
            LimePollMark(
                limetype="debtor",
                high_water=datetime.now(UTC) - timedelta(seconds=90),
                last_polled_at=datetime.now(UTC),
            )
        )
        await session.commit()

    lines: list[str] = []
    assert await status_command(settings, out=lines.append) == 0

    text = "\n".join(lines)
    assert "billecta-gateway (id 1): enabled, 52 events" in text
    assert "billecta-gateway-system (id 2): enabled, 2 events" in text
    assert "Last event received: x at " in text
    assert "  debtor: 9" in text  # about 90 s of lag
    assert "  processed: 1" in text and "  invalid: 1" in text and "  failed: 0" in text


async def test_old_finished_deliveries_are_pruned_and_unfinished_ones_kept(
    session: AsyncSession, lime_ctx: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from billecta_gateway.limecrm.jobs import prune_lime_webhook_events

    old = datetime.now(UTC) - timedelta(days=91)
    for key, status in (("a", "processed"), ("b", "invalid"), ("c", "failed"), ("d", "pending")):
        session.add(
            LimeWebhookEvent(
                dedupe_key=key, event_type="debtor.new", payload={}, status=status, received_at=old
            )
        )
    session.add(
        LimeWebhookEvent(dedupe_key="e", event_type="debtor.new", payload={}, status="processed")
    )
    await session.commit()

    assert await prune_lime_webhook_events(lime_ctx) == {"deleted": 2}

    left = (
        await session.scalars(
            select(LimeWebhookEvent.dedupe_key).order_by(LimeWebhookEvent.dedupe_key)
        )
    ).all()
    assert left == ["c", "d", "e"]
