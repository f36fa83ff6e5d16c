"""The nightly `set_invoices_as_expired`, called against seeded invoices."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import (
    CronRun,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    Invoice,
)
from billecta_gateway.scheduled.expire import set_invoices_as_expired
from billecta_gateway.scheduled.runs import MONITOR_TITLE
from tests.webhooks.support import Clock, seed_creditor

# 00:30 UTC on 22 November is 01:30 in Stockholm: "today" there is the 22nd.
TODAY = date(2026, 11, 22)


async def _invoice(
    session: AsyncSession, id: int, status: str, expires: date, **fields: Any
) -> None:
    values: dict[str, Any] = {
        "creditor": 3,
        "invoicestatus": status,
        "invoice_expires": expires,
        "invoice_amount": Decimal("100.00"),
        "invoice_balance": Decimal("100.00"),
        **fields,
    }
    session.add(Invoice(id=id, actionpublicid=f"act-{id}", **values))


async def _status(session: AsyncSession, id: int) -> str | None:
    return await session.scalar(
        select(Invoice.invoicestatus)
        .where(Invoice.id == id)
        .execution_options(populate_existing=True)
    )


async def test_overdue_unpaid_invoices_become_expired_and_others_stay(
    ctx: Any, session: AsyncSession, clock: Clock
) -> None:
    await seed_creditor(session)
    yesterday = date(2026, 11, 21)
    await _invoice(session, 1, "sent", yesterday)
    await _invoice(session, 2, "subpaid", yesterday, paid_amount=Decimal("40.00"))
    await _invoice(session, 3, "sent", TODAY)  # due today: not yet
    await _invoice(session, 4, "paid", yesterday, invoice_balance=Decimal("0"))
    await _invoice(session, 5, "sent", yesterday, invoice_balance=Decimal("0"))
    await _invoice(session, 6, "attested", yesterday)
    await _invoice(session, 7, "sent", yesterday, invoice_balance=None, invoice_amount=None)
    await session.commit()

    result = await set_invoices_as_expired(ctx)

    assert result["expired"] == 3
    assert result["failed"] == 0
    statuses = {i: await _status(session, i) for i in range(1, 8)}
    assert statuses == {
        1: "expired",
        2: "expired",
        3: "sent",
        4: "paid",
        5: "sent",
        6: "attested",
        7: "expired",
    }
    batch = await session.get(
        IntegrationMonitorBatch, result["integration_monitor_batch_id"], populate_existing=True
    )
    assert batch is not None
    assert (batch.title, batch.status, batch.total, batch.done, batch.failed) == (
        "Set invoices as expired",
        "ok",
        3,
        3,
        0,
    )
    logs = (
        await session.scalars(
            select(IntegrationMonitorLog.object_id)
            .where(IntegrationMonitorLog.batch_id == batch.id)
            .order_by(IntegrationMonitorLog.object_id)
        )
    ).all()
    assert list(logs) == [1, 2, 7]
    run = await session.get(CronRun, "set_invoices_as_expired", populate_existing=True)
    assert run is not None
    assert run.last_success_at == clock.now
    assert run.last_error is None


async def test_expiry_runs_in_chunks_of_100_and_a_second_run_changes_nothing(
    ctx: Any, session: AsyncSession, clock: Clock
) -> None:
    await seed_creditor(session)
    for n in range(1, 251):
        await _invoice(session, n, "sent", date(2026, 10, 1))
    await session.commit()

    first = await set_invoices_as_expired(ctx)
    assert (first["expired"], first["failed"]) == (250, 0)
    expired = await session.scalar(
        select(func.count()).select_from(Invoice).where(Invoice.invoicestatus == "expired")
    )
    assert expired == 250
    batch = await session.get(
        IntegrationMonitorBatch, first["integration_monitor_batch_id"], populate_existing=True
    )
    assert batch is not None and (batch.total, batch.done, batch.status) == (250, 250, "ok")

    clock.now = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    second = await set_invoices_as_expired(ctx)
    assert second == {
        "expired": 0,
        "failed": 0,
        "unchanged": 0,
        "integration_monitor_batch_id": None,
    }
    note = await session.scalar(
        select(IntegrationMonitorLog.message)
        .join(IntegrationMonitorBatch)
        .where(IntegrationMonitorBatch.title == MONITOR_TITLE)
    )
    assert note == "set_invoices_as_expired: no invoice was due to expire on 2026-11-23"


async def test_today_is_taken_in_the_business_time_zone(
    ctx: Any, session: AsyncSession, clock: Clock
) -> None:
    await seed_creditor(session)
    await _invoice(session, 1, "sent", date(2026, 11, 21))
    await session.commit()
    # In November Stockholm is UTC+1: 22:30 UTC is still the 21st there, 23:30 UTC the 22nd.
    clock.now = datetime(2026, 11, 21, 22, 30, tzinfo=UTC)
    assert (await set_invoices_as_expired(ctx))["expired"] == 0
    clock.now = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    assert (await set_invoices_as_expired(ctx))["expired"] == 1
