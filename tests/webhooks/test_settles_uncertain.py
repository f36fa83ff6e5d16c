"""A webhook about a payment settles a money operation on it whose outcome was unknown."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Payment, UncertainOperation
from billecta_gateway.webhooks.fixtures import load_fixture
from tests.webhooks.support import deliver, seed_creditor, with_event_date


async def test_an_unhandled_payment_event_settles_an_uncertain_match(
    hook: httpx.AsyncClient, ctx: Any, session: AsyncSession
) -> None:
    await seed_creditor(session)
    unmatched = load_fixture("UnmatchedPayment")
    await deliver(hook, ctx, unmatched)
    payment = (await session.scalars(select(Payment))).one()
    session.add(
        UncertainOperation(
            limetype="payment",
            object_id=payment.id,
            operation="match_payment",
            request_hash="h" * 64,
            reference="BG-00000000000000AA",
        )
    )
    await session.flush()

    await deliver(hook, ctx, with_event_date(unmatched, "2026-03-13T08:00:00"))

    marker = (
        await session.scalars(select(UncertainOperation).execution_options(populate_existing=True))
    ).one()
    assert marker.settled_at is not None
    assert marker.settled_by == "webhook"
