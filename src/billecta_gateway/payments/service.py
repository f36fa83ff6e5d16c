"""Payment operations against Billecta (spec: MatchPaymentHandler, DeleteUnhandledPaymentHandler).

Billecta ids are resolved through the mirror, so a missing payment is answered without calling
Billecta and a failure is written on the payment's ``billecta_error_message``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta.errors import BillectaApiRequestException
from billecta_gateway.billecta.schemas import BillectaPaymentMatch, BillectaPaymentMatchResult
from billecta_gateway.invoices.operations import (
    ErrorStyle,
    OperationError,
    call_billecta,
    error_message_body,
    find_by,
    load,
    status_error_message_body,
    succeeded,
)
from billecta_gateway.models import Creditor, Invoice, Payment
from billecta_gateway.payments.schemas import UnhandledPaymentDelete

logger = logging.getLogger("billecta_gateway.payments")

MATCH = ErrorStyle(error_message_body, missing_status=404)
DELETE = ErrorStyle(status_error_message_body, missing_status=500, billecta_status=500)
MATCH_SUCCESS = "The match was successful"


def billecta_payment_id(payment: Payment) -> str | None:
    """The id Billecta knows the (unhandled) payment by."""
    return payment.unhandledpaymentpublicid or payment.paymentreferenceid or None


async def payment_by_billecta_id(session: AsyncSession, billecta_id: str) -> Payment:
    """The mirrored payment with this Billecta id; 404 when there is none."""
    payment = await find_by(
        session, Payment, Payment.unhandledpaymentpublicid, billecta_id
    ) or await find_by(session, Payment, Payment.paymentreferenceid, billecta_id)
    if payment is None:
        raise MATCH.missing(f"No payment with Billecta id {billecta_id}")
    return payment


async def _creditor_public_id(
    session: AsyncSession, payment: Payment, invoice: Invoice
) -> str | None:
    for creditor_id in (payment.creditor, invoice.creditor):
        if creditor_id is None:
            continue
        creditor = await load(session, Creditor, creditor_id)
        if creditor is not None and creditor.creditorpublicid:
            return creditor.creditorpublicid
    return None


async def match_payment(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    payment: Payment,
    payment_billecta_id: str,
    invoice_id: int,
) -> Invoice:
    """Use the unhandled payment on the invoice in Billecta; returns the invoice.

    Billecta answers one result per match. Only its result for this payment with
    ``Successfull: true`` is a success; anything else (a refusal, no result, a result for
    another payment) is a 502 with Billecta's text, and the payment is read back.
    """
    invoice = await load(session, Invoice, invoice_id)
    if invoice is None:
        raise MATCH.missing(f"Invoice {invoice_id} not found")
    if not invoice.actionpublicid:
        raise MATCH.missing(f"Invoice {invoice_id} has no actionpublicid: it is not in Billecta")
    creditor_public_id = await _creditor_public_id(session, payment, invoice)
    if creditor_public_id is None:
        raise MATCH.missing(
            f"The creditor of payment {payment.id} is missing or not configured in Billecta"
        )
    paid_on = payment.paymentdate
    match = BillectaPaymentMatch(
        unhandled_payment_public_id=payment_billecta_id,
        action_public_id=invoice.actionpublicid,
        payment_date=datetime(paid_on.year, paid_on.month, paid_on.day) if paid_on else None,
    )
    results = await call_billecta(
        billecta.match_payments(creditor_public_id, [match]),
        style=MATCH,
        what="Could not match the payment in Billecta",
        obj=payment,
    )
    problem = _match_problem(results, payment_billecta_id)
    if problem is not None:
        message = f"Billecta did not match the payment: {problem}"
        await refresh_payment(session, billecta=billecta, payment=payment)
        payment.billecta_error_message = message
        raise OperationError(502, {"error_message": message}, message, reached_billecta=True)
    succeeded(payment)
    return invoice


def _match_problem(results: list[BillectaPaymentMatchResult], payment_id: str) -> str | None:
    """Why Billecta's answer is not a successful match of ``payment_id`` (None: it is)."""
    if not results:
        return "Billecta answered without a result"
    result = next((r for r in results if r.unhandled_payment_public_id == payment_id), None)
    if result is None:
        others = ", ".join(
            f"{r.unhandled_payment_public_id or '?'}: {r.response_message or 'no message'}"
            for r in results
        )
        return f"Billecta's answer is about another payment ({others})"
    if result.successfull is not True:
        return result.response_message or "no reason was given"
    return None


_UNHANDLED_STATUS = {"usedoninvoice": "usedoninvoice", "deleted": "deleted"}


async def refresh_payment(
    session: AsyncSession, *, billecta: BillectaClient, payment: Payment
) -> None:
    """Read the unhandled payment back from Billecta and take over its state.

    A failure to read it is logged and leaves the row as it was (the next webhook settles it).
    """
    billecta_id = payment.unhandledpaymentpublicid
    if not billecta_id:
        return
    try:
        current = await billecta.get_unhandled_payment(billecta_id)
    except BillectaApiRequestException as exc:
        logger.warning("payment %s could not be read back: %s", payment.id, exc.message)
        return
    state = (current.state or "").lower()
    status = next((v for k, v in _UNHANDLED_STATUS.items() if state.startswith(k)), None)
    if status is not None:
        payment.paymentstatus = status
    if current.amount is not None:
        payment.amount = current.amount.to_decimal()


async def delete_unhandled_payment(
    session: AsyncSession, *, billecta: BillectaClient, body: UnhandledPaymentDelete
) -> Payment:
    """Remove the unhandled payment in Billecta, booking it; the payment becomes ``deleted``."""
    payment = await load(session, Payment, body.id)
    if payment is None:
        raise DELETE.missing(f"Payment {body.id} not found")
    billecta_id = billecta_payment_id(payment)
    if billecta_id is None:
        raise DELETE.missing(f"Payment {body.id} has no paymentreferenceid: it is not in Billecta")
    await call_billecta(
        billecta.delete_unhandled_payment(
            billecta_id, body.bookkeepingaccount, body.transactiondate
        ),
        style=DELETE,
        what="Could not delete the payment in Billecta",
        obj=payment,
    )
    payment.paymentstatus = "deleted"
    succeeded(payment)
    return payment
