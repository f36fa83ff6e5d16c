"""THE mapping from Billecta's ``InvoiceActionView`` to an invoice's fields and status.

DESIGN §3.8: invoice state has one owner.

Every writer of invoice rows uses it: the webhook handlers, the refresh job and the expiry cron.
The mapping is pure: it takes the view, today's date and the business time zone and returns an
:class:`InvoiceState`; :func:`apply_invoice_state` writes that onto a mirrored invoice.

Status (``invoicestatus`` option keys), from Billecta's stage:

- ``Created`` (an unattested order): no invoice status; the stored one is kept.
- ``Attested``: ``attested``.
- ``InvoiceSent``, ``ReminderInvoiceSent``, ``SentToDebtCollection`` and every other open stage
  (``Manual``, sales requests...): ``sent``; ``subpaid`` when part of it is paid; ``expired``
  when a balance is still owed after ``invoice_expires`` (the due date) in the business time zone.
  Being derived from the date, a refresh never turns an expired invoice back into ``sent``.
- ``Completed``: ``paid``; ``credited`` when credits, not payments, closed it.
- ``Cancelled``: ``cancelled``.
- Credited: an invoice whose credited amount covers its invoiced amount, or whose current
  amount credits alone brought to 0, is ``credited`` whatever its stage (except ``Cancelled``):
  the credit note cancelled the claim.
- Credit invoices (``ActionType`` ``CreditInvoiceAction``, or a ``CreditingInvoice`` reference)
  are ``credited`` from attest on (``cancelled`` when cancelled). A credit note is money owed to
  the debtor, never a claim, so it can be neither ``expired`` nor ``subpaid``; its negative
  balance is the credit still available to use on another invoice.

Amounts are exact Decimals from the AmountViews' minor units (never from ``ValueForView``).
Billecta date-times without an offset are read as business-local time; with one, they are
converted to the business time zone before taking the date.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from billecta_gateway.billecta.schemas import BillectaAmount, BillectaInvoiceAction
from billecta_gateway.models import Invoice

CREDIT_INVOICE_ACTION = "CreditInvoiceAction"
OPEN_STATUSES = frozenset({"sent", "subpaid", "expired"})
_ZERO = Decimal(0)

# Billecta DeliveryMethodType names → Lime option keys (DESIGN §4).
DELIVERY_METHOD_FROM_BILLECTA: dict[str, str] = {
    "Email": "email",
    "Mail": "mail",
    "SMS": "sms",
    "EInvoice": "einvoice",
    "Kivra": "kivra",
    "Manually": "manual",
}


@dataclass(frozen=True)
class InvoiceState:
    """What Billecta says about an invoice, in the mirror's terms.

    ``None`` in an identifying field (number, OCR, dates, currency...) means Billecta did not
    say, and :func:`apply_invoice_state` keeps the stored value; ``status`` None means the stage
    gives no invoice status (an unattested action).
    """

    status: str | None
    billecta_stage: str | None
    invoicenumber: str | None
    ocr: str | None
    invoicedate: date | None
    invoice_expires: date | None
    invoice_sent_date: date | None
    paid_date: date | None
    invoice_amount: Decimal | None
    invoice_balance: Decimal | None
    paid_amount: Decimal | None
    credited_amount: Decimal | None
    writtenoff_amount: Decimal | None
    vat_amount: Decimal | None
    currency: str | None
    deliverymethod: str | None
    is_credit_invoice: bool
    credited_source_public_id: str | None
    disputed: bool
    paused: bool
    next_event: str | None
    next_event_date: date | None


def local_date(value: datetime | None, tz: ZoneInfo) -> date | None:
    """The business-local date of a Billecta date-time (naive values are already local)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.date()
    return value.astimezone(tz).date()


def _amount(value: BillectaAmount | None) -> Decimal | None:
    return None if value is None else value.to_decimal()


def _extra_amount(action: BillectaInvoiceAction, name: str) -> Decimal | None:
    raw: Any = (action.model_extra or {}).get(name)
    if not isinstance(raw, dict):
        return None
    try:
        return BillectaAmount.model_validate(raw).to_decimal()
    except ValueError:
        return None


def is_credit_invoice(action: BillectaInvoiceAction) -> bool:
    """True for a credit note (Billecta's ``CreditInvoiceAction`` or a ``CreditingInvoice``)."""
    return action.action_type == CREDIT_INVOICE_ACTION or bool(_crediting_source(action))


def _crediting_source(action: BillectaInvoiceAction) -> str | None:
    source = (action.crediting_invoice or {}).get("SourcePublicId")
    return str(source) if source else None


def open_status(
    *,
    balance: Decimal | None,
    paid: Decimal | None,
    invoice_expires: date | None,
    today: date,
) -> str:
    """``sent``, ``subpaid`` or ``expired`` for an invoice that is still open.

    ``expired``: a balance is still owed after the due date. ``subpaid``: partly paid.
    The expiry cron uses this too, so the rule lives in one place.
    """
    owed = balance is not None and balance > _ZERO
    if owed and invoice_expires is not None and invoice_expires < today:
        return "expired"
    if owed and paid is not None and paid > _ZERO:
        return "subpaid"
    return "sent"


def _status(
    *,
    stage: str | None,
    credit_note: bool,
    invoiced: Decimal | None,
    balance: Decimal | None,
    paid: Decimal | None,
    credited: Decimal | None,
    invoice_expires: date | None,
    today: date,
) -> str | None:
    if stage == "Cancelled":
        return "cancelled"
    if stage in (None, "", "None", "Created", "Unknown"):
        return None
    if credit_note:
        return "credited"
    fully_credited = (
        invoiced is not None
        and invoiced > _ZERO
        and credited is not None
        and abs(credited) >= invoiced
    )
    if fully_credited:
        return "credited"
    settled_by_credits = (
        credited is not None
        and credited != _ZERO
        and balance is not None
        and balance <= _ZERO
        and (paid is None or paid <= _ZERO)
    )
    if settled_by_credits:
        return "credited"
    if stage == "Attested":
        return "attested"
    if stage == "Completed":
        if (paid is None or paid <= _ZERO) and credited is not None and credited != _ZERO:
            return "credited"
        return "paid"
    return open_status(balance=balance, paid=paid, invoice_expires=invoice_expires, today=today)


def invoice_state(action: BillectaInvoiceAction, *, today: date, tz: ZoneInfo) -> InvoiceState:
    """Map one InvoiceActionView to the invoice's fields and status (see the module docstring)."""
    state = action.state
    stage = state.stage if state else None
    documents = action.invoices or []
    first = documents[0] if documents else None
    last = documents[-1] if documents else None

    invoiced = _amount(action.invoiced_amount)
    balance = _amount(action.current_amount)
    paid = _amount(action.paid_amount)
    credited = _amount(action.credited_amount)
    written_off = _amount(action.write_off_amount)
    if balance is None and stage == "Completed":
        balance = _ZERO

    due = action.due_date or (first.due_date if first else None)
    invoice_expires = local_date(due, tz)
    credit_note = is_credit_invoice(action)
    status = _status(
        stage=stage,
        credit_note=credit_note,
        invoiced=invoiced,
        balance=balance,
        paid=paid,
        credited=credited,
        invoice_expires=invoice_expires,
        today=today,
    )
    currency = next(
        (
            a.currency_code
            for a in (action.invoiced_amount, action.current_amount)
            if a is not None and a.currency_code
        ),
        None,
    )
    closed = local_date(state.closed_date, tz) if state else None
    return InvoiceState(
        status=status,
        billecta_stage=stage,
        invoicenumber=action.invoice_number or (last.invoice_number if last else None),
        ocr=(last.ocr if last else None),
        invoicedate=local_date(action.invoice_date or (first.invoice_date if first else None), tz),
        invoice_expires=invoice_expires,
        invoice_sent_date=local_date(state.invoice_sent_date, tz) if state else None,
        paid_date=closed if status == "paid" else None,
        invoice_amount=invoiced,
        invoice_balance=balance,
        paid_amount=paid,
        credited_amount=credited,
        writtenoff_amount=written_off,
        vat_amount=_extra_amount(action, "TotalVATAmount"),
        currency=currency.upper() if currency else None,
        deliverymethod=DELIVERY_METHOD_FROM_BILLECTA.get(action.delivery_method or ""),
        is_credit_invoice=credit_note,
        credited_source_public_id=_crediting_source(action),
        disputed=bool(state and state.disputed_date),
        paused=bool(state and state.is_paused),
        next_event=(state.next_event or None) if state else None,
        next_event_date=local_date(state.next_event_date, tz) if state else None,
    )


# Fields Billecta may leave out: the stored value is kept when the state has None.
_KEEP_WHEN_UNKNOWN = frozenset(
    {
        "status",
        "invoicenumber",
        "ocr",
        "invoicedate",
        "invoice_expires",
        "invoice_sent_date",
        "invoice_amount",
        "invoice_balance",
        "paid_amount",
        "credited_amount",
        "writtenoff_amount",
        "vat_amount",
        "currency",
        "deliverymethod",
    }
)
_COLUMN_FOR: dict[str, str] = {"status": "invoicestatus"}
_NOT_COLUMNS = frozenset({"credited_source_public_id"})


def apply_invoice_state(invoice: Invoice, state: InvoiceState) -> list[str]:
    """Write ``state`` onto ``invoice``; returns the names of the columns that changed.

    ``credited_source_public_id`` is not written here: linking the credit note to the original
    needs a lookup, done by the caller (``credited_invoice``).
    """
    changed: list[str] = []
    for item in fields(state):
        name = item.name
        if name in _NOT_COLUMNS:
            continue
        value = getattr(state, name)
        if value is None and name in _KEEP_WHEN_UNKNOWN:
            continue
        column = _COLUMN_FOR.get(name, name)
        if getattr(invoice, column) != value:
            setattr(invoice, column, value)
            changed.append(column)
    return changed
