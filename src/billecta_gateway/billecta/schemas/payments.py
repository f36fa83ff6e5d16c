"""Debt collection, incoming and unhandled payments, Swish and search."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from billecta_gateway.billecta.schemas.base import (
    BillectaActionEvent,
    BillectaAmount,
    BillectaDateTime,
    BillectaDecimal,
    BillectaModel,
)
from billecta_gateway.billecta.schemas.invoices import BillectaInvoiceActionSub
from billecta_gateway.billecta.schemas.parties import BillectaDebtor


class BillectaDebtCollectionFromInvoiceEntry(BillectaModel):
    """DebtCollectionFromInvoiceEntryView: hand a Billecta invoice over to debt collection."""

    source_public_id: str
    delivery_method: str | None = None
    communication_language: str | None = None
    number_of_reminders: int | None = None
    start_debt_collection_action_level: str | None = None
    end_debt_collection_action_level: str | None = None
    payment_terms_in_days: int | None = None
    interest_percentage: BillectaDecimal | None = None
    reason_description: str | None = None
    our_reference: str | None = None
    your_reference: str | None = None
    eviction: bool | None = None
    inform_social_welfare: bool | None = None


class BillectaDebtCollectionActionState(BillectaModel):
    """DebtCollectionActionStateView: stage, next event and escalation dates."""

    stage: str | None = None
    number_of_sent_invoice_reminders: int | None = None
    debt_collection_invoice_sent_date: BillectaDateTime | None = None
    sent_to_bailiff_date: BillectaDateTime | None = None
    next_event_date: BillectaDateTime | None = None
    closed_date: BillectaDateTime | None = None
    next_event: str | None = None
    is_paused: bool | None = None


class BillectaDebtCollectionAction(BillectaModel):
    """DebtCollectionActionView: a debt collection case."""

    action_public_id: str | None = None
    created: BillectaDateTime | None = None
    creditor_public_id: str | None = None
    debtor: BillectaDebtor | None = None
    original_invoice_date: BillectaDateTime | None = None
    original_due_date: BillectaDateTime | None = None
    original_amount: BillectaAmount | None = None
    payment_terms_in_days: int | None = None
    interest_percentage: BillectaDecimal | None = None
    debt_amount: BillectaAmount | None = None
    fee_amount: BillectaAmount | None = None
    interest_amount: BillectaAmount | None = None
    current_amount: BillectaAmount | None = None
    state: BillectaDebtCollectionActionState | None = None
    invoice_source_public_id: str | None = None
    events: list[BillectaActionEvent] | None = None
    can_cancel: bool | None = None
    can_send_to_bailiff: bool | None = None
    can_send_to_long_term_surveilance: bool | None = None
    can_postpone: bool | None = None


class BillectaDebtCollectionActionSub(BillectaModel):
    """DebtCollectionActionSubView: one row of a debt collection list or search."""

    action_public_id: str | None = None
    creditor_public_id: str | None = None
    debtor_public_id: str | None = None
    debtor_name: str | None = None
    current_amount: BillectaAmount | None = None
    stage: str | None = None
    next_event_date: BillectaDateTime | None = None
    invoice_source_public_id: str | None = None


class BillectaIncomingPaymentRequest(BillectaModel):
    """IncomingPaymentRequestView: which matched payments to list."""

    creditor_public_id: str
    from_date: BillectaDateTime = Field(alias="From")
    to_date: BillectaDateTime = Field(alias="To")
    payment_mean_code_filter: list[str] | None = None
    action_public_id_filter: list[str] | None = None


class BillectaIncomingPayment(BillectaModel):
    """IncomingPaymentView: a payment matched to an invoice (also payment webhook content)."""

    creditor_public_id: str | None = None
    invoice_number: str | None = None
    action_public_id: str | None = None
    action_type: str | None = None
    debtor_public_id: str | None = None
    debtor_name: str | None = None
    amount: BillectaAmount | None = None
    payment_date: BillectaDateTime | None = None
    payment_mean_code: str | None = None
    payment_reference_id: str | None = None
    ocr: str | None = Field(default=None, alias="OCR")
    is_reminder_payment: bool | None = None


class BillectaUnhandledPayment(BillectaModel):
    """UnhandledPaymentView: an unmatched payment or an overpayment."""

    creditor_public_id: str | None = None
    unhandled_payment_public_id: str | None = None
    sender_name: str | None = None
    debtor_public_id: str | None = None
    amount: BillectaAmount | None = None
    payment_date: BillectaDateTime | None = None
    reference: str | None = None
    unhandled_payment_type: str | None = None
    overpayment_details: dict[str, Any] | None = None
    state: str | None = None


class BillectaPaymentMatch(BillectaModel):
    """PaymentMatchView: use an unhandled payment on an invoice."""

    unhandled_payment_public_id: str
    action_public_id: str
    payment_date: BillectaDateTime | None = None


class BillectaPaymentMatchResult(BillectaModel):
    """PaymentMatchResultView (Billecta spells the flag ``Successfull``)."""

    unhandled_payment_public_id: str | None = None
    successfull: bool | None = None
    response_message: str | None = None


class BillectaSwishPaymentStatus(BillectaModel):
    """SwishPaymentStatusView: the state of a Swish payment request."""

    payment_request_token: str | None = None
    status: str | None = None
    paid_date: BillectaDateTime | None = None
    created: BillectaDateTime | None = None
    amount: BillectaAmount | None = None
    error_message: str | None = None
    error_code: str | None = None


class BillectaSearch(BillectaModel):
    """SearchView: search any action type of a creditor."""

    creditor_public_id: str
    search_value: str | None = None
    debtor_public_ids: list[str] | None = None
    status: list[str] | None = None
    types: list[str] | None = None
    invoice_date_from: BillectaDateTime | None = None
    invoice_date_to: BillectaDateTime | None = None
    debtor_external_id: str | None = None


class BillectaSearchResult(BillectaModel):
    """SearchResultView: matching actions grouped by type."""

    invoice_actions: list[BillectaInvoiceActionSub] | None = None
    debt_collection_actions: list[BillectaDebtCollectionActionSub] | None = None
