"""The mirror's side of the receivables report: its invoices open at the date, streamed.

Amounts at the report date are the invoice's current amounts (as Billecta last reported them)
with the payments, credits and write-offs dated after the report date rolled back, so a report
for today equals Billecta's figures and a report for an earlier date shows what was open then.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from billecta_gateway.models import Debtor, Invoice, OrderRow, Payment
from billecta_gateway.reports.collation import primary_key, sorted_runs, sql_primary_key
from billecta_gateway.reports.model import HOME_CURRENCY
from billecta_gateway.reports.receivables.layout import Row, days_overdue, sort_key
from billecta_gateway.reports.schemas import AccountReceivablesReportRequest

PAID_TYPES = ("payment", "manual")
CENT = Decimal("0.01")


def statement(
    creditor_id: int, params: AccountReceivablesReportRequest, *, currency: str = HOME_CURRENCY
) -> Select[*tuple[Any, ...]]:
    """The mirror's invoices open at the date, amounts rolled back to it, ordered by the
    primary Swedish key of the debtor's name (ties are put in full order in Python)."""
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
            func.coalesce(Invoice.currency, currency),
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
            sql_primary_key(Debtor.name).nulls_last(),
            Invoice.invoice_expires.nulls_last(),
            Invoice.invoicenumber.collate("C").nulls_first(),
            Invoice.id,
        )
    )


def _part(amount: Decimal, share: Decimal) -> Decimal:
    return (amount * share).quantize(CENT, rounding=ROUND_HALF_UP)


def mirror_rows(
    rows: Iterable[Sequence[Any]], params: AccountReceivablesReportRequest
) -> Iterator[Row]:
    """Report rows from the statement's rows; period-specific reports keep each invoice's share
    of rows whose period begins on or before the date (rows without a period count in full)."""
    day = params.date
    for raw in rows:
        name, number, invoiced_on, due, start, end, currency = raw[:7]
        amounts: list[Decimal] = list(raw[7:12])
        if params.is_period_specific:
            gross, through = raw[12], raw[13]
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
            currency,
            *amounts,
            days_overdue(due, day),
            "Lime",
        )


def _name_primary(row: Row) -> str | None:
    return None if row[0] is None else primary_key(row[0])


def _in_report_order(run: list[Row]) -> None:
    run.sort(key=sort_key)


def ordered_mirror_rows(
    rows: Iterable[Sequence[Any]], params: AccountReceivablesReportRequest
) -> Iterator[Row]:
    """`mirror_rows` in the report's full order (the database orders by the primary key)."""
    return sorted_runs(mirror_rows(rows, params), run=_name_primary, order=_in_report_order)
