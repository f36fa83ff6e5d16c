"""Accounts receivable (Kundreskontra): the invoices of a creditor open at a date, with aging.

Amounts at the report date are the invoice's current amounts (as Billecta last reported them)
with the payments, credits and write-offs dated after the report date rolled back, so a report
for today equals Billecta's figures and a report for an earlier date shows what was open then.
The mirror's invoices are streamed from a server-side cursor; Billecta's open invoices that the
mirror does not know are merged in, in the same order (debtor, due date, invoice number).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta.schemas import BillectaAmount, BillectaInvoiceActionSub
from billecta_gateway.models import Creditor, Debtor, Invoice, OrderRow, Payment
from billecta_gateway.reports.billecta_lists import iter_open_invoices, open_invoices_body
from billecta_gateway.reports.model import Column, ReportData, Table
from billecta_gateway.reports.output import LoopRows, stream_chunks
from billecta_gateway.reports.schemas import AccountReceivablesReportRequest

PAID_TYPES = ("payment", "manual")
DRAFT_STAGES = frozenset({"None", "Created"})
CLOSED_STAGES = frozenset({"Completed", "Cancelled"})
CENT = Decimal("0.01")
MIRROR_LOOKUP_CHUNK = 5_000

COLUMNS: tuple[Column, ...] = (
    Column("Debtor", width=30),
    Column("Invoice no.", width=14),
    Column("Invoice date", "date"),
    Column("Due date", "date"),
    Column("Period start", "date"),
    Column("Period end", "date"),
    Column("Invoiced", "money", total=True),
    Column("Paid", "money", total=True),
    Column("Credited", "money", total=True),
    Column("Written off", "money", total=True),
    Column("Balance", "money", total=True),
    Column("Days overdue", "integer"),
    Column("Source", width=10),
)
BALANCE, DAYS_OVERDUE = 10, 11
AGING_BUCKETS: tuple[tuple[str, int], ...] = (
    ("Not due", 0),
    ("1-30 days overdue", 30),
    ("31-60 days overdue", 60),
    ("61-90 days overdue", 90),
)
OVER_90 = "Over 90 days overdue"

Row = tuple[Any, ...]


class Aging:
    """Counts and balances per overdue bucket, filled as the rows stream past."""

    def __init__(self) -> None:
        labels = [label for label, _ in AGING_BUCKETS] + [OVER_90]
        self.counts = dict.fromkeys(labels, 0)
        self.balances = dict.fromkeys(labels, Decimal(0))

    def add(self, row: Row) -> Row:
        days = row[DAYS_OVERDUE] or 0
        label = next((label for label, upper in AGING_BUCKETS if days <= upper), OVER_90)
        self.counts[label] += 1
        self.balances[label] += row[BALANCE]
        return row

    def tables(self) -> list[Table]:
        columns = (
            Column("Overdue", width=24),
            Column("Invoices", "integer", total=True),
            Column("Balance", "money", total=True),
        )
        rows = [(label, self.counts[label], self.balances[label]) for label in self.counts]
        return [Table("Aging summary", columns, rows)]


def sort_key(row: Row) -> tuple[Any, ...]:
    """The order of the report, the same as the SQL ORDER BY (byte-wise "C" collation)."""
    name, number, due = row[0], row[1], row[3]
    return (
        name is None,
        name or "",
        due is None,
        due or date.min,
        number is not None,
        number or "",
    )


def statement(
    creditor_id: int, params: AccountReceivablesReportRequest
) -> Select[*tuple[Any, ...]]:
    """The mirror's invoices open at the date, amounts rolled back to it, in report order."""
    day = params.date
    creditor_invoices = select(Invoice.id).where(Invoice.creditor == creditor_id)
    after = (
        select(
            Payment.invoice.label("invoice_id"),
            func.sum(Payment.amount).filter(Payment.paymenttype.in_(PAID_TYPES)).label("paid"),
            func.sum(Payment.amount).filter(Payment.paymenttype == "credit").label("credited"),
            func.sum(Payment.amount).filter(Payment.paymenttype == "writeoff").label("written"),
        )
        .where(
            Payment.paymentdate > day,
            Payment.paymentstatus.is_distinct_from("deleted"),
            Payment.invoice.in_(creditor_invoices),
        )
        .group_by(Payment.invoice)
        .subquery("after")
    )
    net = func.coalesce(OrderRow.quantity, 1) * func.coalesce(
        OrderRow.unitprice, 0
    ) - func.coalesce(OrderRow.discount, 0)
    gross = net * (1 + func.coalesce(OrderRow.vat, 0) / 100)
    rows = (
        select(
            OrderRow.order.label("order_id"),
            func.min(OrderRow.period_start).label("first_start"),
            func.max(OrderRow.period_end).label("last_end"),
            func.sum(gross).label("gross"),
            func.sum(gross)
            .filter(or_(OrderRow.period_start.is_(None), OrderRow.period_start <= day))
            .label("gross_through"),
        )
        .where(
            OrderRow.order.in_(select(Invoice.order).where(Invoice.creditor == creditor_id)),
            OrderRow.rowtype.is_distinct_from("message"),
        )
        .group_by(OrderRow.order)
        .subquery("rows")
    )
    invoiced = func.coalesce(Invoice.invoice_amount, 0)
    paid_now = func.coalesce(Invoice.paid_amount, 0)
    credited_now = func.coalesce(Invoice.credited_amount, 0)
    written_now = func.coalesce(Invoice.writtenoff_amount, 0)
    paid_after = func.coalesce(after.c.paid, 0)
    credited_after = func.coalesce(after.c.credited, 0)
    written_after = func.coalesce(after.c.written, 0)
    balance_now = func.coalesce(
        Invoice.invoice_balance, invoiced - paid_now - credited_now - written_now
    )
    balance = balance_now + paid_after + credited_after + written_after
    period_start = func.coalesce(Invoice.period_start, rows.c.first_start)
    period_end = func.coalesce(Invoice.period_end, rows.c.last_end)
    conditions = [
        Invoice.creditor == creditor_id,
        Invoice.invoicedate <= day,
        Invoice.invoicestatus.is_distinct_from("cancelled"),
        balance != 0,
    ]
    if params.exclude_invoices_with_period_outside_date:
        conditions.append(or_(period_start.is_(None), period_start <= day))
    return (
        select(
            Debtor.name,
            Invoice.invoicenumber,
            Invoice.invoicedate,
            Invoice.invoice_expires,
            period_start,
            period_end,
            invoiced,
            paid_now - paid_after,
            credited_now - credited_after,
            written_now - written_after,
            balance,
            rows.c.gross,
            rows.c.gross_through,
        )
        .select_from(Invoice)
        .outerjoin(Debtor, Debtor.id == Invoice.debtor)
        .outerjoin(after, after.c.invoice_id == Invoice.id)
        .outerjoin(rows, rows.c.order_id == Invoice.order)
        .where(and_(*conditions))
        .order_by(
            Debtor.name.collate("C").nulls_last(),
            Invoice.invoice_expires.nulls_last(),
            Invoice.invoicenumber.collate("C").nulls_first(),
            Invoice.id,
        )
    )


def _part(amount: Decimal, share: Decimal) -> Decimal:
    return (amount * share).quantize(CENT, rounding=ROUND_HALF_UP)


def _days_overdue(due: date | None, day: date) -> int | None:
    return max(0, (day - due).days) if due is not None else None


def mirror_rows(
    rows: Iterable[Sequence[Any]], params: AccountReceivablesReportRequest
) -> Iterator[Row]:
    """Report rows from the statement's rows; period-specific reports keep each invoice's share
    of rows whose period begins on or before the date (rows without a period count in full)."""
    day = params.date
    for raw in rows:
        name, number, invoiced_on, due, start, end = raw[:6]
        amounts: list[Decimal] = list(raw[6:11])
        if params.is_period_specific:
            gross, through = raw[11], raw[12]
            if gross:
                share = Decimal(through or 0) / Decimal(gross)
            else:
                share = Decimal(0) if start is not None and start > day else Decimal(1)
            if share != 1:
                amounts = [_part(amount, share) for amount in amounts]
            if amounts[4] == 0:
                continue
        yield (
            name,
            number,
            invoiced_on,
            due,
            start,
            end,
            *amounts,
            _days_overdue(due, day),
            "Lime",
        )


def _day(value: datetime | None, zone: tzinfo) -> date | None:
    if value is None:
        return None
    return (value.astimezone(zone) if value.tzinfo else value).date()


def _amount(value: BillectaAmount | None) -> Decimal | None:
    return value.to_decimal() if value is not None else None


Candidate = tuple[str, Row]


def billecta_candidates(
    items: Iterable[BillectaInvoiceActionSub], day: date, zone: tzinfo
) -> list[Candidate]:
    """(action id, report row) of Billecta's open invoices that were open at the date.

    Billecta's list rows carry no split of what was paid, credited or written off, nor periods.
    """
    found: list[Candidate] = []
    for item in items:
        if not item.action_public_id:
            continue
        if item.stage in DRAFT_STAGES or item.stage in CLOSED_STAGES:
            continue
        invoiced_on = _day(item.invoice_date, zone)
        balance = _amount(item.current_amount)
        if invoiced_on is None or invoiced_on > day or not balance:
            continue
        due = _day(item.due_date, zone)
        row = (
            item.debtor_name,
            item.invoice_number,
            invoiced_on,
            due,
            None,
            None,
            _amount(item.invoiced_amount),
            None,
            None,
            None,
            balance,
            _days_overdue(due, day),
            "Billecta",
        )
        found.append((item.action_public_id, row))
    return found


def parse_open_invoices(data: bytes, day: date, zone: tzinfo) -> list[Candidate]:
    """Billecta's open-invoice list body, parsed an item at a time, as candidate rows."""
    return billecta_candidates(iter_open_invoices(data), day, zone)


async def known_action_ids(session: AsyncSession, action_ids: Sequence[str]) -> set[str]:
    """Which of these Billecta invoice ids the mirror holds."""
    known: set[str] = set()
    for start in range(0, len(action_ids), MIRROR_LOOKUP_CHUNK):
        chunk = list(action_ids[start : start + MIRROR_LOOKUP_CHUNK])
        found = await session.scalars(
            select(Invoice.actionpublicid).where(Invoice.actionpublicid.in_(chunk))
        )
        known.update(value for value in found if value)
    return known


async def build_receivables_report(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    creditor: Creditor,
    creditor_public_id: str,
    params: AccountReceivablesReportRequest,
    zone: tzinfo,
) -> tuple[ReportData, list[LoopRows]]:
    """The report's data; its mirror rows stream from the database while it is rendered."""
    body = await open_invoices_body(billecta, creditor_public_id)
    candidates = await asyncio.to_thread(parse_open_invoices, body, params.date, zone)
    del body
    known = await known_action_ids(session, [action_id for action_id, _ in candidates])
    extra = sorted((row for action_id, row in candidates if action_id not in known), key=sort_key)
    del candidates
    stream = LoopRows(
        stream_chunks(session, statement(creditor.id, params)), asyncio.get_running_loop()
    )
    aging = Aging()
    merged = heapq.merge(mirror_rows(stream, params), extra, key=sort_key)
    rows = (aging.add(row) for row in merged)
    yes_no = {True: "Yes", False: "No"}
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
            ("Sources", "Lime mirror and Billecta open invoices"),
        ],
        tables=[Table("Invoices", COLUMNS, rows)],
        summary=aging.tables,
        timezone=zone,
        filename_stem=f"accounts_receivable_{creditor.id}_{params.date.isoformat()}",
    )
    return report, [stream]
