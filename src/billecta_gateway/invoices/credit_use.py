"""Use the credit left on a credit note to pay another invoice (spec: use-credit-on-invoice).

A credit note can be spent once. Uses of one credit note are serialised by a transaction-scoped
advisory lock held across the Billecta call, and every use is recorded (amount, target, time,
Billecta's answer). The credit left is Billecta's figure minus the recorded uses Billecta has
not reflected yet: the Billecta call is suspect (billecta-api.md §6.4) and may credit the
target without drawing the credit note down, so the gateway never trusts it to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta.schemas import BillectaAmount, BillectaCreditAction
from billecta_gateway.config import Settings
from billecta_gateway.invoices import outcomes
from billecta_gateway.invoices.operations import OperationError, call_billecta, succeeded
from billecta_gateway.invoices.schemas import UseCreditCreate
from billecta_gateway.invoices.service import (
    DEFAULT_CURRENCY,
    USE_CREDIT,
    current_amount,
    invoice_in_billecta,
    midnight,
    refresh_after,
)
from billecta_gateway.invoices.state import is_credit_invoice
from billecta_gateway.models import CreditNoteUse
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.locks import advisory_lock

LOCK = "credit_note"
WHAT = "Could not use the credit in Billecta"
_ZERO = Decimal(0)


def credit_left(billecta_left: Decimal, uses: Sequence[CreditNoteUse], *, now: datetime) -> Decimal:
    """Billecta's credit left minus the uses (oldest first) it has not reflected yet.

    Billecta reflected a use when its figure dropped by the use's amount since the oldest use
    not yet known reflected; such uses are marked ``reflected_at``.
    """
    if not uses:
        return billecta_left
    drop = max(_ZERO, uses[0].available_before - billecta_left)
    pending = _ZERO
    for use in uses:
        if pending == _ZERO and drop >= use.amount:
            use.reflected_at = now
            drop -= use.amount
        else:
            pending += use.amount
    return billecta_left - max(_ZERO, pending - drop)


async def _unreflected_uses(session: AsyncSession, credit_invoice_id: int) -> list[CreditNoteUse]:
    return list(
        await session.scalars(
            select(CreditNoteUse)
            .where(
                CreditNoteUse.credit_invoice == credit_invoice_id,
                CreditNoteUse.reflected_at.is_(None),
            )
            .order_by(CreditNoteUse.id)
        )
    )


async def use_credit_on_invoice(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    body: UseCreditCreate,
    jobs: AfterCommit,
) -> Decimal:
    """Pay an invoice with the credit left on a credit invoice; returns the amount used.

    The amount is the smaller of the credit left and what is still owed, both read from
    Billecta under the credit note's lock; nothing left is a 409. Both invoices are read back
    afterwards.
    """
    credit_invoice, credit_id = await invoice_in_billecta(session, body.creditinvoiceid, USE_CREDIT)
    target, target_id = await invoice_in_billecta(session, body.invoicetocreditid, USE_CREDIT)
    await advisory_lock(session, LOCK, credit_invoice.id)
    credit = await call_billecta(
        billecta.get_invoice_action(credit_id), style=USE_CREDIT, what=WHAT, obj=target
    )
    owed = await call_billecta(
        billecta.get_invoice_action(target_id), style=USE_CREDIT, what=WHAT, obj=target
    )
    if not is_credit_invoice(credit):
        raise USE_CREDIT.conflict(f"Invoice {credit_invoice.id} is not a credit invoice")
    now = datetime.now(UTC)
    billecta_left = -current_amount(credit)
    available = credit_left(
        billecta_left, await _unreflected_uses(session, credit_invoice.id), now=now
    )
    if available <= 0:
        raise USE_CREDIT.conflict(f"Credit invoice {credit_invoice.id} has no credit left")
    open_amount = current_amount(owed)
    if open_amount <= 0:
        raise USE_CREDIT.conflict(f"Invoice {target.id} has nothing left to pay")
    amount = min(available, open_amount)
    currency = (
        (owed.current_amount.currency_code if owed.current_amount else None)
        or target.currency
        or DEFAULT_CURRENCY
    )
    reference = outcomes.current_reference()
    number = credit.invoice_number or credit_invoice.invoicenumber or credit_id
    credit_action = BillectaCreditAction(
        action_public_id=target_id,
        value=BillectaAmount.from_decimal(amount, currency),
        is_payment_creditation=True,
        payment_mean_code=body.paymentmeancode or None,
        payment_date=midnight(datetime.now(settings.timezone).date()),
        comment=f"Credit from credit invoice {number} ({reference})",
        credit_invoice_action_public_id=credit_id,
    )
    use = CreditNoteUse(
        credit_invoice=credit_invoice.id,
        target_invoice=target.id,
        amount=amount,
        currency=currency,
        available_before=billecta_left,
        reference=reference,
        status="sent",
        used_at=now,
    )
    try:
        await call_billecta(
            billecta.credit_amount(credit_action), style=USE_CREDIT, what=WHAT, obj=target
        )
    except OperationError as exc:
        if exc.uncertain_on is not None:
            # Billecta may have applied it: the credit counts as used until a refresh shows.
            use.status = "uncertain"
            use.billecta_answer = "no answer (timeout or connection lost after sending)"
            session.add(use)
        raise
    use.status = "ok"
    use.billecta_answer = "2xx"
    session.add(use)
    succeeded(target)
    for invoice in (target, credit_invoice):
        await refresh_after(
            session, billecta=billecta, settings=settings, invoice=invoice, jobs=jobs
        )
    return amount
