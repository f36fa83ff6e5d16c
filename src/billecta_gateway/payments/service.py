"""Payment operations against Billecta (spec: MatchPaymentHandler, DeleteUnhandledPaymentHandler).

Billecta ids are resolved through the mirror, so a missing payment is answered without calling
Billecta and a failure is written on the payment's ``billecta_error_message``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta.schemas import BillectaPaymentMatch
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

    Billecta answers one result per match: a match it refused is a 502 with its reason.
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
    result = next(
        (r for r in results if r.unhandled_payment_public_id in (None, "", payment_billecta_id)),
        None,
    )
    if result is not None and result.successfull is False:
        message = (
            "Billecta did not match the payment: "
            f"{result.response_message or 'no reason was given'}"
        )
        payment.billecta_error_message = message
        raise OperationError(502, {"error_message": message}, message, reached_billecta=True)
    succeeded(payment)
    return invoice


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
