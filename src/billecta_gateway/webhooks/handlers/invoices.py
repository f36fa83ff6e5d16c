"""Invoice events: attest and state changes, reminder invoices, Autogiro withdrawals, delivery.

Invoice fields and status are written only through the invoice-state mapping
(`invoices.state` via `invoices.refresh.apply_billecta_invoice`), never mapped here a second time.
"""

from __future__ import annotations

from typing import Any

from billecta_gateway.billecta.schemas import (
    BillectaInvoiceAction,
    BillectaInvoiceActionInvoice,
    BillectaInvoiceActionState,
)
from billecta_gateway.db import next_gateway_id
from billecta_gateway.invoices.refresh import apply_billecta_invoice, settle_related
from billecta_gateway.invoices.state import DELIVERY_METHOD_FROM_BILLECTA, is_credit_invoice
from billecta_gateway.models import Creditor, Invoice
from billecta_gateway.webhooks.handlers.common import (
    assign,
    creditordebtor_by_public_id,
    invoice_by_action,
    is_older,
    lock,
    require_creditor,
    require_invoice,
    text_of,
)
from billecta_gateway.webhooks.payloads import (
    DeliveryStatusPayload,
    InvoiceActionPayload,
    ReminderInvoicePayload,
)
from billecta_gateway.webhooks.registry import HandlerContext, NotReady, registry

# Stages of an action that is not an invoice yet (an order being edited).
_NOT_AN_INVOICE = frozenset({None, "", "None", "Created", "Unknown"})

# Events that carry the whole InvoiceActionView and are applied through the state mapping. For
# a draft (an order not attested yet) they create no invoice: invoices are created at attest.
INVOICE_STATE_EVENTS = (
    "InvoiceActionAttested",
    "InvoiceActionStateChanged",
    "InvoiceActionPaid",
    "InvoiceActionCreated",
    "InvoiceActionUpdated",
    "InvoiceActionReceived",
    "InvoiceActionOpened",
    "InvoiceActionViewed",
)
# Events that prove the invoice reached the debtor: they clear an "undelivered" note.
DELIVERED_EVENTS = frozenset(
    {"InvoiceActionReceived", "InvoiceActionOpened", "InvoiceActionViewed"}
)
UNDELIVERED_PREFIX = "Not delivered by "
_LIME_TO_BILLECTA_DELIVERY = {v: k for k, v in DELIVERY_METHOD_FROM_BILLECTA.items()}


async def _get_or_create_invoice(
    ctx: HandlerContext, action_public_id: str, defaults: dict[str, Any]
) -> tuple[Invoice, bool]:
    """The invoice with this ActionPublicId, created with `defaults` when new; (row, created)."""
    await lock(ctx.session, "invoice", action_public_id)
    invoice = await invoice_by_action(ctx.session, action_public_id)
    if invoice is not None:
        return invoice, False
    invoice = Invoice(
        id=await next_gateway_id(ctx.session), actionpublicid=action_public_id, **defaults
    )
    ctx.session.add(invoice)
    await ctx.session.flush()
    ctx.created_objects = True
    return invoice, True


async def _party_links(
    ctx: HandlerContext, creditor: Creditor, debtor_public_id: str | None
) -> dict[str, Any]:
    links: dict[str, Any] = {"creditor": creditor.id}
    link = await creditordebtor_by_public_id(ctx.session, debtor_public_id)
    if link is not None:
        links["creditordebtor"] = link.id
        if link.debtor is not None:
            links["debtor"] = link.debtor
    return links


async def _settle(ctx: HandlerContext, invoice: Invoice) -> None:
    for limetype, object_id in await settle_related(ctx.session, invoice):
        ctx.touch(limetype, object_id)


def _keeps_error(ctx: HandlerContext, invoice: Invoice) -> bool:
    """An "undelivered" note stays until an event shows the invoice was delivered."""
    message = invoice.billecta_error_message or ""
    return message.startswith(UNDELIVERED_PREFIX) and ctx.event_type not in DELIVERED_EVENTS


@registry.on(*INVOICE_STATE_EVENTS, payload=InvoiceActionPayload)
async def upsert_invoice(ctx: HandlerContext, payload: InvoiceActionPayload) -> None:
    """Create or update the invoice from Billecta's view: attested, sent, paid, credited...

    A credit note is linked to its original, which becomes `credited` with its order; a paid
    invoice (`InvoiceActionPaid`, or a state change to paid) completes its order. A draft's
    events create nothing. Waits while the creditor, or a credit note's original, is unknown;
    an event older than the last one applied changes nothing.
    """
    apid = payload.action_public_id
    stage = payload.state.stage if payload.state else None
    creditor = await require_creditor(ctx, payload.creditor_public_id)
    existing = await invoice_by_action(ctx.session, apid)
    if existing is None and stage in _NOT_AN_INVOICE:
        ctx.note(f"action {apid} is not an invoice yet (stage {stage}), nothing to mirror")
        return
    original: Invoice | None = None
    source = (payload.crediting_invoice or {}).get("SourcePublicId")
    if is_credit_invoice(payload) and source:
        original = await invoice_by_action(ctx.session, str(source))
        if original is None:
            raise NotReady(f"Invoice {source}, credited by {apid}, is not known to the gateway yet")
    debtor_public_id = payload.debtor.debtor_public_id if payload.debtor else None
    links = await _party_links(ctx, creditor, debtor_public_id)
    invoice, created = await _get_or_create_invoice(ctx, apid, links)
    ctx.touch("invoice", invoice.id)
    if not created and is_older(invoice.billecta_event_at, ctx.created):
        # A refresh applied a newer state first; what it means for the order still holds.
        await _settle(ctx, invoice)
        ctx.note(f"invoice {invoice.id}: older than the state applied, nothing changed")
        return
    assign(invoice, {k: v for k, v in links.items() if getattr(invoice, k) is None})
    await apply_billecta_invoice(
        ctx.session, invoice, payload, settings=ctx.settings, observed_at=ctx.created
    )
    if not _keeps_error(ctx, invoice):
        assign(invoice, {"billecta_error_message": None})
    await _settle(ctx, invoice)
    verb = "created" if created else "updated"
    ctx.note(f"invoice {invoice.id} {verb} ({invoice.invoicestatus or stage})")


def _reminder_as_action(payload: ReminderInvoicePayload) -> BillectaInvoiceAction:
    """A ReminderInvoiceActionView in InvoiceActionView terms, for the one state mapping."""
    documents = payload.reminder_invoices or []
    last = documents[-1] if documents else None
    return BillectaInvoiceAction(
        action_public_id=payload.action_public_id,
        creditor_public_id=payload.creditor_public_id,
        created=payload.created,
        state=BillectaInvoiceActionState(stage=payload.stage, closed_date=payload.closed_date),
        invoices=[
            BillectaInvoiceActionInvoice(
                invoice_date=d.invoice_date,
                due_date=d.due_date,
                invoice_number=d.invoice_number,
                invoiced_amount=d.invoiced_amount,
                invoice_file=d.invoice_file,
                ocr=d.ocr,
            )
            for d in documents
        ],
        invoice_date=last.invoice_date if last else None,
        due_date=last.due_date if last else None,
        invoice_number=last.invoice_number if last else None,
        invoiced_amount=last.invoiced_amount if last else None,
        current_amount=payload.current_value,
    )


@registry.on("ReminderInvoiceActionCreated", payload=ReminderInvoicePayload)
async def upsert_reminder_invoice(ctx: HandlerContext, payload: ReminderInvoicePayload) -> None:
    """Create or update a reminder invoice, linked to the invoice it reminds of.

    Waits while that source invoice is unknown.
    """
    source = await require_invoice(ctx, payload.source_action_public_id)
    defaults = {
        "is_reminder_invoice": True,
        "source_invoice": source.id,
        "creditor": source.creditor,
        "debtor": source.debtor,
        "creditordebtor": source.creditordebtor,
        "contract": source.contract,
    }
    reminder, created = await _get_or_create_invoice(ctx, payload.action_public_id, defaults)
    ctx.touch("invoice", reminder.id)
    ctx.touch("invoice", source.id)
    if not created and is_older(reminder.billecta_event_at, ctx.created):
        ctx.note(f"reminder invoice {reminder.id}: older than the state applied, nothing changed")
        return
    assign(reminder, {"is_reminder_invoice": True, "source_invoice": source.id})
    await apply_billecta_invoice(
        ctx.session,
        reminder,
        _reminder_as_action(payload),
        settings=ctx.settings,
        observed_at=ctx.created,
    )
    verb = "created" if created else "updated"
    ctx.note(f"reminder invoice {reminder.id} {verb} for invoice {source.id}")


_WITHDRAWAL = {
    "AutogiroWithdrawalFailedOnInvoice": ("failed", "Autogiro withdrawal failed"),
    "AutogiroWithdrawalRenewedOnInvoice": (
        "renewed",
        "Autogiro withdrawal failed and is renewed for a new attempt",
    ),
}


@registry.on(*_WITHDRAWAL, payload=InvoiceActionPayload)
async def update_autogiro_withdrawal(ctx: HandlerContext, payload: InvoiceActionPayload) -> None:
    """Record an Autogiro withdrawal's outcome (failed, renewed) on the invoice."""
    invoice = await require_invoice(ctx, payload.action_public_id)
    status, default_message = _WITHDRAWAL[ctx.event_type]
    assign(
        invoice,
        {
            "autogiro_withdrawal_status": status,
            "autogiro_withdrawal_message": text_of(ctx.additional_data) or default_message,
        },
    )
    ctx.touch("invoice", invoice.id)
    ctx.note(f"invoice {invoice.id}: Autogiro withdrawal {status}")


@registry.on("UndeliveredInvoice", payload=DeliveryStatusPayload)
async def record_delivery_status(ctx: HandlerContext, payload: DeliveryStatusPayload) -> None:
    """Write "Not delivered by <method>: <Reason>" on the invoice; a delivered status clears it.

    Waits while the invoice is unknown.
    """
    invoice = await require_invoice(ctx, payload.action_public_id)
    ctx.touch("invoice", invoice.id)
    current = invoice.billecta_error_message or ""
    if payload.delivered:
        if current.startswith(UNDELIVERED_PREFIX):
            assign(invoice, {"billecta_error_message": None})
        ctx.note(f"invoice {invoice.id}: delivered")
        return
    method = _LIME_TO_BILLECTA_DELIVERY.get(invoice.deliverymethod or "", "its delivery method")
    reason = (payload.reason or "").strip() or "no reason given"
    assign(invoice, {"billecta_error_message": f"{UNDELIVERED_PREFIX}{method}: {reason}"})
    ctx.note(f"invoice {invoice.id}: not delivered by {method}")
