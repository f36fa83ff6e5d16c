"""The real events of Billecta's catalogue that change the mirror, each delivered as its fixture
file's bytes: deletions, delivery failures, drafts, and sparse debt collections
(`InvoiceActionPaid` is tested beside the paid state change in test_events)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import CreditorDebtor, DebtCollection, Debtor, Invoice, Order
from billecta_gateway.webhooks.fixtures import IDS, load_fixture
from tests.webhooks.support import (
    CREDITORDEBTOR_ID,
    DEBTOR_ID,
    INVOICE_ID,
    ORDER_ID,
    deliver,
    due_in,
    event_row,
    mirror_snapshot,
    post_fixture,
    process_stored,
    seed_debtor,
    seed_invoice,
    seed_order,
    with_event_date,
)

Ctx = Any
DRAFT_ACTION = "7545769150"  # the action of InvoiceActionDeleted.json and InvoiceActionCreated.json


async def fresh(session: AsyncSession, model: type[Any], id: int) -> Any:
    row = await session.get(model, id, populate_existing=True)
    assert row is not None
    return row


async def deliver_fixture(
    hook: httpx.AsyncClient, ctx: Ctx, event: str, *, variant: str | None = None
) -> int:
    """Post a fixture's bytes as they are and process what was stored; the inbox id."""
    response = await post_fixture(hook, event, variant=variant)
    assert response.status_code == 200, response.text
    event_id = int(response.json()["event_id"])
    await process_stored(ctx)
    return event_id


@pytest.mark.parametrize("status", ["created", "upserted", "errorupsert", "errorattest"])
async def test_deleted_draft_returns_its_order_to_created(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession, status: str
) -> None:
    order = await seed_order(session, actionpublicid=DRAFT_ACTION)
    order.orderstatus = status
    await session.flush()

    event_id = await deliver_fixture(hook, ctx, "InvoiceActionDeleted")

    order = await fresh(session, Order, ORDER_ID)
    assert order.actionpublicid is None
    assert order.orderstatus == "created"
    assert order.billecta_error_message == (
        f"Deleted in Billecta on 2026-02-27 (action {DRAFT_ACTION}); "
        "the next upsert creates it again"
    )
    event = await event_row(session, event_id)
    assert event.status == "processed"


@pytest.mark.parametrize("status", ["attested", "completed", "credited", "processing"])
async def test_deleted_action_of_an_attested_order_is_only_logged(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession, status: str
) -> None:
    order = await seed_order(session, actionpublicid=DRAFT_ACTION)
    order.orderstatus = status
    await session.flush()
    before = await mirror_snapshot(session)

    event_id = await deliver_fixture(hook, ctx, "InvoiceActionDeleted")

    assert await mirror_snapshot(session) == before
    assert (await event_row(session, event_id)).status == "processed"


async def test_deleted_unknown_action_is_stored_and_changes_nothing(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_order(session)  # another action
    before = await mirror_snapshot(session)
    event_id = await deliver_fixture(hook, ctx, "InvoiceActionDeleted")
    assert await mirror_snapshot(session) == before
    event = await event_row(session, event_id)
    assert event.status == "processed"
    assert event.payload["Data"] == DRAFT_ACTION


@pytest.mark.parametrize("variant", [None, "bare_id"])
async def test_deleted_debtor_loses_its_billecta_id_and_says_so(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession, variant: str | None
) -> None:
    await seed_debtor(session)

    await deliver_fixture(hook, ctx, "DebtorDeleted", variant=variant)

    link = await fresh(session, CreditorDebtor, CREDITORDEBTOR_ID)
    debtor = await fresh(session, Debtor, DEBTOR_ID)
    note = (
        f"Deleted in Billecta on 2026-06-30 (debtor {IDS['debtor']}); "
        "the next sync creates it again"
    )
    assert link.debtorpublicid is None
    assert link.billecta_error_message == note
    assert debtor.billecta_error_message == note
    # Nothing is re-created: no job but the event's own processing is queued (and Billecta,
    # not mocked here, is not called at all).
    queued = {job.function for job in await ctx["redis"].queued_jobs()}
    assert queued <= {"process_webhook_event"}


async def test_undelivered_invoice_is_noted_until_a_delivered_event(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session, deliverymethod="email")

    await deliver_fixture(hook, ctx, "UndeliveredInvoice")
    expected = "Not delivered by Email: Mailbox unavailable (550 5.1.1 user unknown)"
    assert (await fresh(session, Invoice, INVOICE_ID)).billecta_error_message == expected

    # A state change is not a delivery: the note stays.
    later = with_event_date(load_fixture("InvoiceActionStateChanged"), "2026-03-01T10:07:40")
    await deliver(hook, ctx, due_in(later, 20))
    assert (await fresh(session, Invoice, INVOICE_ID)).billecta_error_message == expected

    await deliver(hook, ctx, due_in(load_fixture("InvoiceActionReceived"), 20))
    assert (await fresh(session, Invoice, INVOICE_ID)).billecta_error_message is None


async def test_delivered_status_clears_the_undelivered_note(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session, deliverymethod="sms")
    await deliver_fixture(hook, ctx, "UndeliveredInvoice")
    assert (await fresh(session, Invoice, INVOICE_ID)).billecta_error_message == (
        "Not delivered by SMS: Mailbox unavailable (550 5.1.1 user unknown)"
    )
    delivered = load_fixture("UndeliveredInvoice")
    delivered["EventDate"] = "2026-03-01T11:00:00"
    delivered["Data"] |= {"Delivered": True, "Reason": None}
    await deliver(hook, ctx, delivered)
    assert (await fresh(session, Invoice, INVOICE_ID)).billecta_error_message is None


async def test_undelivered_invoice_waits_for_its_unknown_invoice(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_debtor(session)
    event_id = await deliver_fixture(hook, ctx, "UndeliveredInvoice")
    event = await event_row(session, event_id)
    assert event.status == "pending"
    assert event.last_error == f"Invoice {IDS['invoice']} is not known to the gateway yet"


async def test_a_drafts_created_event_creates_no_invoice(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_order(session, actionpublicid=DRAFT_ACTION)
    before = await mirror_snapshot(session)
    event_id = await deliver_fixture(hook, ctx, "InvoiceActionCreated")
    assert await mirror_snapshot(session) == before
    assert (await event_row(session, event_id)).status == "processed"
    found = await session.scalars(select(Invoice).where(Invoice.actionpublicid == DRAFT_ACTION))
    assert found.first() is None


async def test_updated_event_refreshes_an_attested_invoice(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session, invoicestatus="attested", invoice_sent_date=None)
    await deliver(hook, ctx, due_in(load_fixture("InvoiceActionUpdated"), 20))
    invoice = await fresh(session, Invoice, INVOICE_ID)
    assert invoice.invoicestatus == "sent"
    assert invoice.invoice_sent_date == date(2026, 3, 1)
    assert invoice.billecta_stage == "InvoiceSent"


async def test_sparse_debt_collection_event_keeps_the_fields_it_does_not_carry(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session, with_order=True)
    await deliver(hook, ctx, load_fixture("DebtCollectionActionStateChanged"))
    case = (
        await session.scalars(
            select(DebtCollection).where(DebtCollection.actionpublicid == IDS["debt_collection"])
        )
    ).one()
    full = {
        name: getattr(case, name)
        for name in (
            "debt_amount",
            "current_amount",
            "interest_amount",
            "fees_amount",
            "currency",
            "interest_percentage",
            "interest_type",
            "next_event",
            "next_event_date",
            "deliverymethod",
        )
    }
    assert all(value is not None for value in full.values()), full

    sparse = {
        "EventDate": "2026-06-02T09:00:00",
        "CreditorPublicId": IDS["creditor"],
        "Event": "DebtCollectionEventOccurred",
        "Data": {"ActionPublicId": IDS["debt_collection"], "State": {"Stage": "SentToBailiff"}},
        "AdditionalData": None,
    }
    await deliver(hook, ctx, sparse)

    case = await fresh(session, DebtCollection, case.id)
    assert case.status == "SentToBailiff"
    assert {name: getattr(case, name) for name in full} == full


async def test_an_unexpected_handler_error_stores_its_type_not_its_text(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billecta_gateway.webhooks.payloads import DebtorPayload
    from billecta_gateway.webhooks.registry import Registration, registry

    async def boom(_ctx: Any, _payload: DebtorPayload) -> None:
        raise RuntimeError("value (anna.svensson@example.com, 19800101-1234) violates a check")

    monkeypatch.setitem(
        registry._registrations, "DebtorUpdated", Registration("DebtorUpdated", DebtorPayload, boom)
    )
    await seed_debtor(session)
    event_id = await deliver_fixture(hook, ctx, "DebtorUpdated")
    event = await event_row(session, event_id)
    assert event.status == "pending"
    assert event.last_error == (
        "Unexpected error (RuntimeError) in the handler; see the worker's log"
    )
