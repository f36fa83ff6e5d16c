"""A second delivery of any fixture, and a replay of it, change nothing in the mirror."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.webhooks.fixtures import IDS, list_fixtures, load_fixture
from tests.webhooks.support import (
    EVENTS,
    INVOICE_ID,
    deliver,
    event_row,
    mirror_snapshot,
    post_event,
    process_stored,
    seed_invoice,
    seed_order,
)

Ctx = Any  # a worker context (see tests.webhooks.support.job_context)


# Seeds each fixture needs before it can be applied.
_SEEDS: dict[str, str] = {
    "AmountCreditedOnInvoice": "two_invoices",
    "OverpaymentMatchedToInvoice": "two_invoices",
    "InvoiceActionAttested": "order",
    "InvoiceActionStateChanged": "order",
}


@pytest.mark.parametrize(("event_type", "variant"), list_fixtures())
async def test_a_second_delivery_and_a_replay_change_nothing(
    hook: httpx.AsyncClient,
    client: httpx.AsyncClient,
    ctx: Ctx,
    session: AsyncSession,
    event_type: str,
    variant: str | None,
) -> None:
    seed = _SEEDS.get(event_type, "invoice") if variant != "credit_invoice" else "two_invoices"
    if seed == "order":
        await seed_order(session)
    else:
        await seed_invoice(session)
    if seed == "two_invoices":
        if event_type != "InvoiceActionAttested":
            await seed_invoice(session, id=INVOICE_ID + 1, actionpublicid=IDS["credit_invoice"])
        await seed_invoice(session, id=INVOICE_ID + 2, actionpublicid=IDS["other_invoice"])
    body = load_fixture(event_type, variant=variant)
    event_id = await deliver(hook, ctx, body)
    assert (await event_row(session, event_id)).status == "processed"
    first = await mirror_snapshot(session)

    again = await post_event(hook, body)
    assert again.json() == {"status": "duplicate", "event_id": event_id}
    await process_stored(ctx)
    assert await mirror_snapshot(session) == first

    replay = await client.post(f"{EVENTS}/{event_id}/replay")
    assert replay.status_code == 200
    await process_stored(ctx)
    assert (await event_row(session, event_id)).status == "processed"
    assert await mirror_snapshot(session) == first
