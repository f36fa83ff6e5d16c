"""Reconciliation of invoices: the mirror's invoices of the period against Billecta's open
and closed invoice lists, and each invoice booked on the accounts of its rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.models import Article, Debtor, Invoice, OrderRow
from billecta_gateway.reports.accounts import AccountPlan, InvoiceLine, invoice_entries
from billecta_gateway.reports.labels import option_label
from billecta_gateway.reports.reconciliation.compare import (
    CLOSED_STAGES,
    DRAFT_STAGES,
    DUE_DATE_LOOKBACK,
    ONLY_BILLECTA,
    ONLY_LIME,
    OPEN_STATUSES,
    Comparison,
    Movement,
    amount_of,
    differs,
    local_day,
    result_of,
)
from billecta_gateway.reports.schemas import AccountReconciliationReportRequest


async def mirror_invoices(
    session: AsyncSession, creditor_id: int, params: AccountReconciliationReportRequest
) -> Sequence[Row[*tuple[Any, ...]]]:
    """The creditor's invoices whose invoice date (or due date, when the report selects by
    it) is in the period."""
    by_due = params.date_selection_type == "due_date"
    selected = Invoice.invoice_expires if by_due else Invoice.invoicedate
    result = await session.execute(
        select(
            Invoice.actionpublicid,
            Invoice.invoicenumber,
            Debtor.name,
            selected,
            Invoice.invoice_amount,
            Invoice.invoice_balance,
            Invoice.invoicestatus,
            Invoice.vat_amount,
            Invoice.order,
        )
        .outerjoin(Debtor, Debtor.id == Invoice.debtor)
        .where(Invoice.creditor == creditor_id, selected.between(params.from_date, params.to_date))
        .order_by(selected, Invoice.invoicenumber, Invoice.id)
    )
    return result.all()


async def compare_invoices(
    billecta: BillectaClient,
    *,
    invoices: Sequence[Row[*tuple[Any, ...]]],
    public_id: str,
    params: AccountReconciliationReportRequest,
    zone: tzinfo,
    today: date,
) -> Comparison:
    """The mirror's invoices of the period against Billecta's invoices of the same period."""
    by_due = params.date_selection_type == "due_date"
    window_start = params.from_date - DUE_DATE_LOOKBACK if by_due else params.from_date
    open_items = await billecta.get_open_invoices(public_id)
    closed_items = await billecta.get_closed_invoices(
        public_id, window_start, max(params.to_date, today)
    )
    remote = {}
    for item in [*closed_items, *open_items]:
        picked = local_day(item.due_date if by_due else item.invoice_date, zone)
        if (
            item.action_public_id
            and item.stage not in DRAFT_STAGES
            and picked is not None
            and params.from_date <= picked <= params.to_date
        ):
            remote[item.action_public_id] = (item, picked)

    comparison = Comparison()
    for action_id, number, debtor, picked, amount, balance, status, _, _ in invoices:
        found = remote.pop(action_id, None) if action_id else None
        label = option_label("invoicestatus", status)
        if found is None:
            comparison.add(
                ONLY_LIME,
                amount,
                None,
                (number, debtor, picked, amount, None, balance, None, balance, label, None),
            )
            continue
        item, _ = found
        invoiced, current = amount_of(item.invoiced_amount), amount_of(item.current_amount)
        lime_open = status in OPEN_STATUSES
        remote_open = item.stage not in CLOSED_STAGES
        outcome = result_of(
            differs(amount, invoiced) or differs(balance, current), lime_open != remote_open
        )
        difference = (balance or Decimal(0)) - (current or Decimal(0))
        comparison.add(
            outcome,
            amount,
            invoiced,
            (
                number,
                debtor,
                picked,
                amount,
                invoiced,
                balance,
                current,
                difference,
                label,
                item.stage,
            ),
        )
    for item, picked in sorted(
        remote.values(), key=lambda pair: (pair[1], pair[0].invoice_number or "")
    ):
        invoiced, current = amount_of(item.invoiced_amount), amount_of(item.current_amount)
        comparison.add(
            ONLY_BILLECTA,
            None,
            invoiced,
            (
                item.invoice_number,
                item.debtor_name,
                picked,
                None,
                invoiced,
                None,
                current,
                -(current or Decimal(0)),
                None,
                item.stage,
            ),
        )

    return comparison


async def invoice_movements(
    session: AsyncSession,
    invoices: Sequence[Row[*tuple[Any, ...]]],
    *,
    plan: AccountPlan,
    account: str,
) -> list[Movement]:
    """What the invoices (cancelled ones excepted) booked on the account, on their date."""
    booked = [row for row in invoices if row.invoicestatus != "cancelled"]
    order_ids = [row.order for row in booked if row.order is not None]
    lines = await _order_lines(session, order_ids)
    movements: list[Movement] = []
    for row in booked:
        entries = invoice_entries(
            plan,
            total=row.invoice_amount or Decimal(0),
            vat_amount=row.vat_amount,
            lines=lines.get(row.order or 0, []),
        )
        record = f"Invoice {row.invoicenumber or row.actionpublicid or ''}".strip()
        for entry_account, amount, text in entries:
            if entry_account == account and amount:
                movements.append((row[3], record, row.name, text, amount))
    return movements


async def _order_lines(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, list[InvoiceLine]]:
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    if not order_ids:
        return lines
    result = await session.execute(
        select(
            OrderRow.order,
            OrderRow.quantity,
            OrderRow.unitprice,
            OrderRow.discount,
            OrderRow.vat,
            OrderRow.description,
            Article.name,
            Article.bookkeepingaccount,
        )
        .outerjoin(Article, Article.id == OrderRow.article)
        .where(
            OrderRow.order.in_(sorted(set(order_ids))),
            OrderRow.rowtype.is_distinct_from("message"),
        )
        .order_by(OrderRow.order, OrderRow.position, OrderRow.id)
    )
    for order, quantity, price, discount, vat, text, article, account in result:
        net = (quantity if quantity is not None else Decimal(1)) * (price or 0) - (discount or 0)
        lines[order or 0].append(InvoiceLine(net, vat, account, article or text or "Sales"))
    return lines
