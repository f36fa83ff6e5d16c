"""Concurrent deliveries and concurrent processing, on real commits (separate connections)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.config import Settings
from billecta_gateway.models import DebtCollection, Invoice, Payment, WebhookEvent
from billecta_gateway.webhooks.fixtures import IDS, fixture_bytes, list_fixtures, load_fixture
from billecta_gateway.webhooks.tasks import process_webhook_event
from tests.webhooks.support import (
    INVOICE_ID,
    RECEIVER,
    close_context,
    hook_client,
    job_context,
    post_event,
    seed_invoice,
    seed_order,
)

Ctx = Any  # a worker context (see tests.webhooks.support.job_context)


@pytest.fixture
async def live_ctx(
    committed_sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, redis: ArqRedis
) -> AsyncIterator[Ctx]:
    context = job_context(committed_sessionmaker, settings)
    yield context
    await close_context(context)


async def _counts(maker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with maker() as session:
        return {
            model.__tablename__: int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in (Invoice, Payment, DebtCollection, WebhookEvent)
        }


async def _post_concurrently(app: FastAPI, body: dict[str, Any] | bytes, n: int = 10) -> list[int]:
    """Deliver one body from `n` clients at once (bytes are sent as they are)."""
    clients = [hook_client(app) for _ in range(n)]

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        if isinstance(body, bytes):
            headers = {"content-type": "application/json"}
            return await client.post(RECEIVER, content=body, headers=headers)
        return await post_event(client, body)

    try:
        responses = await asyncio.gather(*(send(c) for c in clients))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    assert all(r.status_code == 200 for r in responses)
    return [int(r.json()["event_id"]) for r in responses]


async def _seed(maker: async_sessionmaker[AsyncSession], event_type: str) -> None:
    async with maker() as session:
        if event_type in ("InvoiceActionAttested", "InvoiceActionStateChanged"):
            await seed_order(session, actionpublicid="unrelated-order")
        await seed_invoice(session)
        await seed_invoice(session, id=INVOICE_ID + 2, actionpublicid=IDS["other_invoice"])
        if event_type not in ("InvoiceActionAttested",):
            await seed_invoice(session, id=INVOICE_ID + 1, actionpublicid=IDS["credit_invoice"])
        await session.commit()


@pytest.mark.parametrize(("event_type", "variant"), list_fixtures())
async def test_ten_concurrent_deliveries_write_once(
    committed_app: FastAPI,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    live_ctx: Ctx,
    event_type: str,
    variant: str | None,
) -> None:
    await _seed(committed_sessionmaker, event_type)
    # Billecta's retries repeat the same bytes: the fixture file as it is.
    raw = fixture_bytes(event_type, variant=variant)
    ids = await _post_concurrently(committed_app, raw)
    assert len(set(ids)) == 1
    statuses = await asyncio.gather(*(process_webhook_event(live_ctx, ids[0]) for _ in range(10)))
    assert "processed" in statuses
    after = await _counts(committed_sessionmaker)

    async with hook_client(committed_app) as client:
        again = await client.post(
            RECEIVER, content=raw, headers={"content-type": "application/json"}
        )
        assert again.json()["status"] == "duplicate"
    assert await _counts(committed_sessionmaker) == after
    assert after["webhook_event"] == 1
    async with committed_sessionmaker() as session:
        event = await session.get(WebhookEvent, ids[0])
        assert event is not None
        assert (event.status, event.attempts) == ("processed", 1)


async def test_distinct_events_about_one_new_invoice_create_it_once(
    committed_app: FastAPI,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    live_ctx: Ctx,
) -> None:
    async with committed_sessionmaker() as session:
        await seed_order(session)
        await session.commit()
    bodies = [load_fixture("InvoiceActionAttested"), load_fixture("InvoiceActionStateChanged")]
    async with hook_client(committed_app) as client:
        ids = [int((await post_event(client, b)).json()["event_id"]) for b in bodies]
    await asyncio.gather(*(process_webhook_event(live_ctx, i) for i in ids))
    async with committed_sessionmaker() as session:
        invoices = (await session.scalars(select(Invoice))).all()
        statuses = set(
            await session.scalars(select(WebhookEvent.status).where(WebhookEvent.id.in_(ids)))
        )
    assert len(invoices) == 1
    assert invoices[0].actionpublicid == IDS["invoice"]
    assert statuses == {"processed"}


async def test_debit_and_credit_side_of_one_credit_processed_concurrently_write_two_rows(
    committed_app: FastAPI,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    live_ctx: Ctx,
) -> None:
    async with committed_sessionmaker() as session:
        await seed_invoice(session)
        await seed_invoice(session, id=INVOICE_ID + 1, actionpublicid=IDS["credit_invoice"])
        await session.commit()
    debit = load_fixture("AmountCreditedOnInvoice")
    credit = load_fixture("AmountCreditedOnInvoice", variant="credit_invoice")
    debit_ids, credit_ids = await asyncio.gather(
        _post_concurrently(committed_app, debit), _post_concurrently(committed_app, credit)
    )
    await asyncio.gather(*(process_webhook_event(live_ctx, i) for i in [*debit_ids, *credit_ids]))
    async with committed_sessionmaker() as session:
        rows = (
            await session.execute(
                select(Payment.actionpublicid, Payment.invoice, Payment.paymenttype).where(
                    Payment.paymentreferenceid == IDS["credit_reference"]
                )
            )
        ).all()
    assert sorted(rows) == [
        (IDS["invoice"], INVOICE_ID, "credit"),
        (IDS["credit_invoice"], INVOICE_ID + 1, "credit"),
    ]


async def test_one_event_posted_from_many_clients_is_processed_once(
    committed_app: FastAPI,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    live_ctx: Ctx,
) -> None:
    async with committed_sessionmaker() as session:
        await seed_invoice(session)
        await session.commit()
    body = load_fixture("InvoicePaymentReceived")
    ids = await _post_concurrently(committed_app, body, n=10)
    await asyncio.gather(*(process_webhook_event(live_ctx, i) for i in ids))
    async with committed_sessionmaker() as session:
        payments = (await session.scalars(select(Payment))).all()
    assert len(payments) == 1
    assert payments[0].paymentreferenceid == IDS["payment_reference"]
