"""Payment events: payments, write-offs and credits on invoices; unmatched payments and
overpayments (Billecta's unhandled payments).

Rows are found by their Billecta ids under a transaction-scoped advisory lock, so concurrent or
repeated deliveries never create two rows: invoice payments by (`paymentreferenceid`,
`actionpublicid`), because `AmountCreditedOnInvoice` fires once for the debit and once for the
credit invoice with one PaymentReferenceId; unhandled payments by `unhandledpaymentpublicid`
(also stored as their `paymentreferenceid`, as the table's unique key needs one).

A payment larger than what its invoice still owed is reported twice by Billecta: as
`InvoicePaymentReceived` with the whole amount and as an `Overpayment` with the excess. The
payment row keeps only what the invoice owed before it, the overpayment row the rest, so the
excess is never counted twice. Invoice balances always come from Billecta's refresh, never from
adding up payment rows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billecta_gateway.db import next_gateway_id
from billecta_gateway.invoices.outcomes import settle_uncertain
from billecta_gateway.invoices.state import local_date
from billecta_gateway.models import Invoice, Payment
from billecta_gateway.queue import job_id
from billecta_gateway.webhooks.handlers.common import (
    assign,
    clipped,
    creditordebtor_by_public_id,
    currency,
    invoice_by_action,
    is_older,
    lock,
    money,
    require_creditor,
    require_invoice,
)
from billecta_gateway.webhooks.payloads import IncomingPaymentPayload, UnhandledPaymentPayload
from billecta_gateway.webhooks.registry import HandlerContext, NotReady, registry

REFRESH_INVOICE_JOB = "update_invoice_in_lime_with_billecta_invoice_data"

PAYMENT_TYPES: dict[str, str] = {
    "InvoicePaymentReceived": "payment",
    "AmountWrittenOffOnInvoice": "writeoff",
    "AmountCreditedOnInvoice": "credit",
}


def refresh_invoice(ctx: HandlerContext, invoice_id: int) -> None:
    """Enqueue, after commit, the job that re-reads the invoice from Billecta."""
    ctx.jobs.add(
        REFRESH_INVOICE_JOB,
        invoice_id,
        job_id=job_id("refresh_invoice", invoice_id, f"event={ctx.event_id}"),
    )


async def _upsert(
    ctx: HandlerContext, existing: Payment | None, values: dict[str, Any]
) -> tuple[Payment, bool]:
    """Create the payment or update it unless a newer event was applied; (row, written)."""
    if existing is not None:
        if is_older(existing.billecta_event_at, ctx.created):
            return existing, False
        assign(existing, values)
        return existing, True
    payment = Payment(id=await next_gateway_id(ctx.session), **clipped(Payment, values))
    ctx.session.add(payment)
    await ctx.session.flush()
    return payment, True


@registry.on(*PAYMENT_TYPES, payload=IncomingPaymentPayload)
async def record_invoice_payment(ctx: HandlerContext, payload: IncomingPaymentPayload) -> None:
    """Record a payment, write-off or credit on its invoice, then refresh the invoice.

    The invoice is found by ActionPublicId, else by OCR; while it is unknown the event waits.
    Idempotent: one row per (PaymentReferenceId, ActionPublicId).
    """
    invoice = await require_invoice(ctx, payload.action_public_id, ocr=payload.ocr)
    action_public_id = payload.action_public_id or invoice.actionpublicid
    reference = payload.payment_reference_id
    await lock(ctx.session, "payment", f"{reference}|{action_public_id}")
    existing = (
        await ctx.session.scalars(
            select(Payment).where(
                Payment.paymentreferenceid == reference,
                Payment.actionpublicid.is_not_distinct_from(action_public_id),
            )
        )
    ).first()
    kind = PAYMENT_TYPES[ctx.event_type]
    values: dict[str, Any] = {
        "paymentreferenceid": reference,
        "actionpublicid": action_public_id,
        "invoice": invoice.id,
        "creditor": invoice.creditor,
        "creditordebtor": invoice.creditordebtor
        or await _creditordebtor_id(ctx, payload.debtor_public_id),
        "paymenttype": kind,
        "paymentstatus": "received",
        "amount": money(payload.amount),
        "currency": currency(payload.amount) or invoice.currency,
        "paymentdate": local_date(payload.payment_date, ctx.settings.timezone),
        "paymentmeancode": payload.payment_mean_code,
        "ocr": payload.ocr,
        "reference": payload.external_reference,
        "billecta_event_at": ctx.created,
        "billecta_error_message": None,
    }
    if ctx.event_type == "InvoicePaymentReceived":
        values["amount"] = _applied_part(ctx, values["amount"], invoice, existing)
    payment, written = await _upsert(ctx, existing, values)
    ctx.touch("payment", payment.id)
    ctx.touch("invoice", invoice.id)
    if not written:
        ctx.note(f"payment {payment.id}: older than the state applied, nothing changed")
        return
    refresh_invoice(ctx, invoice.id)
    ctx.note(f"{kind} {payment.amount} {payment.currency or ''} on invoice {invoice.id}".strip())


def _applied_part(
    ctx: HandlerContext, amount: Decimal | None, invoice: Invoice, existing: Payment | None
) -> Any:
    """The part of a received payment that paid the invoice: at most what it still owed.

    The rest arrives as an `Overpayment` event. The mirror's balance says what was owed only
    while it predates the payment: a state read after it (a refresh, a backfill) already
    includes it, and the amount is kept. A row already recorded keeps its amount, since the
    balance has moved since (a redelivery must not shrink it).
    """
    if existing is not None and existing.amount is not None:
        return existing.amount
    state_at = invoice.billecta_event_at
    if ctx.created is None or (state_at is not None and state_at >= ctx.created):
        return amount
    owed = invoice.invoice_balance
    if amount is None or owed is None:
        return amount
    return min(amount, max(owed, Decimal(0)))


async def _creditordebtor_id(ctx: HandlerContext, debtor_public_id: str | None) -> int | None:
    link = await creditordebtor_by_public_id(ctx.session, debtor_public_id)
    return link.id if link else None


def _unhandled_status(payload: UnhandledPaymentPayload, default: str) -> str:
    state = (payload.state or "").lower()
    if state == "deleted":
        return "deleted"
    if state.startswith("usedoninvoice"):
        return "usedoninvoice"
    return default


async def _upsert_unhandled(
    ctx: HandlerContext,
    payload: UnhandledPaymentPayload,
    *,
    paymenttype: str,
    paymentstatus: str,
    extra: dict[str, Any],
) -> tuple[Payment, bool]:
    public_id = payload.unhandled_payment_public_id
    creditor = await require_creditor(ctx, payload.creditor_public_id)
    await lock(ctx.session, "unhandledpayment", public_id)
    existing = (
        await ctx.session.scalars(
            select(Payment).where(Payment.unhandledpaymentpublicid == public_id)
        )
    ).first()
    details = payload.overpayment_details
    values: dict[str, Any] = {
        "unhandledpaymentpublicid": public_id,
        "creditor": creditor.id,
        "paymentstatus": _unhandled_status(payload, paymentstatus),
        "amount": money(payload.amount),
        "currency": currency(payload.amount),
        "paymentdate": local_date(payload.payment_date, ctx.settings.timezone),
        "reference": payload.reference,
        "sender_name": payload.sender_name,
        "sender_address": payload.sender_address,
        "sender_zipcode": payload.sender_zip_code,
        "sender_city": payload.sender_city,
        "sender_orgno": payload.sender_org_no,
        "billecta_event_at": ctx.created,
        "billecta_error_message": None,
    }
    if existing is None:
        values |= {
            "paymentreferenceid": public_id,
            "actionpublicid": details.action_public_id if details else None,
            "paymenttype": paymenttype,
        }
    creditordebtor = await _creditordebtor_id(ctx, payload.debtor_public_id)
    if creditordebtor is not None:
        values["creditordebtor"] = creditordebtor
    payment, written = await _upsert(ctx, existing, values | extra)
    # Billecta's state of the payment is now known: an uncertain match or delete is settled.
    await settle_uncertain(ctx.session, limetype="payment", object_id=payment.id, by="webhook")
    return payment, written


@registry.on("UnmatchedPayment", payload=UnhandledPaymentPayload)
async def record_unmatched_payment(ctx: HandlerContext, payload: UnhandledPaymentPayload) -> None:
    """Record a payment Billecta could not match, with its creditor (and creditordebtor)."""
    payment, written = await _upsert_unhandled(
        ctx, payload, paymenttype="unmatched", paymentstatus="unmatched", extra={}
    )
    ctx.touch("payment", payment.id)
    ctx.note(
        f"unmatched payment {payment.id} ({payment.amount} {payment.currency or ''})".strip()
        if written
        else f"payment {payment.id}: older than the state applied, nothing changed"
    )


@registry.on("Overpayment", payload=UnhandledPaymentPayload)
async def record_overpayment(ctx: HandlerContext, payload: UnhandledPaymentPayload) -> None:
    """Record an overpayment, linked to the invoice that was overpaid when it is mirrored."""
    details = payload.overpayment_details
    source = await invoice_by_action(ctx.session, details.action_public_id if details else None)
    extra = {"invoice": source.id} if source else {}
    payment, written = await _upsert_unhandled(
        ctx, payload, paymenttype="overpayment", paymentstatus="overpayment", extra=extra
    )
    ctx.touch("payment", payment.id)
    if source is not None:
        ctx.touch("invoice", source.id)
    ctx.note(
        f"overpayment {payment.id} ({payment.amount} {payment.currency or ''})".strip()
        if written
        else f"payment {payment.id}: older than the state applied, nothing changed"
    )


@registry.on("OverpaymentMatchedToInvoice", payload=UnhandledPaymentPayload)
async def match_overpayment(ctx: HandlerContext, payload: UnhandledPaymentPayload) -> None:
    """Mark an overpayment used on another invoice (`usedoninvoice`) and link that invoice.

    Waits while the invoice it was used on is unknown; then refreshes that invoice.
    """
    details = payload.overpayment_details
    used_on_id = details.used_on_action_public_id if details else None
    if not used_on_id:
        raise NotReady("The event does not say which invoice the overpayment was used on")
    used_on: Invoice = await require_invoice(ctx, used_on_id)
    payment, written = await _upsert_unhandled(
        ctx,
        payload,
        paymenttype="overpayment",
        paymentstatus="usedoninvoice",
        extra={"used_on_invoice": used_on.id, "paymentstatus": "usedoninvoice"},
    )
    ctx.touch("payment", payment.id)
    ctx.touch("invoice", used_on.id)
    if not written:
        ctx.note(f"payment {payment.id}: older than the state applied, nothing changed")
        return
    refresh_invoice(ctx, used_on.id)
    ctx.note(f"overpayment {payment.id} used on invoice {used_on.id}")
