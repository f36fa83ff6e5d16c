"""The nightly `set_invoices_as_expired` (the spec's ExpiredInvoicesHandler).

Invoices `sent` or `subpaid` whose `invoice_expires` has passed in the business time zone and
that still owe money become `expired`, by the invoice-state owner's rule
(`invoices.state.open_status`), 100 per transaction. Each run is an integration-monitor batch
with one log per expired invoice, so its success and failure counters are the batch's.
Idempotent: an expired invoice is not selected again, and the selection is "every overdue
invoice", so a night missed while no worker ran is caught up by the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.db import session_scope
from billecta_gateway.invoices.state import open_status
from billecta_gateway.models import Invoice
from billecta_gateway.monitor import service as monitor
from billecta_gateway.scheduled.runs import clock, log_run, recorded_run, stored_error

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

logger = logging.getLogger("billecta_gateway.scheduled")

CRON_NAME = "set_invoices_as_expired"
BATCH_TITLE = "Set invoices as expired"
CHUNK = 100
EXPIRABLE = ("sent", "subpaid")


@dataclass
class ExpirySummary:
    """Counters of one run: expired, failed, and checked but still not expired."""

    expired: int = 0
    failed: int = 0
    unchanged: int = 0
    batch_id: int | None = None


def _expired(invoice: Invoice, today: date) -> bool:
    """The state owner's rule; an invoice whose balance is unknown expires by its date alone."""
    owed = (
        invoice.invoice_balance if invoice.invoice_balance is not None else invoice.invoice_amount
    )
    if owed is None:
        return invoice.invoice_expires is not None and invoice.invoice_expires < today
    status = open_status(
        balance=owed, paid=invoice.paid_amount, invoice_expires=invoice.invoice_expires, today=today
    )
    return status == "expired"


async def _ensure_batch(session: AsyncSession, batch_id: int | None, today: date) -> int:
    if batch_id is None:
        batch = await monitor.create_batch(
            session,
            title=BATCH_TITLE,
            task=CRON_NAME,
            created_by=None,
            parameters={"today": today.isoformat()},
        )
        batch_id = batch.id
    return batch_id


async def _expire_chunk(
    session: AsyncSession, ids: list[int], *, today: date, batch_id: int | None
) -> tuple[int | None, int, int]:
    """Expire the due invoices among `ids`; answers (batch id, expired, unchanged)."""
    invoices = (
        await session.scalars(
            select(Invoice)
            .where(Invoice.id.in_(ids), Invoice.invoicestatus.in_(EXPIRABLE))
            .order_by(Invoice.id)
            .with_for_update(skip_locked=True)
        )
    ).all()
    due = [inv for inv in invoices if _expired(inv, today)]
    if not due:
        return batch_id, 0, len(ids)
    batch_id = await _ensure_batch(session, batch_id, today)
    logs = await monitor.add_logs(
        session, batch_id=batch_id, limetype="invoice", object_ids=[inv.id for inv in due]
    )
    log_of = {object_id: log_id for log_id, object_id in logs}
    for invoice in due:
        previous = invoice.invoicestatus
        invoice.invoicestatus = "expired"
        await monitor.finish_log(
            session,
            log_id=log_of[invoice.id],
            ok=True,
            message=f"Due {invoice.invoice_expires} and unpaid: {previous} → expired",
        )
    await session.flush()
    return batch_id, len(due), len(ids) - len(due)


async def _record_failure(
    sessionmaker: async_sessionmaker[AsyncSession],
    ids: list[int],
    *,
    today: date,
    summary: ExpirySummary,
    error: Exception,
) -> None:
    reason = stored_error(error)
    async with session_scope(sessionmaker) as session:
        summary.batch_id = await _ensure_batch(session, summary.batch_id, today)
        for invoice_id in ids:
            await monitor.add_log(
                session,
                batch_id=summary.batch_id,
                limetype="invoice",
                object_id=invoice_id,
                status="error",
                message=f"Could not set the invoice as expired: {reason}",
            )
    summary.failed += len(ids)


async def expire_invoices(
    sessionmaker: async_sessionmaker[AsyncSession], *, today: date
) -> ExpirySummary:
    """Set every overdue unpaid invoice `expired`, committing after each chunk of 100."""
    summary = ExpirySummary()
    after = 0
    while True:
        async with session_scope(sessionmaker) as session:
            ids = list(
                (
                    await session.scalars(
                        select(Invoice.id)
                        .where(
                            Invoice.invoicestatus.in_(EXPIRABLE),
                            Invoice.invoice_expires < today,
                            Invoice.id > after,
                        )
                        .order_by(Invoice.id)
                        .limit(CHUNK)
                    )
                ).all()
            )
        if not ids:
            return summary
        after = ids[-1]
        try:
            async with session_scope(sessionmaker) as session:
                batch_id, expired, unchanged = await _expire_chunk(
                    session, ids, today=today, batch_id=summary.batch_id
                )
        except Exception as exc:
            logger.exception("could not expire invoices %s..%s", ids[0], ids[-1])
            await _record_failure(sessionmaker, ids, today=today, summary=summary, error=exc)
            continue
        summary.batch_id = batch_id
        summary.expired += expired
        summary.unchanged += unchanged


async def set_invoices_as_expired(ctx: WorkerContext) -> dict[str, int | None]:
    """Nightly: mark overdue unpaid invoices `expired` (batches of 100, monitored, idempotent)."""
    now = clock(ctx)
    today = now.astimezone(ctx["settings"].timezone).date()
    async with recorded_run(ctx["sessionmaker"], CRON_NAME, now=now):
        summary = await expire_invoices(ctx["sessionmaker"], today=today)
        if summary.batch_id is None:
            async with session_scope(ctx["sessionmaker"]) as session:
                await log_run(
                    session,
                    name=CRON_NAME,
                    now=now,
                    ok=summary.failed == 0,
                    message=f"{CRON_NAME}: no invoice was due to expire on {today}",
                )
    return {
        "expired": summary.expired,
        "failed": summary.failed,
        "unchanged": summary.unchanged,
        "integration_monitor_batch_id": summary.batch_id,
    }
