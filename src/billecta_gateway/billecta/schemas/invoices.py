"""Invoice actions: entries, views, list rows, payments, credits and reminders on them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from billecta_gateway.billecta.schemas.base import (
    BillectaActionEvent,
    BillectaAmount,
    BillectaDateTime,
    BillectaDecimal,
    BillectaFile,
    BillectaModel,
)
from billecta_gateway.billecta.schemas.parties import BillectaDebtor


class BillectaDebtCollectionDetails(BillectaModel):
    """DebtCollectionDetailsView: automatic hand-over of an unpaid invoice."""

    send_to_debt_collection: bool | None = None
    start_debt_collection_action_level: str | None = None
    end_debt_collection_action_level: str | None = None
    number_of_reminders: int | None = None
    days_delay_after_due_date: int | None = None
    payment_terms_in_days: int | None = None
    eviction: bool | None = None
    inform_social_welfare: bool | None = None


class BillectaInvoiceActionRecord(BillectaModel):
    """InvoiceActionRecordView: one invoice row."""

    product_public_id: str | None = None
    sequence_no: int | None = None
    units: str | None = None
    article_description: str | None = None
    quantity: BillectaDecimal | None = None
    unit_price: BillectaAmount | None = None
    discount_amount: BillectaAmount | None = None
    discount_percentage: BillectaDecimal | None = None
    discount_type: str | None = None
    vat: BillectaDecimal | None = Field(default=None, alias="VAT")
    period_start: BillectaDateTime | None = None
    period_end: BillectaDateTime | None = None
    record_type: str | None = None
    vat_is_included: bool | None = None
    hidden: bool | None = None


class BillectaInvoiceActionEntry(BillectaModel):
    """InvoiceActionEntryView: body that creates or updates an unattested invoice action."""

    action_type: str | None = None
    creditor_public_id: str
    debtor_public_id: str
    invoice_date: BillectaDateTime
    due_date: BillectaDateTime
    delivery_date: BillectaDateTime | None = None
    records: list[BillectaInvoiceActionRecord]
    interest_percentage: BillectaDecimal | None = None
    interest_type: str | None = None
    our_reference: str | None = None
    your_reference: str | None = None
    delivery_method: str | None = None
    communication_language: str | None = None
    message: str | None = None
    invoice_number: str | None = None
    invoice_fee: BillectaAmount | None = None
    vat_is_included: bool | None = None
    debt_collection_details: BillectaDebtCollectionDetails | None = None
    reminder_invoice_details: dict[str, Any] | None = None
    crediting_invoice_public_id: str | None = None
    external_reference: str | None = None
    use_debtor_balance: bool | None = None


class BillectaInvoiceActionState(BillectaModel):
    """InvoiceActionStateView: stage, next event and the dates of state changes."""

    stage: str | None = None
    invoice_sent_date: BillectaDateTime | None = None
    next_event_date: BillectaDateTime | None = None
    closed_date: BillectaDateTime | None = None
    next_event: str | None = None
    is_paused: bool | None = None
    attested_date: BillectaDateTime | None = None
    disputed_date: BillectaDateTime | None = None


class BillectaInvoiceActionInvoice(BillectaModel):
    """InvoiceActionInvoiceView: one sent invoice document (with its PDF reference)."""

    invoice_date: BillectaDateTime | None = None
    due_date: BillectaDateTime | None = None
    invoice_number: str | None = None
    invoice_decription: str | None = None
    invoiced_amount: BillectaAmount | None = None
    invoice_file: BillectaFile | None = None
    ocr: str | None = Field(default=None, alias="OCR")


class BillectaInvoiceAction(BillectaModel):
    """InvoiceActionView: an invoice (or order, before attest) as Billecta reports it."""

    action_public_id: str | None = None
    creditor_public_id: str | None = None
    action_type: str | None = None
    created: BillectaDateTime | None = None
    delivery_method: str | None = None
    debtor: BillectaDebtor | None = None
    state: BillectaInvoiceActionState | None = None
    invoices: list[BillectaInvoiceActionInvoice] | None = None
    records: list[BillectaInvoiceActionRecord] | None = None
    events: list[BillectaActionEvent] | None = None
    invoice_date: BillectaDateTime | None = None
    due_date: BillectaDateTime | None = None
    invoice_number: str | None = None
    external_reference: str | None = None
    invoiced_amount: BillectaAmount | None = None
    interest_amount: BillectaAmount | None = None
    current_amount: BillectaAmount | None = None
    credited_amount: BillectaAmount | None = None
    paid_amount: BillectaAmount | None = None
    write_off_amount: BillectaAmount | None = None
    debt_collection_action_public_id: str | None = None
    reminder_invoice_action_public_id: str | None = None
    crediting_invoice: dict[str, Any] | None = None
    can_pause: bool | None = None
    can_resume: bool | None = None
    can_postpone: bool | None = None
    can_dispute: bool | None = None
    can_un_dispute: bool | None = None


class BillectaInvoiceActionSub(BillectaModel):
    """InvoiceActionSubView: one row of the open/closed/search invoice lists."""

    action_public_id: str | None = None
    creditor_public_id: str | None = None
    debtor_public_id: str | None = None
    debtor_name: str | None = None
    current_amount: BillectaAmount | None = None
    invoiced_amount: BillectaAmount | None = None
    stage: str | None = None
    action_type: str | None = None
    invoice_date: BillectaDateTime | None = None
    due_date: BillectaDateTime | None = None
    invoice_sent_date: BillectaDateTime | None = None
    closed_date: BillectaDateTime | None = None
    next_event_date: BillectaDateTime | None = None
    next_event: str | None = None
    invoice_number: str | None = None
    ocr: str | None = Field(default=None, alias="OCR")
    is_paused: bool | None = None
    is_disputed: bool | None = None
    debt_collection_action_public_id: str | None = None


class BillectaRegisterPayment(BillectaModel):
    """RegisterPaymentView: a manual payment and/or write-off on an invoice."""

    action_public_id: str
    amount: BillectaAmount | None = None
    write_off: BillectaAmount | None = None
    write_off_vat: BillectaDecimal | None = None
    comment: str | None = None
    payment_date: BillectaDateTime = Field(alias="Date")
    payment_mean_code: str | None = None
    overshooting_amount_handling: str | None = None
    payment_reference_text: str | None = None


class BillectaCreditAction(BillectaModel):
    """CreditActionView: credit an amount on an invoice (or use a credit as payment)."""

    action_public_id: str
    value: BillectaAmount
    invoice_interest: bool | None = None
    comment: str | None = None
    is_payment_creditation: bool | None = None
    payment_mean_code: str | None = None
    payment_date: BillectaDateTime | None = None
    # The gateway's own field (not in Billecta's CreditActionView, unconfirmed): the credit
    # note whose credit is used, so a server that models credit notes can draw it down.
    credit_invoice_action_public_id: str | None = None


class BillectaSendReminderInvoice(BillectaModel):
    """SendReminderInvoiceView: create and send a reminder for an invoice."""

    invoice_action_public_id: str
    delivery_method: str | None = None
    reminder_fee: BillectaAmount | None = None
    payment_terms_in_days: int | None = None
