"""Reconciliation by payment date: the mirror's payments against Billecta's incoming payments,
and each payment, write-off or credit booked on its account and on receivables."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.models import Creditor, Debtor, Invoice, Payment
from billecta_gateway.reports.accounts import AccountPlan, payment_entries
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


async def compare_payments(
    session: AsyncSession,
    billecta: BillectaClient,
    *,
    creditor: Creditor,
    public_id: str,
    params: AccountReconciliationReportRequest,
    plan: AccountPlan,
    zone: tzinfo,
) -> tuple[Comparison, list[Movement]]:
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
                Payment.creditor == creditor.id,
                and_(Payment.creditor.is_(None), Invoice.creditor == creditor.id),
            ),
            Payment.paymentdate.between(params.from_date, params.to_date),
            Payment.paymentstatus.is_distinct_from("deleted"),
            Payment.paymenttype.in_(BOOKED_PAYMENT_TYPES),
        )
        .order_by(Payment.paymentdate, Payment.id)
    )
    payments = result.all()
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
    movements: list[Movement] = []
    for ref, action_id, kind, status, amount, paid_on, mean, own, number, debtor in payments:
        record = f"Payment {number or action_id or ''}".strip()
        for account, signed, text in payment_entries(
            plan, kind=kind, amount=amount or Decimal(0), own_account=own, mean_code=mean
        ):
            if account == params.account and signed:
                movements.append((paid_on, record, debtor, text, signed))
        if kind not in COMPARED_PAYMENT_TYPES:
            continue
        found = remote.pop((ref, action_id), None) if ref else None
        if found is None:
            comparison.add(
                ONLY_LIME,
                amount,
                None,
                (number, debtor, paid_on, amount, None, amount, status, mean, ref),
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
                status,
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
    return comparison, movements
