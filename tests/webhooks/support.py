"""Helpers for the webhook tests: mounting, seeding the mirror, posting fixtures, processing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.billecta import BillectaClient, Priority
from billecta_gateway.config import Settings
from billecta_gateway.main import build_billecta_client
from billecta_gateway.middleware import PREFIX
from billecta_gateway.models import (
    LIME_MODELS,
    Creditor,
    CreditorDebtor,
    Debtor,
    Invoice,
    Order,
    WebhookEvent,
)
from billecta_gateway.queue import close_queue, create_queue
from billecta_gateway.webhooks.fixtures import IDS, fixture_bytes
from billecta_gateway.webhooks.tasks import process_webhook_event
from tests.conftest import WEBHOOK_KEY

RECEIVER = f"{PREFIX}/billecta-webhook-receiver"
EVENTS = f"{PREFIX}/webhook-events"
CREDITOR_ID = 3
DEBTOR_ID = 1001
CREDITORDEBTOR_ID = 2001
ORDER_ID = 4001
INVOICE_ID = 5001


def hook_client(app: FastAPI, key: str = WEBHOOK_KEY) -> httpx.AsyncClient:
    """A client sending Billecta's webhook header."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway.test",
        headers={"x-api-key": key},
    )


async def post_event(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(RECEIVER, json=body)


async def post_fixture(
    client: httpx.AsyncClient, event: str, *, variant: str | None = None
) -> httpx.Response:
    """Post a fixture file's bytes as they are, as Billecta would."""
    return await client.post(
        RECEIVER,
        content=fixture_bytes(event, variant=variant),
        headers={"content-type": "application/json; charset=utf-8"},
    )


def due_in(body: dict[str, Any], days: int) -> dict[str, Any]:
    """A copy of an invoice event whose due date is `days` from today (so it is not expired)."""
    body = copy.deepcopy(body)
    due = (datetime.now(UTC) + timedelta(days=days)).date().isoformat() + "T00:00:00+01:00"
    body["Data"]["DueDate"] = due
    for document in body["Data"].get("Invoices") or []:
        document["DueDate"] = due
    return body


def with_event_date(body: dict[str, Any], event_date: str) -> dict[str, Any]:
    """A copy of a delivery with another `EventDate` (and so another dedupe key)."""
    body = copy.deepcopy(body)
    body["EventDate"] = event_date
    return body


# Seeding the mirror (what Lime pushed)


async def seed_creditor(
    session: AsyncSession, *, creditorpublicid: str | None = IDS["creditor"]
) -> Creditor:
    creditor = await session.get(Creditor, CREDITOR_ID)
    if creditor is None:
        creditor = Creditor(
            id=CREDITOR_ID, name="Fastighets AB Exempel", creditorpublicid=creditorpublicid
        )
        session.add(creditor)
        await session.flush()
    return creditor


async def seed_debtor(session: AsyncSession, **fields: Any) -> tuple[Debtor, CreditorDebtor]:
    await seed_creditor(session)
    debtor = await session.get(Debtor, DEBTOR_ID)
    if debtor is None:
        values = {"name": "Anna Svensson", "email": "anna.svensson@example.com", **fields}
        debtor = Debtor(id=DEBTOR_ID, debtortype="private", **values)
        session.add(debtor)
        await session.flush()
    link = await session.get(CreditorDebtor, CREDITORDEBTOR_ID)
    if link is None:
        link = CreditorDebtor(
            id=CREDITORDEBTOR_ID,
            creditor=CREDITOR_ID,
            debtor=DEBTOR_ID,
            debtorpublicid=IDS["debtor"],
        )
        session.add(link)
        await session.flush()
    return debtor, link


async def seed_order(session: AsyncSession, *, actionpublicid: str = IDS["invoice"]) -> Order:
    await seed_debtor(session)
    order = Order(
        id=ORDER_ID,
        creditor=CREDITOR_ID,
        debtor=DEBTOR_ID,
        actionpublicid=actionpublicid,
        orderstatus="attested",
    )
    session.add(order)
    await session.flush()
    return order


async def seed_invoice(
    session: AsyncSession,
    *,
    id: int = INVOICE_ID,
    actionpublicid: str = IDS["invoice"],
    with_order: bool = False,
    **fields: Any,
) -> Invoice:
    await seed_debtor(session)
    order_id = (await seed_order(session, actionpublicid=actionpublicid)).id if with_order else None
    values: dict[str, Any] = {
        "creditor": CREDITOR_ID,
        "debtor": DEBTOR_ID,
        "creditordebtor": CREDITORDEBTOR_ID,
        "invoicestatus": "sent",
        "invoice_amount": 1250,
        "invoice_balance": 1250,
        "currency": "SEK",
        "ocr": IDS["invoice_ocr"] if actionpublicid == IDS["invoice"] else None,
        **fields,
    }
    invoice = Invoice(id=id, actionpublicid=actionpublicid, order=order_id, **values)
    session.add(invoice)
    await session.flush()
    return invoice


# Processing


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def deliver(hook: httpx.AsyncClient, ctx: Any, body: dict[str, Any]) -> int:
    """Post a delivery and run the processing job; the event's inbox id."""
    response = await post_event(hook, body)
    assert response.status_code == 200, response.text
    event_id = int(response.json()["event_id"])
    await process_stored(ctx)
    return event_id


def job_context(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    clock: Callable[[], datetime] | None = None,
    billecta: BillectaClient | None = None,
) -> Any:
    """A worker context for calling jobs directly (close it with `close_context`)."""
    ctx: Any = {
        "sessionmaker": sessionmaker,
        "settings": settings,
        "redis": create_queue(settings),
        "job_try": 1,
        "job_id": "test",
        "billecta": billecta or build_billecta_client(settings, priority=Priority.BULK),
    }
    if clock is not None:
        ctx["clock"] = clock
    return ctx


async def close_context(ctx: Any) -> None:
    await ctx["billecta"].aclose()
    await close_queue(ctx["redis"])


async def process_stored(ctx: Any) -> dict[int, str]:
    """Run the processing job for every event that is received or due, oldest first."""
    async with ctx["sessionmaker"]() as session:
        ids = list(
            (
                await session.scalars(
                    select(WebhookEvent.id)
                    .where(WebhookEvent.status.in_(("received", "pending")))
                    .order_by(WebhookEvent.id)
                )
            ).all()
        )
    return {event_id: await process_webhook_event(ctx, event_id) for event_id in ids}


async def mirror_snapshot(session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    """Every row of every mirrored limetype (with change numbers), to prove nothing changed."""
    snapshot: dict[str, list[dict[str, Any]]] = {}
    for model in LIME_MODELS:
        rows = (
            (await session.execute(select(model.__table__).order_by(model.__table__.c.id)))
            .mappings()
            .all()
        )
        snapshot[model.__limetype__] = [dict(r) for r in rows]
    return snapshot


async def event_row(session: AsyncSession, event_id: int) -> WebhookEvent:
    event = await session.get(WebhookEvent, event_id, populate_existing=True)
    assert event is not None
    return event


def day(value: str) -> date:
    return date.fromisoformat(value)
