"""Reconciliation of payments: the mirror's payments of the period against Billecta's incoming
payments, and each payment, write-off or credit booked on its account and on receivables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.models import Debtor, Invoice, Payment
from billecta_gateway.reports.accounts import AccountPlan, payment_entries
from billecta_gateway.reports.labels import option_label
from billecta_gateway.reports.reconciliation.compare import (
    BOOKED_PAYMENT_TYPES,
    COMPARED_PAYMENT_TYPES,
    ONLY_BILLECTA,
    ONLY_LIME,
    PAYMENT_STATUSES_ON_INVOICE,
    Comparison,
    Movement,
    amount_of,
    differs,
    local_day,
    result_of,
)
from billecta_gateway.reports.schemas import AccountReconciliationReportRequest

RECORD_NAMES = {"writeoff": "Write-off", "credit": "Credit"}


async def mirror_payments(
    session: AsyncSession, creditor_id: int, params: AccountReconciliationReportRequest
) -> Sequence[Row[*tuple[Any, ...]]]:
    """The creditor's payments, write-offs and credits dated in the period (not deleted)."""
    result = await session.execute(
        select(
            Payment.paymentreferenceid,
            Payment.actionpublicid,
            Payment.paymenttype,
            Payment.paymentstatus,
            Payment.amount,
            Payment.paymentdate,
            Payment.paymentmeancode,
            Payment.bookkeepingaccount,
            Invoice.invoicenumber,
            Debtor.name,
        )
        .outerjoin(Invoice, Invoice.id == Payment.invoice)
        .outerjoin(Debtor, Debtor.id == Invoice.debtor)
        .where(
            or_(
                Payment.creditor == creditor_id,
                and_(Payment.creditor.is_(None), Invoice.creditor == creditor_id),
            ),
            Payment.paymentdate.between(params.from_date, params.to_date),
            Payment.paymentstatus.is_distinct_from("deleted"),
            Payment.paymenttype.in_(BOOKED_PAYMENT_TYPES),
        )
        .order_by(Payment.paymentdate, Payment.id)
    )
    return result.all()


def payment_movements(
    payments: Sequence[Row[*tuple[Any, ...]]], *, plan: AccountPlan, account: str
) -> list[Movement]:
    """What the payments, write-offs and credits booked on the account, on their own date."""
    movements: list[Movement] = []
    for _, action_id, kind, _, amount, paid_on, mean, own, number, debtor in payments:
        record = f"{RECORD_NAMES.get(kind or '', 'Payment')} {number or action_id or ''}".strip()
        for entry_account, signed, text in payment_entries(
            plan, kind=kind, amount=amount or Decimal(0), own_account=own, mean_code=mean
        ):
            if entry_account == account and signed:
                movements.append((paid_on, record, debtor, text, signed))
    return movements


async def compare_payments(
    billecta: BillectaClient,
    *,
    payments: Sequence[Row[*tuple[Any, ...]]],
    public_id: str,
    params: AccountReconciliationReportRequest,
    zone: tzinfo,
) -> Comparison:
    """The mirror's payments of the period against Billecta's incoming payments."""
    # Billecta reads `To` as a moment: ask up to the next midnight, keep the period's days.
    incoming = await billecta.get_incoming_payments(
        public_id, params.from_date, params.to_date + timedelta(days=1)
    )
    remote = {}
    for item in incoming:
        paid_on = local_day(item.payment_date, zone)
        if paid_on is not None and params.from_date <= paid_on <= params.to_date:
            remote[(item.payment_reference_id, item.action_public_id)] = (item, paid_on)

    comparison = Comparison()
    for ref, action_id, kind, status, amount, paid_on, mean, _, number, debtor in payments:
        if kind not in COMPARED_PAYMENT_TYPES:
            continue
        label = option_label("paymentstatus", status)
        found = remote.pop((ref, action_id), None) if ref else None
        if found is None:
            comparison.add(
                ONLY_LIME,
                amount,
                None,
                (number, debtor, paid_on, amount, None, amount, label, mean, ref),
            )
            continue
        item, _ = found
        remote_amount = amount_of(item.amount)
        outcome = result_of(
            differs(amount, remote_amount),
            status is not None and status not in PAYMENT_STATUSES_ON_INVOICE,
        )
        comparison.add(
            outcome,
            amount,
            remote_amount,
            (
                number,
                debtor,
                paid_on,
                amount,
                remote_amount,
                (amount or Decimal(0)) - (remote_amount or Decimal(0)),
                label,
                mean or item.payment_mean_code,
                ref,
            ),
        )
    for item, paid_on in sorted(remote.values(), key=lambda pair: pair[1]):
        remote_amount = amount_of(item.amount)
        comparison.add(
            ONLY_BILLECTA,
            None,
            remote_amount,
            (
                item.invoice_number,
                item.debtor_name,
                paid_on,
                None,
                remote_amount,
                -(remote_amount or Decimal(0)),
                None,
                item.payment_mean_code,
                item.payment_reference_id,
            ),
        )
    return comparison
