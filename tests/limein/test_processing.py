"""Processing stored Lime deliveries through ingestion: what is applied, skipped, waited for,
read from Lime, deleted (with conflicts on the monitor) and what the decorators enqueue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.lime import ingest
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.connect import LimeConnector
from billecta_gateway.models import (
    CreditorDebtor,
    Debtor,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    LimeObjectStamp,
    LimeWebhookEvent,
    Order,
    OrderRow,
    Tombstone,
)
from billecta_gateway.queue import AfterCommit
from billecta_gateway.webhooks.service import utcnow
from tests.limecrm.support import LimeSandboxServer
from tests.limein.conftest import lime_settings
from tests.limein.support import fixture, post_v1, process

CREDITOR_ID = 3


async def put(
    session: AsyncSession, settings: Settings, limetype: str, object_id: int, body: dict[str, Any]
) -> None:
    """Seed the mirror as the PUT API does."""
    await ingest.upsert_object(
        session,
        schema=LimeSchema(),
        settings=settings,
        limetype=limetype,
        object_id=object_id,
        body=body,
        jobs=AfterCommit(),
    )
    await session.flush()


async def deliver(hook: httpx.AsyncClient, body: dict[str, Any]) -> int:
    response = await post_v1(hook, body)
    assert response.json()["status"] == "accepted", response.text
    return int(response.json()["event_id"])


async def event_row(session: AsyncSession, event_id: int) -> LimeWebhookEvent:
    found = await session.get(LimeWebhookEvent, event_id, populate_existing=True)
    assert found is not None
    return found


async def monitor_logs(session: AsyncSession, title: str) -> list[IntegrationMonitorLog]:
    return list(
        (
            await session.scalars(
                select(IntegrationMonitorLog)
                .join(IntegrationMonitorBatch)
                .where(IntegrationMonitorBatch.title == title)
                .order_by(IntegrationMonitorLog.id)
            )
        ).all()
    )


def upserts(outcome_jobs: AfterCommit) -> list[str]:
    return [j.function for j in outcome_jobs.jobs]


async def test_new_applies_every_mirrored_value_in_lime_shapes(
    hook: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    event_id = await deliver(hook, fixture("debtor_new"))
    outcome = await process(session, event_id, settings)

    assert outcome.status == "processed"
    debtor = await session.get(Debtor, 1001, populate_existing=True)
    assert debtor is not None
    assert (debtor.name, debtor.debtortype, debtor.orgno) == (
        "Testsson AB",
        "company",
        "556000-0000",
    )
    # Lime's empty text and its `empty` option are null; unmirrored `casestart` and the
    # gateway-owned `billecta_error_message` are ignored instead of refused.
    assert (debtor.email, debtor.language, debtor.billecta_error_message) == (None, None, None)
    stamp = await session.get(LimeObjectStamp, ("debtor", 1001))
    assert stamp is not None
    assert stamp.lime_timestamp.isoformat() == "2023-10-27T11:34:56.420000+00:00"
    event = await event_row(session, event_id)
    assert (event.status, event.attempts) == ("processed", 1)
    [log] = await monitor_logs(session, "Lime webhooks")
    assert (log.limetype, log.object_id, log.status) == ("debtor", 1001, "ok")


async def test_update_applies_only_original_values_keys_and_decides_the_sync(
    hook: httpx.AsyncClient, session: AsyncSession, lime_server: LimeSandboxServer
) -> None:
    settings = lime_settings(lime_server, sync_on_change="debtor")
    await put(session, settings, "creditor", CREDITOR_ID, {"name": "Creditor AB"})
    await put(session, settings, "debtor", 1001, {"name": "Acme", "phone": "0704445556"})
    await put(session, settings, "creditordebtor", 2001, {"creditor": CREDITOR_ID, "debtor": 1001})

    outcome = await process(session, await deliver(hook, fixture("debtor_update")), settings)

    assert outcome.status == "processed"
    debtor = await session.get(Debtor, 1001, populate_existing=True)
    assert debtor is not None
    # `phone` changed; `name` is in values but not in original_values: not applied.
    assert (debtor.phone, debtor.name) == ("0701112223", "Acme")
    assert upserts(outcome.jobs) == ["upsert_debtor"]
    sync_logs = (
        await session.scalars(
            select(IntegrationMonitorLog.object_id).where(
                IntegrationMonitorLog.limetype == "debtor"
            )
        )
    ).all()
    assert 1001 in sync_logs

    unmapped = fixture("debtor_update")
    unmapped["body"]["original_values"] = {"language": "sv"}
    unmapped["body"]["values"]["language"] = "en"
    unmapped["body"]["values"]["timestamp"] = "2023-10-27T13:50:00.000000+02:00"
    quiet = await process(session, await deliver(hook, unmapped), settings)
    assert quiet.status == "processed"
    await session.refresh(debtor)
    assert debtor.language == "en"
    # A field no mapping reads changed: nothing goes to Billecta.
    assert upserts(quiet.jobs) == []


async def test_a_delivery_older_than_the_applied_version_is_skipped(
    hook: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await process(session, await deliver(hook, fixture("debtor_new")), settings)
    await process(session, await deliver(hook, fixture("debtor_update")), settings)
    late = fixture("debtor_update")
    late["body"]["original_values"] = {"phone": "0700000000"}
    late["body"]["values"]["phone"] = "0709999999"
    late["body"]["values"]["timestamp"] = "2023-10-27T13:38:00.000000+02:00"

    outcome = await process(session, await deliver(hook, late), settings)

    assert outcome.status == "processed"
    assert outcome.message is not None and "skipped" in outcome.message
    debtor = await session.get(Debtor, 1001, populate_existing=True)
    assert debtor is not None and debtor.phone == "0701112223"


def creditordebtor_new(debtor_id: int) -> dict[str, Any]:
    return {
        "event": "creditordebtor.new",
        "body": {
            "id": 2001,
            "limetype": "creditordebtor",
            "values": {
                "creditor": CREDITOR_ID,
                "debtor": debtor_id,
                "debtorpublicid": "",
                "id": 2001,
                "timestamp": "2023-10-27T13:34:57.000000+02:00",
            },
        },
    }


async def test_a_missing_related_object_waits_then_is_read_from_lime(
    hook: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    lime: LimeSandboxServer,
    connector: LimeConnector,
) -> None:
    [debtor_id] = await lime.seed({"debtor": [{"name": "Out Of Order AB", "phone": "0701"}]})
    await put(session, settings, "creditor", CREDITOR_ID, {"name": "Creditor AB"})
    event_id = await deliver(hook, creditordebtor_new(debtor_id))

    waiting = await process(session, event_id, settings, lime=connector)

    assert waiting.status == "pending"
    event = await event_row(session, event_id)
    assert event.status == "pending"
    assert event.last_error == f"waiting for debtor {debtor_id} to reach the mirror"
    assert event.next_attempt_at is not None
    assert [j.function for j in waiting.jobs.jobs] == ["process_lime_webhook_event"]
    assert waiting.jobs.jobs[0].defer_by is not None
    assert await session.get(CreditorDebtor, 2001) is None

    later = utcnow() + timedelta(seconds=settings.lime_relation_wait_seconds + 1)
    outcome = await process(session, event_id, settings, lime=connector, now=later)

    assert outcome.status == "processed"
    relation = await session.get(CreditorDebtor, 2001, populate_existing=True)
    assert relation is not None and relation.debtor == debtor_id
    debtor = await session.get(Debtor, debtor_id, populate_existing=True)
    assert debtor is not None and (debtor.name, debtor.phone) == ("Out Of Order AB", "0701")
    assert await session.get(LimeObjectStamp, ("debtor", debtor_id)) is not None


async def test_an_out_of_order_delivery_converges_once_its_relation_arrives(
    hook: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await put(session, settings, "creditor", CREDITOR_ID, {"name": "Creditor AB"})
    relation_event = await deliver(hook, creditordebtor_new(1001))
    assert (await process(session, relation_event, settings)).status == "pending"

    debtor_outcome = await process(session, await deliver(hook, fixture("debtor_new")), settings)

    # The debtor's arrival wakes the waiting event at once.
    assert [j.args for j in debtor_outcome.jobs.jobs] == [(relation_event,)]
    assert (await process(session, relation_event, settings)).status == "processed"
    relation = await session.get(CreditorDebtor, 2001, populate_existing=True)
    assert relation is not None and relation.debtor == 1001


async def test_a_delete_the_gateway_would_refuse_is_applied_and_recorded_as_a_conflict(
    hook: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await put(session, settings, "creditor", CREDITOR_ID, {"name": "Creditor AB"})
    await put(session, settings, "order", 4001, {"creditor": CREDITOR_ID})
    await put(session, settings, "orderrow", 7001, {"order": 4001, "description": "Row"})
    await session.execute(update(Order).where(Order.id == 4001).values(orderstatus="attested"))

    outcome = await process(session, await deliver(hook, fixture("orderrow_delete")), settings)

    assert outcome.status == "processed"
    assert await session.get(OrderRow, 7001, populate_existing=True) is None
    assert await session.get(Tombstone, ("orderrow", 7001)) is not None
    [log] = await monitor_logs(session, "Lime webhooks")
    assert (log.limetype, log.object_id, log.status) == ("orderrow", 7001, "error")
    assert log.message is not None
    assert "conflict" in log.message and "status 'attested'" in log.message


async def test_a_delete_of_an_object_still_referenced_waits(
    hook: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await put(session, settings, "creditor", CREDITOR_ID, {"name": "Creditor AB"})
    await put(session, settings, "debtor", 1001, {"name": "Acme"})
    await put(session, settings, "creditordebtor", 2001, {"creditor": CREDITOR_ID, "debtor": 1001})
    body = {"event": "debtor.delete", "body": {"id": 1001, "limetype": "debtor", "values": {}}}

    outcome = await process(session, await deliver(hook, body), settings)

    assert outcome.status == "pending"
    assert (
        outcome.message is not None and "still referenced by creditordebtor 2001" in outcome.message
    )
    assert await session.get(Debtor, 1001, populate_existing=True) is not None


async def test_restore_reads_the_object_from_lime(
    hook: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    lime: LimeSandboxServer,
    connector: LimeConnector,
) -> None:
    [debtor_id] = await lime.seed({"debtor": [{"name": "Restored AB", "debtortype": "company"}]})
    body = fixture("debtor_restore")
    body["body"]["id"] = debtor_id

    outcome = await process(session, await deliver(hook, body), settings, lime=connector)

    assert outcome.status == "processed"
    debtor = await session.get(Debtor, debtor_id, populate_existing=True)
    assert debtor is not None and (debtor.name, debtor.debtortype) == ("Restored AB", "company")


async def test_values_the_gateway_cannot_store_fail_and_are_on_the_monitor(
    hook: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    body = fixture("debtor_new")
    body["body"]["values"]["debtortype"] = "martian"

    outcome = await process(session, await deliver(hook, body), settings)

    assert outcome.status == "failed"
    assert await session.get(Debtor, 1001) is None
    [log] = await monitor_logs(session, "Lime webhooks")
    assert log.status == "error" and log.message is not None and "debtortype" in log.message


async def test_a_system_event_asks_for_the_subscriptions_check_and_a_poll(
    hook: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    outcome = await process(session, await deliver(hook, fixture("webhook_disabled")), settings)
    assert (outcome.status, outcome.poll) == ("processed", True)


async def test_a_processed_event_is_not_applied_twice(
    hook: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    event_id = await deliver(hook, fixture("debtor_new"))
    await process(session, event_id, settings)
    again = await process(session, event_id, settings)
    assert again.status == "processed" and again.message is None
    assert (await event_row(session, event_id)).attempts == 1


async def test_an_update_of_an_object_the_mirror_lacks_takes_every_value(
    hook: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    # The `.new` was lost: the update must not create a debtor holding only its phone.
    outcome = await process(session, await deliver(hook, fixture("debtor_update")), settings)

    assert outcome.status == "processed"
    debtor = await session.get(Debtor, 1001, populate_existing=True)
    assert debtor is not None
    assert (debtor.name, debtor.orgno, debtor.phone) == (
        "A name Lime holds but did not change",
        "556000-0000",
        "0701112223",
    )
