"""Inbox functions not reached through HTTP: scrubbing anonymized debtors' payloads."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.webhooks.fixtures import IDS, load_fixture
from billecta_gateway.webhooks.inbox import scrub_debtor_payloads
from tests.webhooks.support import event_row, post_event


async def test_anonymizing_a_debtor_scrubs_its_inbox_payloads(
    hook: httpx.AsyncClient, session: AsyncSession
) -> None:
    ids = {}
    for event_type in ("DebtorUpdated", "UnmatchedPayment", "InvoiceActionAttested"):
        answer = (await post_event(hook, load_fixture(event_type))).json()
        ids[event_type] = answer["event_id"]
    other = load_fixture("UnmatchedPayment")
    other["EventId"] = "someone-else"
    other["Content"]["DebtorPublicId"] = "another-debtor"
    kept = (await post_event(hook, other)).json()["event_id"]

    assert await scrub_debtor_payloads(session, debtor_public_ids=[IDS["debtor"]]) == 3
    await session.commit()

    for event_type, event_id in ids.items():
        payload = (await event_row(session, event_id)).payload
        content = payload["Content"]
        assert content["DebtorPublicId"] == IDS["debtor"], event_type
        assert content["Anonymized"] is True
        assert "Anna" not in str(payload)
        assert payload["EventType"] == event_type
    attested = (await event_row(session, ids["InvoiceActionAttested"])).payload
    assert attested["Content"]["ActionPublicId"] == IDS["invoice"]
    assert (await event_row(session, kept)).payload == other
    assert await scrub_debtor_payloads(session, debtor_public_ids=[]) == 0
