"""Accounts receivable (Kundreskontra): the invoices of a creditor open at a date, with aging.

The mirror's invoices stream from a server-side cursor; the invoices only Billecta holds are
merged in, in the same order (debtor in Swedish order, due date, invoice number). Amounts are
never added across currencies: totals and aging are per currency.
"""

from __future__ import annotations

import asyncio
import heapq
from datetime import date, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.models import Creditor
from billecta_gateway.reports.model import HOME_CURRENCY, ReportData, Table
from billecta_gateway.reports.output import LoopRows, stream_chunks
from billecta_gateway.reports.receivables.billecta import billecta_only_rows
from billecta_gateway.reports.receivables.layout import COLUMNS, CURRENCY, Aging, sort_key
from billecta_gateway.reports.receivables.mirror import ordered_mirror_rows, statement
from billecta_gateway.reports.schemas import AccountReceivablesReportRequest


async def build_receivables_report(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    creditor: Creditor,
    creditor_public_id: str,
    params: AccountReceivablesReportRequest,
    zone: tzinfo,
    today: date,
) -> tuple[ReportData, list[LoopRows]]:
    """The report's data; its mirror rows stream from the database while it is rendered."""
    currency = creditor.default_currency or HOME_CURRENCY
    extra = await billecta_only_rows(
        session,
        billecta,
        creditor_public_id=creditor_public_id,
        day=params.date,
        today=today,
        zone=zone,
        currency=currency,
    )
    stream = LoopRows(
        stream_chunks(session, statement(creditor.id, params, currency=currency)),
        asyncio.get_running_loop(),
    )
    aging = Aging()
    merged = heapq.merge(ordered_mirror_rows(stream, params), extra, key=sort_key)
    rows = (aging.add(row) for row in merged)
    yes_no = {True: "Yes", False: "No"}
    sources = "Lime mirror and Billecta open invoices"
    if params.date < today:
        sources += ", and Billecta invoices closed since the report date"
    report = ReportData(
        title="Accounts receivable (Kundreskontra)",
        parameters=[
            ("Creditor", f"{creditor.name or ''} ({creditor.id})".strip()),
            ("Report date", params.date.isoformat()),
            (
                "Exclude invoices with period after the date",
                yes_no[params.exclude_invoices_with_period_outside_date],
            ),
            ("Period-specific", yes_no[params.is_period_specific]),
            ("Sources", sources),
        ],
        tables=[Table("Invoices", COLUMNS, rows, group_by=(CURRENCY,))],
        summary=aging.tables,
        timezone=zone,
        filename_stem=f"accounts_receivable_{creditor.id}_{params.date.isoformat()}",
    )
    return report, [stream]
