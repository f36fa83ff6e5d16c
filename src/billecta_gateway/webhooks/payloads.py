"""Webhook payload models: the `Data` of each supported event (Billecta view models, §4).

Where Billecta sends a bare string as `Data` (`InvoiceActionDeleted`, a `DebtorDeleted` that
carries only the id), the model reads the string as the id it is.

They extend the client's wire models where those fit, so one payload can be handed to the
invoice-state mapping as it is, and they keep undeclared fields (`extra="allow"`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_validator

from billecta_gateway.billecta.schemas import (
    BillectaAmount,
    BillectaDateTime,
    BillectaDebtCollectionAction,
    BillectaDebtor,
    BillectaDecimal,
    BillectaFile,
    BillectaIncomingPayment,
    BillectaInvoiceAction,
    BillectaModel,
)


class AutogiroPayload(BillectaModel):
    """A debtor's Autogiro mandate (DebtorView.Autogiro)."""

    active: bool | None = None
    account_no: str | None = None
    clearing_no: str | None = None
    stage: str | None = None
    payer_number: str | None = None
    payment_service_supplier: str | None = None
    autogiro_first_withdrawal_date: BillectaDateTime | None = None


class DebtorPayload(BillectaDebtor):
    """DebtorView: `DebtorUpdated` and the Autogiro approval events."""

    debtor_public_id: str = Field(min_length=1, max_length=64)
    attention: str | None = None
    care_of: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    debtor_no: str | None = None

    @property
    def mandate(self) -> AutogiroPayload | None:
        """The debtor's Autogiro block, typed."""
        return AutogiroPayload.model_validate(self.autogiro) if self.autogiro else None


class InvoiceActionPayload(BillectaInvoiceAction):
    """InvoiceActionView: invoice state events and the Autogiro withdrawal events."""

    action_public_id: str = Field(min_length=1, max_length=64)
    our_reference: str | None = None
    your_reference: str | None = None


class IncomingPaymentPayload(BillectaIncomingPayment):
    """IncomingPaymentView: `InvoicePaymentReceived`, `AmountWrittenOffOnInvoice`,
    `AmountCreditedOnInvoice` (the last fires once per side, debit and credit invoice)."""

    payment_reference_id: str = Field(min_length=1, max_length=64)
    created_date: BillectaDateTime | None = None
    external_reference: str | None = None
    created_by: str | None = None


class OverpaymentDetailsPayload(BillectaModel):
    """UnhandledPaymentView.OverpaymentDetails: where an overpayment came from and went."""

    action_type: str | None = None
    action_public_id: str | None = None
    invoice_number: str | None = None
    used_on_action_public_id: str | None = None


class UnhandledPaymentPayload(BillectaModel):
    """UnhandledPaymentView: `UnmatchedPayment`, `Overpayment`, `OverpaymentMatchedToInvoice`."""

    creditor_public_id: str | None = None
    unhandled_payment_public_id: str = Field(min_length=1, max_length=64)
    creditor_name: str | None = None
    sender_name: str | None = None
    sender_address: str | None = None
    sender_zip_code: str | None = None
    sender_city: str | None = None
    sender_country_code: str | None = None
    sender_org_no: str | None = None
    sender_bankgiro_no: str | None = None
    debtor_public_id: str | None = None
    amount: BillectaAmount | None = None
    payment_date: BillectaDateTime | None = None
    reference: str | None = None
    created_by: str | None = None
    unhandled_payment_type: str | None = None
    overpayment_details: OverpaymentDetailsPayload | None = None
    additional_informations: list[str] | None = None
    state: str | None = None


class ReminderInvoiceDocumentPayload(BillectaModel):
    """One reminder invoice document of a ReminderInvoiceActionView."""

    invoice_date: BillectaDateTime | None = None
    due_date: BillectaDateTime | None = None
    invoice_number: str | None = None
    invoiced_amount: BillectaAmount | None = None
    invoice_file: BillectaFile | None = None
    ocr: str | None = Field(default=None, alias="OCR")


class ReminderInvoicePayload(BillectaModel):
    """ReminderInvoiceActionView: `ReminderInvoiceActionCreated`."""

    action_public_id: str = Field(min_length=1, max_length=64)
    source_action_public_id: str | None = None
    creditor_public_id: str | None = None
    created: BillectaDateTime | None = None
    closed_date: BillectaDateTime | None = None
    stage: str | None = None
    reminder_invoices: list[ReminderInvoiceDocumentPayload] | None = None
    current_value: BillectaAmount | None = None
    reminder_fee: BillectaAmount | None = None


class DebtCollectionPayload(BillectaDebtCollectionAction):
    """DebtCollectionActionView: `DebtCollectionActionStateChanged` and the case events."""

    action_public_id: str = Field(min_length=1, max_length=64)
    delivery_method: str | None = None
    communication_language: str | None = None
    interest_type: str | None = None
    interest_start_in_days_after_due_date: int | None = None
    interest_terms_in_days: int | None = None
    reason_for_higher_interest: str | None = None
    our_reference: str | None = None
    your_reference: str | None = None
    original_invoice_number: str | None = None
    debt_collection_action_source: str | None = None
    interest_percentage: BillectaDecimal | None = None


class _BareIdPayload(BillectaModel):
    """A payload Billecta may also send as its id alone, a bare string in `Data`."""

    bare_id_field: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {cls.bare_id_field: value} if isinstance(value, str) else value


class ActionDeletedPayload(_BareIdPayload):
    """`InvoiceActionDeleted`: `Data` is the ActionPublicId as a bare string."""

    bare_id_field = "ActionPublicId"
    action_public_id: str = Field(min_length=1, max_length=64)


class DebtorDeletedPayload(_BareIdPayload):
    """`DebtorDeleted`: a DebtorView, or the DebtorPublicId as a bare string (only the id is
    read)."""

    bare_id_field = "DebtorPublicId"
    debtor_public_id: str = Field(min_length=1, max_length=64)


class DeliveryStatusPayload(BillectaModel):
    """`UndeliveredInvoice`: InvoiceDeliveryStatus { ActionType, ActionPublicId, Delivered,
    Reason }."""

    action_public_id: str = Field(min_length=1, max_length=64)
    action_type: str | None = None
    delivered: bool | None = None
    reason: str | None = None
