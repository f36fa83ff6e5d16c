"""Invoice operations run directly against Billecta inside the request (spec: Invoice handlers).

Every function checks the invoice and its Billecta id before calling Billecta, writes a failure
to the invoice's ``billecta_error_message`` and clears it on success. Nothing here commits; the
route does, once (see :func:`billecta_gateway.invoices.operations.perform`).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta.errors import BillectaApiRequestException
from billecta_gateway.billecta.schemas import (
    BillectaAmount,
    BillectaDebtCollectionFromInvoiceEntry,
    BillectaFile,
    BillectaInvoiceAction,
    BillectaRegisterPayment,
    BillectaSendReminderInvoice,
)
from billecta_gateway.config import Settings
from billecta_gateway.errors import InvalidInput
from billecta_gateway.invoices import outcomes, refresh
from billecta_gateway.invoices.operations import (
    ErrorStyle,
    call_billecta,
    error_message_body,
    find_by,
    load,
    message_body,
    status_error_message_body,
    status_message_body,
    succeeded,
)
from billecta_gateway.invoices.schemas import (
    DELIVERY_METHOD_TO_BILLECTA,
    DebtCollectionCreate,
    ManualPaymentCreate,
    ReminderInvoiceCreate,
    WriteOffCreate,
)
from billecta_gateway.invoices.state import local_date
from billecta_gateway.models import Creditor, DebtCollection, Invoice
from billecta_gateway.queue import AfterCommit

logger = logging.getLogger("billecta_gateway.invoices")

MISSING_INVOICE = "Invoice not found or missing Billecta invoice ID"
IN_DEBT_COLLECTION = "SentToDebtCollection"
MISSING_ACTION_PUBLIC_ID = "Invoice missing ActionPublicId"
POSTPONE_DAYS_MESSAGE = "postpone_days must be a positive integer"
DEFAULT_CURRENCY = "SEK"

# How each endpoint answers failures (spec 003, endpoint by endpoint; README table).
MANUAL_PAYMENT = ErrorStyle(status_error_message_body, missing_status=500, billecta_status=500)
WRITE_OFF = ErrorStyle(status_message_body, missing_status=500, billecta_status=500)
USE_CREDIT = ErrorStyle(message_body, missing_status=404, billecta_status=500)
INVOICE_STATE_CHANGE = ErrorStyle(error_message_body, missing_status=404, billecta_status=500)
REMINDER = ErrorStyle(error_message_body, missing_status=500, billecta_status=500)
DEBT_COLLECTION = ErrorStyle(error_message_body, missing_status=500, billecta_status=500)
NEXT_EVENT = ErrorStyle(error_message_body, missing_status=404)
POSTPONE = ErrorStyle(error_message_body, missing_status=404)
PDF = ErrorStyle(error_message_body, missing_status=404)


def _amount(amount: Decimal, currency: str, field: str) -> BillectaAmount:
    """Major units to Billecta's minor units, exactly; a sub-unit amount is a 422."""
    try:
        return BillectaAmount.from_decimal(amount, currency)
    except ValueError as exc:
        raise InvalidInput(
            f"Invalid request: {field}: {exc}",
            errors=[{"loc": ["body", field], "field": field, "message": str(exc), "type": "value"}],
        ) from None


async def invoice_in_billecta(
    session: AsyncSession, invoice_id: int, style: ErrorStyle, message: str | None = None
) -> tuple[Invoice, str]:
    """The invoice and its ``actionpublicid``; ``style.missing`` when either is missing."""
    invoice = await load(session, Invoice, invoice_id)
    if invoice is None:
        raise style.missing(message or f"Invoice {invoice_id} not found")
    if not invoice.actionpublicid:
        raise style.missing(
            message or f"Invoice {invoice_id} has no actionpublicid: it is not in Billecta"
        )
    return invoice, invoice.actionpublicid


async def invoice_by_action_public_id(
    session: AsyncSession, action_public_id: str | None, style: ErrorStyle
) -> Invoice:
    """The mirrored invoice with this Billecta id; ``style.missing`` when there is none."""
    if not action_public_id or not action_public_id.strip():
        raise style.missing(MISSING_ACTION_PUBLIC_ID)
    invoice = await find_by(session, Invoice, Invoice.actionpublicid, action_public_id.strip())
    if invoice is None:
        raise style.missing(f"No invoice with ActionPublicId {action_public_id.strip()}")
    return invoice


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


async def register_manual_payment(
    session: AsyncSession, *, billecta: BillectaClient, body: ManualPaymentCreate
) -> Invoice:
    """Register a payment made outside Billecta on the invoice (never re-sent by the client).

    A payment in another currency than the invoice's is refused (422). The operation's
    reference travels as ``PaymentReferenceText``, so a refresh can tell an uncertain one.
    """
    invoice, action_id = await invoice_in_billecta(session, body.invoice_id, MANUAL_PAYMENT)
    currency = body.payment_currencycode.upper()
    if invoice.currency and invoice.currency.upper() != currency:
        message = (
            f"payment_currencycode {currency} differs from the currency of invoice "
            f"{invoice.id}, {invoice.currency.upper()}"
        )
        raise InvalidInput(
            f"Invalid request: {message}",
            errors=[
                {
                    "loc": ["body", "payment_currencycode"],
                    "field": "payment_currencycode",
                    "message": message,
                    "type": "currency_mismatch",
                }
            ],
        )
    payment = BillectaRegisterPayment(
        action_public_id=action_id,
        amount=_amount(body.payment_amount, currency, "payment_amount"),
        payment_date=midnight(body.payment_date),
        payment_mean_code=body.payment_mean_code or None,
        payment_reference_text=outcomes.current_reference(),
    )
    await call_billecta(
        billecta.register_payment(payment),
        style=MANUAL_PAYMENT,
        what="Could not register the payment in Billecta",
        obj=invoice,
    )
    succeeded(invoice)
    return invoice


async def register_writeoff_payment(
    session: AsyncSession, *, billecta: BillectaClient, body: WriteOffCreate
) -> Invoice:
    """Write off an amount on the invoice, with its VAT rate and comment."""
    invoice, action_id = await invoice_in_billecta(session, body.invoiceid, WRITE_OFF)
    currency = (invoice.currency or DEFAULT_CURRENCY).upper()
    payment = BillectaRegisterPayment(
        action_public_id=action_id,
        amount=BillectaAmount.from_decimal(Decimal(0), currency),
        write_off=_amount(body.amount, currency, "amount"),
        write_off_vat=body.vat,
        comment=body.comment or None,
        payment_date=midnight(body.paymentdate),
        payment_reference_text=outcomes.current_reference(),
    )
    await call_billecta(
        billecta.register_payment(payment),
        style=WRITE_OFF,
        what="Could not register the write-off in Billecta",
        obj=invoice,
    )
    succeeded(invoice)
    return invoice


def current_amount(action: BillectaInvoiceAction) -> Decimal:
    """What Billecta says is still owed on the action (negative: credit left on a credit note)."""
    return action.current_amount.to_decimal() if action.current_amount else Decimal(0)


async def refresh_after(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    invoice: Invoice,
    jobs: AfterCommit,
) -> None:
    """Read the invoice back after a change; when Billecta cannot answer now, a job does it."""
    try:
        await refresh.refresh_loaded_invoice(
            session, billecta=billecta, invoice=invoice, settings=settings, record_error=False
        )
    except BillectaApiRequestException as exc:
        logger.warning("invoice %s refresh deferred to a job: %s", invoice.id, exc.message)
        jobs.add(refresh.REFRESH_JOB, invoice.id)


@dataclass(frozen=True)
class StateChange:
    """One of the invoice state changes (dispute, undispute, pause, resume)."""

    method: str
    what: str
    refresh: bool


DISPUTE = StateChange("dispute_invoice", "Could not dispute the invoice in Billecta", True)
UNDISPUTE = StateChange(
    "undispute_invoice", "Could not cancel the invoice's dispute in Billecta", True
)
PAUSE = StateChange("pause_invoice", "Could not pause the invoice in Billecta", True)
RESUME = StateChange("resume_invoice", "Could not resume the invoice in Billecta", True)


async def change_invoice_state(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    invoice_id: int,
    change: StateChange,
    jobs: AfterCommit,
) -> Invoice:
    """Dispute, undispute, pause or resume an invoice in Billecta.

    Each then reads the invoice back, so the mirror shows the new state at once.
    """
    invoice, action_id = await invoice_in_billecta(
        session, invoice_id, INVOICE_STATE_CHANGE, MISSING_INVOICE
    )
    call = getattr(billecta, change.method)(action_id)
    await call_billecta(call, style=INVOICE_STATE_CHANGE, what=change.what, obj=invoice)
    succeeded(invoice)
    if change.refresh:
        await refresh_after(
            session, billecta=billecta, settings=settings, invoice=invoice, jobs=jobs
        )
    return invoice


async def create_reminder_invoice(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    invoice: Invoice,
    body: ReminderInvoiceCreate,
    jobs: AfterCommit,
) -> str | None:
    """Create and send a reminder invoice with its fee and terms; its id if Billecta gives one.

    Any 2xx is a success (the spec's answer is an empty body); the invoice is then read back.
    """
    action_id = invoice.actionpublicid or ""
    reminder = BillectaSendReminderInvoice(
        invoice_action_public_id=action_id,
        delivery_method=DELIVERY_METHOD_TO_BILLECTA[body.delivery_method],
        reminder_fee=_amount(body.reminder_fee, body.currency_code, "reminder_fee"),
        payment_terms_in_days=body.payment_terms_in_days,
    )
    created = await call_billecta(
        billecta.create_reminder_invoice(reminder),
        style=REMINDER,
        what="Could not create the reminder invoice in Billecta",
        obj=invoice,
    )
    succeeded(invoice)
    await refresh_after(session, billecta=billecta, settings=settings, invoice=invoice, jobs=jobs)
    return created


async def _refuse_when_in_debt_collection(session: AsyncSession, invoice: Invoice) -> None:
    """409 when the invoice is already in debt collection (stage, or a linked case)."""
    case_id = await session.scalar(
        select(DebtCollection.id).where(DebtCollection.invoice == invoice.id).limit(1)
    )
    if invoice.billecta_stage == IN_DEBT_COLLECTION or case_id is not None:
        where = f" (debt collection {case_id})" if case_id is not None else ""
        raise DEBT_COLLECTION.conflict(f"Invoice {invoice.id} is already in debt collection{where}")


async def send_to_debt_collection(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    body: DebtCollectionCreate,
    jobs: AfterCommit,
) -> Invoice:
    """Hand the invoice over to debt collection, then read it back from Billecta."""
    invoice, action_id = await invoice_in_billecta(
        session, body.invoice_id, DEBT_COLLECTION, MISSING_INVOICE
    )
    await _refuse_when_in_debt_collection(session, invoice)
    creditor = await load(session, Creditor, invoice.creditor) if invoice.creditor else None
    if creditor is None or not creditor.creditorpublicid:
        message = f"The creditor of invoice {invoice.id} is missing or not configured in Billecta"
        invoice.billecta_error_message = message
        raise DEBT_COLLECTION.missing(message)
    extra: dict[str, Any] = {}
    if body.reason_for_higher_interest:
        extra["ReasonForHigherInterest"] = body.reason_for_higher_interest
    entry = BillectaDebtCollectionFromInvoiceEntry(
        source_public_id=action_id,
        delivery_method=DELIVERY_METHOD_TO_BILLECTA[body.delivery_method],
        our_reference=body.our_reference or None,
        reason_description=body.reason_description or None,
        **extra,
    )
    await call_billecta(
        billecta.send_invoice_to_debt_collection(entry),
        style=DEBT_COLLECTION,
        what="Could not send the invoice to debt collection in Billecta",
        obj=invoice,
    )
    succeeded(invoice)
    await refresh_after(session, billecta=billecta, settings=settings, invoice=invoice, jobs=jobs)
    return invoice


async def invoice_next_event_date(
    session: AsyncSession, *, billecta: BillectaClient, settings: Settings, invoice_id: int
) -> date | None:
    """The date of the invoice's next scheduled event in Billecta (None when none)."""
    _, action_id = await invoice_in_billecta(session, invoice_id, NEXT_EVENT, MISSING_INVOICE)
    action = await call_billecta(
        billecta.get_invoice_action(action_id),
        style=NEXT_EVENT,
        what="Could not read the invoice from Billecta",
    )
    return local_date(action.state.next_event_date if action.state else None, settings.timezone)


async def postpone_invoice_next_event(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    invoice_id: int,
    postpone_days: int,
) -> date:
    """Move the invoice's next event ``postpone_days`` later; returns the new date.

    The base is the next event date Billecta reports (its due date when no event is
    scheduled); an invoice with neither cannot be postponed (409).
    """
    invoice, action_id = await invoice_in_billecta(session, invoice_id, POSTPONE, MISSING_INVOICE)
    what = "Could not postpone the invoice's next event in Billecta"
    action = await call_billecta(
        billecta.get_invoice_action(action_id), style=POSTPONE, what=what, obj=invoice
    )
    tz = settings.timezone
    base = local_date(action.state.next_event_date if action.state else None, tz) or local_date(
        action.due_date, tz
    )
    if base is None:
        raise POSTPONE.conflict(f"Invoice {invoice.id} has no scheduled event to postpone")
    new_date = base + timedelta(days=postpone_days)
    await call_billecta(
        billecta.postpone_invoice(action_id, new_date), style=POSTPONE, what=what, obj=invoice
    )
    succeeded(invoice)
    return new_date


@dataclass(frozen=True)
class InvoicePdf:
    """An invoice PDF as Billecta stores it."""

    data: bytes
    filename: str
    content_type: str
    file_public_id: str

    def base64(self) -> str:
        """The content base64-encoded (what ``fetch-invoice-pdf`` answers)."""
        return base64.b64encode(self.data).decode("ascii")


def _invoice_file(action: BillectaInvoiceAction) -> BillectaFile | None:
    for document in reversed(action.invoices or []):
        if document.invoice_file is not None and document.invoice_file.file_public_id:
            return document.invoice_file
    return None


async def fetch_invoice_pdf(
    session: AsyncSession, *, billecta: BillectaClient, invoice: Invoice, record_error: bool
) -> InvoicePdf:
    """Download the invoice's latest PDF from Billecta (409 when Billecta has none yet)."""
    action_id = invoice.actionpublicid or ""
    what = "Could not fetch the invoice PDF from Billecta"
    obj = invoice if record_error else None
    action = await call_billecta(
        billecta.get_invoice_action(action_id), style=PDF, what=what, obj=obj
    )
    file_ref = _invoice_file(action)
    if file_ref is None or not file_ref.file_public_id:
        raise PDF.conflict(f"Billecta has no PDF for invoice {invoice.id} yet")
    data = await call_billecta(
        billecta.get_file_bytes(file_ref.file_public_id), style=PDF, what=what, obj=obj
    )
    number = action.invoice_number or invoice.invoicenumber or str(invoice.id)
    filename = file_ref.file_name or f"invoice-{number}.pdf"
    return InvoicePdf(
        data=data,
        filename=filename,
        content_type=file_ref.content_type or "application/pdf",
        file_public_id=file_ref.file_public_id,
    )
