"""Reconciliation re-reads what invoice state does not show: debtors (data, Autogiro mandate,
deletion) and debt collections of what it touched, and every one of them once a week."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import respx
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.models import CreditorDebtor, DebtCollection, Debtor
from billecta_gateway.webhooks.fixtures import IDS, load_content
from billecta_gateway.webhooks.reconcile import ReconcileSummary, reconcile_creditor
from tests.conftest import BILLECTA_URL, make_settings
from tests.webhooks.support import (
    CREDITOR_ID,
    CREDITORDEBTOR_ID,
    DEBTOR_ID,
    close_context,
    job_context,
    seed_debtor,
    seed_invoice,
)

Ctx = Any
CPID = IDS["creditor"]
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
async def live_ctx(
    committed_sessionmaker: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> AsyncIterator[Ctx]:
    context = job_context(committed_sessionmaker, make_settings())
    yield context
    await close_context(context)


def billecta(
    *,
    closed: list[dict[str, Any]] | None = None,
    debtor: dict[str, Any] | None = None,
    debtor_status: int = 200,
    collection: dict[str, Any] | None = None,
) -> respx.MockRouter:
    mock = respx.mock(base_url=BILLECTA_URL, assert_all_called=True)
    mock.get(f"/v1/invoice/open/{CPID}").respond(200, json=[])
    mock.get(f"/v1/invoice/closed/{CPID}").respond(200, json=closed or [])
    mock.put("/v1/payments/incomingpayments").respond(200, json=[])
    mock.get(f"/v1/payments/unhandledpayments/{CPID}").respond(200, json=[])
    if debtor is not None or debtor_status != 200:
        mock.get(f"/v1/debtors/debtor/{IDS['debtor']}").respond(
            debtor_status, json=debtor if debtor is not None else {"Message": "not found"}
        )
    if collection is not None:
        mock.get(f"/v1/debtcollection/action/{IDS['debt_collection']}").respond(
            200, json=collection
        )
    return mock


async def run(ctx: Ctx, maker: async_sessionmaker[AsyncSession], now: datetime) -> ReconcileSummary:
    summary, _ = await reconcile_creditor(
        maker,
        billecta=ctx["billecta"],
        settings=ctx["settings"],
        redis=None,
        creditor_id=CREDITOR_ID,
        since=None,
        now=now,
    )
    return summary


def changed_debtor() -> dict[str, Any]:
    view: dict[str, Any] = load_content("DebtorUpdated")
    view["Email"] = "anna.ny@example.com"
    return view


async def test_the_weekly_sweep_applies_a_debtor_changed_only_in_billecta(
    committed_sessionmaker: async_sessionmaker[AsyncSession], live_ctx: Ctx
) -> None:
    async with committed_sessionmaker() as session:
        await seed_debtor(session)
        await session.commit()

    with billecta(debtor=changed_debtor()):
        first = await run(live_ctx, committed_sessionmaker, NOW)
    assert first.debtors == 1
    async with committed_sessionmaker() as session:
        debtor = await session.get(Debtor, DEBTOR_ID)
        assert debtor is not None and debtor.email == "anna.ny@example.com"

    # Within the week, a debtor nothing touched is not read again (no debtor route is mocked:
    # a call would fail the run).
    with billecta():
        quiet = await run(live_ctx, committed_sessionmaker, NOW + timedelta(days=1))
    assert quiet.debtors == 0

    # A week on, every debtor is read again.
    later = changed_debtor() | {"Email": "anna.senare@example.com"}
    with billecta(debtor=later):
        swept = await run(live_ctx, committed_sessionmaker, NOW + timedelta(days=7))
    assert swept.debtors == 1
    async with committed_sessionmaker() as session:
        debtor = await session.get(Debtor, DEBTOR_ID, populate_existing=True)
        assert debtor is not None and debtor.email == "anna.senare@example.com"


async def test_a_debtor_billecta_no_longer_has_is_applied_as_deleted(
    committed_sessionmaker: async_sessionmaker[AsyncSession], live_ctx: Ctx
) -> None:
    async with committed_sessionmaker() as session:
        await seed_debtor(session)
        await session.commit()
    with billecta(debtor_status=404):
        summary = await run(live_ctx, committed_sessionmaker, NOW)
    assert summary.debtors == 1 and summary.outcomes == {"processed": 1}
    async with committed_sessionmaker() as session:
        link = await session.get(CreditorDebtor, CREDITORDEBTOR_ID)
        assert link is not None and link.debtorpublicid is None
        assert str(link.billecta_error_message).startswith("Deleted in Billecta on ")


async def test_the_debt_collection_of_an_invoice_closed_in_the_window_is_read_again(
    committed_sessionmaker: async_sessionmaker[AsyncSession], live_ctx: Ctx
) -> None:
    async with committed_sessionmaker() as session:
        # Mirrored as Billecta lists it: the invoice itself is not read again.
        await seed_invoice(session, billecta_stage="SentToDebtCollection", invoice_balance=1250)
        await session.commit()
    # The sweep ran this week already: only what the window touched is read.
    with billecta(debtor=load_content("DebtorUpdated")):
        await run(live_ctx, committed_sessionmaker, NOW - timedelta(days=1))
    closed = {
        "ActionPublicId": IDS["invoice"],
        "CreditorPublicId": CPID,
        "DebtorPublicId": IDS["debtor"],
        "DebtCollectionActionPublicId": IDS["debt_collection"],
        "Stage": "SentToDebtCollection",
        "CurrentAmount": {"CurrencyCode": "SEK", "Value": 125000},
    }
    case = load_content("DebtCollectionActionStateChanged")
    with billecta(closed=[closed], debtor=load_content("DebtorUpdated"), collection=case):
        summary = await run(live_ctx, committed_sessionmaker, NOW)
    assert (summary.debtors, summary.debt_collections) == (1, 1)
    async with committed_sessionmaker() as session:
        row = (
            await session.scalars(
                select(DebtCollection).where(
                    DebtCollection.actionpublicid == IDS["debt_collection"]
                )
            )
        ).one()
        assert row.status == case["State"]["Stage"]
        assert row.current_amount == Decimal(case["CurrentAmount"]["Value"]) / 100
