"""Helpers for the Lime-in tests: signed deliveries, the fixtures, processing a stored event."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.connect import LimeConnector
from billecta_gateway.limecrm.processing import LimeOutcome, process_lime_event
from billecta_gateway.limecrm.signature import sign_v1, sign_v2
from billecta_gateway.middleware import PREFIX
from billecta_gateway.models import LimeWebhookEvent
from billecta_gateway.webhooks.service import utcnow

RECEIVER = f"{PREFIX}/lime-webhook-receiver"
SECRET = "lime-webhook-secret-current"
OLD_SECRET = "lime-webhook-secret-previous"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


async def post_v1(
    client: httpx.AsyncClient, body: dict[str, Any] | bytes, *, secret: str = SECRET
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else encode(body)
    return await client.post(
        RECEIVER,
        content=raw,
        headers={"content-type": "application/json", "x-lime-signature": sign_v1(secret, raw)},
    )


async def post_v2(
    client: httpx.AsyncClient,
    body: dict[str, Any],
    *,
    delivery_id: str,
    secret: str = SECRET,
    at: float | None = None,
) -> httpx.Response:
    raw = encode(body)
    stamp = str(int(time.time() if at is None else at))
    return await client.post(
        RECEIVER,
        content=raw,
        headers={
            "content-type": "application/json",
            "x-lime-signature": sign_v2(secret, delivery_id, stamp, raw),
            "x-lime-delivery-id": delivery_id,
            "x-lime-delivery-timestamp": stamp,
        },
    )


async def stored_events(session: AsyncSession) -> list[LimeWebhookEvent]:
    return list(
        (
            await session.scalars(
                select(LimeWebhookEvent)
                .order_by(LimeWebhookEvent.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def process(
    session: AsyncSession,
    event_id: int,
    settings: Settings,
    *,
    lime: LimeConnector | None = None,
    now: Any = None,
) -> LimeOutcome:
    """Process one stored event in the test's transaction, as the worker job does."""
    outcome = await process_lime_event(
        session,
        event_id=event_id,
        now=now or utcnow(),
        settings=settings,
        schema=LimeSchema.load(settings.lime_schema_file),
        lime=lime,
    )
    await session.flush()
    return outcome
