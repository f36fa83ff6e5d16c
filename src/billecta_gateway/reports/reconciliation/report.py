"""Account reconciliation: the mirror compared with Billecta for a creditor and a period, and
the movements on one bookkeeping account with opening and closing balance.

The compared records are invoices (selected by invoice date or due date) or payments (by
payment date). The account's movements are every movement of the period, whatever is
compared: invoices placed by the selected date (invoice date when comparing payments), and
payments, write-offs and credits by their own date, so opening + debits - credits is the
ledger's closing balance. Both sides of a period are held in memory to be compared;
Billecta's lists are read once each.
"""

from __future__ import annotations

from datetime import date, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.models import Creditor
from billecta_gateway.reports.accounts import AccountPlan
from billecta_gateway.reports.model import Column, ReportData, Table
from billecta_gateway.reports.reconciliation.compare import DATE_LABELS, RESULTS
from billecta_gateway.reports.reconciliation.invoices import (
    compare_invoices,
    invoice_movements,
    mirror_invoices,
)
from billecta_gateway.reports.reconciliation.payments import (
    compare_payments,
    mirror_payments,
    payment_movements,
)
from billecta_gateway.reports.schemas import AccountReconciliationReportRequest


def _comparison_columns(selection: str) -> tuple[Column, ...]:
    day = Column(DATE_LABELS[selection], "date")
    if selection == "payment_date":
        return (
            Column("Result", width=24),
            Column("Invoice no.", width=14),
            Column("Debtor", width=28),
            day,
            Column("Lime amount", "money", total=True),
            Column("Billecta amount", "money", total=True),
            Column("Difference", "money", total=True),
            Column("Lime status", width=14),
            Column("Payment mean", width=12),
            Column("Payment reference", width=38),
        )
    return (
        Column("Result", width=24),
        Column("Invoice no.", width=14),
        Column("Debtor", width=28),
        day,
        Column("Lime invoiced", "money", total=True),
        Column("Billecta invoiced", "money", total=True),
        Column("Lime balance", "money", total=True),
        Column("Billecta balance", "money", total=True),
        Column("Balance difference", "money", total=True),
        Column("Lime status", width=12),
        Column("Billecta stage", width=16),
    )


MOVEMENT_COLUMNS = (
    Column("Date", "date"),
    Column("Record", width=22),
    Column("Debtor", width=28),
    Column("Description", width=26),
    Column("Debit", "money", total=True),
    Column("Credit", "money", total=True),
    Column("Balance", "money"),
)


async def build_reconciliation_report(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    creditor: Creditor,
    creditor_public_id: str,
    params: AccountReconciliationReportRequest,
    plan: AccountPlan,
    zone: tzinfo,
    today: date,
) -> ReportData:
    """Compare both systems for the period and book every movement of the chosen account."""
    invoices = await mirror_invoices(session, creditor.id, params)
    payments = await mirror_payments(session, creditor.id, params)
    movements = await invoice_movements(session, invoices, plan=plan, account=params.account)
    movements += payment_movements(payments, plan=plan, account=params.account)
    if params.date_selection_type == "payment_date":
        comparison = await compare_payments(
            billecta, payments=payments, public_id=creditor_public_id, params=params, zone=zone
        )
        record_kind = "Payments"
    else:
        comparison = await compare_invoices(
            billecta,
            invoices=invoices,
            public_id=creditor_public_id,
            params=params,
            zone=zone,
            today=today,
        )
        record_kind = "Invoices"
    opening = params.opening_balance or Decimal(0)
    movements.sort(key=lambda m: (m[0] or date.min, m[1]))
    balance = opening
    debit = credit = Decimal(0)
    movement_rows: list[tuple[Any, ...]] = [
        (params.from_date, "Opening balance", None, None, None, None, opening)
    ]
    for day, record, debtor, text, amount in movements:
        balance += amount
        if amount > 0:
            debit += amount
        else:
            credit -= amount
        movement_rows.append(
            (
                day,
                record,
                debtor,
                text,
                amount if amount > 0 else None,
                -amount if amount < 0 else None,
                balance,
            )
        )

    def summary() -> list[Table]:
        account_rows = [
            ("Opening balance", opening),
            ("Debit", debit),
            ("Credit", credit),
            ("Closing balance", opening + debit - credit),
        ]
        results = [
            (name, comparison.counts[name], comparison.lime[name], comparison.billecta[name])
            for name in RESULTS
        ]
        return [
            Table(
                f"Account {params.account}",
                (Column("Item", width=30), Column("Amount", "money")),
                account_rows,
            ),
            Table(
                f"{record_kind} compared",
                (
                    Column("Result", width=30),
                    Column("Records", "integer", total=True),
                    Column("Lime amount", "money", total=True),
                    Column("Billecta amount", "money", total=True),
                ),
                results,
            ),
        ]

    label = DATE_LABELS[params.date_selection_type]
    return ReportData(
        title="Account reconciliation",
        parameters=[
            ("Creditor", f"{creditor.name or ''} ({creditor.id})".strip()),
            ("Period", f"{params.from_date.isoformat()} to {params.to_date.isoformat()}"),
            ("Account", params.account),
            ("Date selection", label),
            ("Opening balance", f"{opening:,.2f}"),
        ],
        tables=[
            Table(
                f"{record_kind} compared",
                _comparison_columns(params.date_selection_type),
                comparison.rows,
            ),
            Table(f"Movements on {params.account}", MOVEMENT_COLUMNS, movement_rows),
        ],
        summary=summary,
        timezone=zone,
        filename_stem=(
            f"account_reconciliation_{creditor.id}_{params.account}_"
            f"{params.from_date.isoformat()}_{params.to_date.isoformat()}"
        ),
    )
