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
    other["Data"]["DebtorPublicId"] = "another-debtor"
    kept = (await post_event(hook, other)).json()["event_id"]
    # An event stored under the earlier names (Content) is scrubbed too.
    fixture = load_fixture("DebtorUpdated")
    legacy = {
        "EventType": "DebtorUpdated",
        "Created": "2026-03-01T10:00:00",
        "Content": fixture["Data"],
    }
    legacy_id = (await post_event(hook, legacy)).json()["event_id"]
    # A bare-string Data names no debtor's personal data and is left as it is.
    bare = (await post_event(hook, load_fixture("InvoiceActionDeleted"))).json()["event_id"]

    assert await scrub_debtor_payloads(session, debtor_public_ids=[IDS["debtor"]]) == 4
    await session.commit()

    for event_type, event_id in ids.items():
        payload = (await event_row(session, event_id)).payload
        content = payload["Data"]
        assert content["DebtorPublicId"] == IDS["debtor"], event_type
        assert content["Anonymized"] is True
        assert "Anna" not in str(payload)
        assert payload["Event"] == event_type
    attested = (await event_row(session, ids["InvoiceActionAttested"])).payload
    assert attested["Data"]["ActionPublicId"] == IDS["invoice"]
    assert (await event_row(session, kept)).payload == other
    scrubbed_legacy = (await event_row(session, legacy_id)).payload["Content"]
    assert scrubbed_legacy == {"DebtorPublicId": IDS["debtor"], "Anonymized": True}
    assert (await event_row(session, bare)).payload == load_fixture("InvoiceActionDeleted")
    assert await scrub_debtor_payloads(session, debtor_public_ids=[]) == 0
