"""The inbox API: listing with filters (the Event Log dialog), reading, replaying."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import AuditRecord, WebhookEvent
from billecta_gateway.webhooks.fixtures import load_fixture
from tests.webhooks.support import (
    EVENTS,
    INVOICE_ID,
    event_row,
    post_event,
    process_stored,
    seed_debtor,
    seed_invoice,
)

Ctx = Any  # a worker context (see tests.webhooks.support.job_context)


async def _post(hook: httpx.AsyncClient, event_type: str, **changes: Any) -> int:
    body = load_fixture(event_type)
    body.update(changes)
    return int((await post_event(hook, body)).json()["event_id"])


async def test_inbox_api_needs_the_lime_key(anon_client: httpx.AsyncClient) -> None:
    assert (await anon_client.get(EVENTS)).status_code == 401
    assert (await anon_client.post(f"{EVENTS}/replay")).status_code == 401


async def test_events_are_listed_newest_first_with_filters(
    hook: httpx.AsyncClient, client: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session)
    payment = await _post(hook, "InvoicePaymentReceived")
    debtor = await _post(hook, "DebtorUpdated")
    ignored = await _post(
        hook, "DebtorUpdated", Event="InvoiceCommented", EventDate="2026-03-02T08:15:01"
    )
    await process_stored(ctx)

    everything = (await client.get(EVENTS)).json()
    assert [e["id"] for e in everything["items"]] == [ignored, debtor, payment]
    assert everything["next_cursor"] is None
    assert everything["items"][0]["payload"] is None

    page = (await client.get(EVENTS, params={"limit": 2})).json()
    assert [e["id"] for e in page["items"]] == [ignored, debtor]
    rest = (await client.get(EVENTS, params={"limit": 2, "cursor": page["next_cursor"]})).json()
    assert [e["id"] for e in rest["items"]] == [payment]

    by_status = (await client.get(EVENTS, params={"status": "ignored"})).json()
    assert [e["id"] for e in by_status["items"]] == [ignored]
    by_type = (await client.get(EVENTS, params={"event_type": "InvoicePaymentReceived"})).json()
    assert [e["id"] for e in by_type["items"]] == [payment]

    for_invoice = (
        await client.get(EVENTS, params={"limetype": "invoice", "object_id": INVOICE_ID})
    ).json()
    assert [e["id"] for e in for_invoice["items"]] == [payment]
    item = for_invoice["items"][0]
    assert item["status"] == "processed"
    assert {"limetype": "invoice", "object_id": INVOICE_ID} in item["objects"]
    for_debtors = (await client.get(EVENTS, params={"limetype": "debtor"})).json()
    assert [e["id"] for e in for_debtors["items"]] == [debtor]

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await client.get(EVENTS, params={"since": future})).json()["items"] == []


async def test_listing_rejects_bad_filters(client: httpx.AsyncClient) -> None:
    assert (await client.get(EVENTS, params={"status": "done"})).status_code == 422
    assert (await client.get(EVENTS, params={"object_id": 5})).status_code == 422
    response = await client.get(
        EVENTS, params={"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}
    )
    assert response.status_code == 422


async def test_one_event_is_read_with_its_payload(
    hook: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    event_id = await _post(hook, "UnmatchedPayment")
    body = (await client.get(f"{EVENTS}/{event_id}")).json()
    assert body["payload"] == load_fixture("UnmatchedPayment")
    assert body["status"] == "received"
    assert (await client.get(f"{EVENTS}/999999")).status_code == 404


async def test_replay_of_unknown_or_unsupported_events_is_refused(
    hook: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    assert (await client.post(f"{EVENTS}/999999/replay")).status_code == 404
    ignored = await _post(
        hook, "DebtorUpdated", Event="InvoiceCommented", EventDate="2026-03-02T08:15:02"
    )
    response = await client.post(f"{EVENTS}/{ignored}/replay")
    assert response.status_code == 409
    assert "InvoiceCommented" in response.json()["error_message"]


async def test_failed_events_since_a_time_are_replayed_and_recorded(
    hook: httpx.AsyncClient,
    client: httpx.AsyncClient,
    ctx: Ctx,
    session: AsyncSession,
) -> None:
    await seed_debtor(session)
    old = await _post(hook, "InvoicePaymentReceived")
    recent = await _post(hook, "AmountWrittenOffOnInvoice")
    processed = await _post(hook, "DebtorUpdated")
    await process_stored(ctx)
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id.in_([old, recent]))
        .values(status="failed", next_attempt_at=None, last_error="Invoice unknown")
    )
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == old)
        .values(received_at=datetime.now(UTC) - timedelta(days=3))
    )
    await seed_invoice(session)
    await session.commit()

    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    response = await client.post(f"{EVENTS}/replay", params={"status": "failed", "since": since})
    assert response.status_code == 200
    assert response.json() == {"replayed": 1, "event_ids": [recent], "more": False}
    await process_stored(ctx)
    assert (await event_row(session, recent)).status == "processed"
    assert (await event_row(session, old)).status == "failed"
    assert (await event_row(session, processed)).status == "processed"
    audit = await session.scalar(select(AuditRecord).where(AuditRecord.path == f"{EVENTS}/replay"))
    assert audit is not None
    assert audit.detail is not None and audit.detail["event_ids"] == [recent]

    everything = await client.post(f"{EVENTS}/replay", params={"limit": 1})
    assert everything.json() == {"replayed": 1, "event_ids": [old], "more": False}


async def test_bulk_replay_reports_when_the_limit_stopped_it(
    hook: httpx.AsyncClient, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    ids = [await _post(hook, "DebtorUpdated", EventDate=f"2026-03-02T08:16:0{n}") for n in range(3)]
    await session.execute(
        update(WebhookEvent).where(WebhookEvent.id.in_(ids)).values(status="failed")
    )
    await session.commit()
    first = (await client.post(f"{EVENTS}/replay", params={"limit": 2})).json()
    assert first == {"replayed": 2, "event_ids": ids[:2], "more": True}
    second = (await client.post(f"{EVENTS}/replay", params={"limit": 2})).json()
    assert second == {"replayed": 1, "event_ids": ids[2:], "more": False}
