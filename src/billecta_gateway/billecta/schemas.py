"""Billecta v1 wire models (PascalCase on the wire, snake_case in Python).

Every model keeps fields it does not declare (``extra="allow"``), so a GET-modify-PUT round trip
never drops data the gateway does not map. Enumerations travel as their name strings.
Serialize with :meth:`BillectaModel.to_wire` (by alias, JSON types, nulls omitted).
"""

from __future__ import annotations

import base64
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_pascal

# Currencies whose minor unit is not 1/100 (ISO 4217 exponent 0).
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "ISK", "CLP", "VND", "XAF", "XOF"})


def _coerce_datetime(value: Any) -> Any:
    """Accept a bare date as midnight; strings are left to pydantic's ISO-8601 parser."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


def decimal_to_number(value: Decimal) -> int | float:
    """A Decimal as the JSON number Billecta expects (an int when integral)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


BillectaDateTime = Annotated[datetime, BeforeValidator(_coerce_datetime)]
"""Billecta date-time: ISO-8601 with or without offset, ``T`` or space separated."""

BillectaDecimal = Annotated[
    Decimal, PlainSerializer(decimal_to_number, return_type=int | float, when_used="json")
]
"""A plain Billecta number (prices in major units, VAT percent) kept exact in Python."""


class BillectaModel(BaseModel):
    """Base of every Billecta wire model."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="allow")

    def to_wire(self) -> dict[str, Any]:
        """Serialize the way Billecta expects: by alias, JSON types, nulls omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def minor_unit_exponent(currency: str | None) -> int:
    """Number of decimals of a currency's minor unit (2 unless known otherwise)."""
    return 0 if currency and currency.upper() in _ZERO_DECIMAL_CURRENCIES else 2


class BillectaAmount(BillectaModel):
    """AmountView: ``Value`` in minor units (öre), ``ValueForView`` for display only."""

    currency_code: str | None = None
    value: int
    value_for_view: float | None = None

    @classmethod
    def from_decimal(cls, amount: Decimal | int | str, currency: str) -> BillectaAmount:
        """Build an amount from a major-unit Decimal; refuses sub-minor-unit precision."""
        if isinstance(amount, float):
            raise TypeError("money must be a Decimal, int or str, never a float")
        exact = Decimal(amount)
        minor = exact.scaleb(minor_unit_exponent(currency))
        if minor != minor.to_integral_value():
            raise ValueError(f"{exact} has more decimals than {currency} minor units allow")
        return cls(currency_code=currency, value=int(minor), value_for_view=float(exact))

    def to_decimal(self) -> Decimal:
        """The amount in major units as an exact Decimal (from ``Value``, never the float)."""
        return Decimal(self.value).scaleb(-minor_unit_exponent(self.currency_code))


class BillectaCreated(BillectaModel):
    """CreatedView: the public id Billecta generated."""

    public_id: str | None = None


class BillectaFile(BillectaModel):
    """FileView: a file reference, with base64 ``Data`` when requested."""

    file_public_id: str | None = None
    content_type: str | None = None
    data: str | None = None
    file_name: str | None = None

    def decoded(self) -> bytes | None:
        """The file content decoded from base64, or None when it was not included."""
        return base64.b64decode(self.data) if self.data is not None else None


class BillectaDebtorEvent(BillectaModel):
    """DebtorEventView: one row of a debtor's event log."""

    title: str | None = None
    content: str | None = None
    event_date: BillectaDateTime | None = None
    event_by: str | None = None
    reference: str | None = None
    event_type: str | None = None
    is_public: bool | None = None
    has_occured: bool | None = None
    event_public_id: str | None = None


class BillectaActionEvent(BillectaDebtorEvent):
    """CommonActionEventView: one row of an invoice or debt collection event log."""

    creditor_public_id: str | None = None
    action_public_id: str | None = None
    action_type: str | None = None


class BillectaCreditor(BillectaModel):
    """CreditorView; nested bank and contact blocks are kept as raw objects."""

    creditor_public_id: str
    org_no: str | None = None
    name: str | None = None
    address: str | None = None
    zip_code: str | None = None
    city: str | None = None
    country_code: str | None = None
    phone: str | None = None
    vat_number: str | None = None
    gln: str | None = Field(default=None, alias="GLN")
    creditor_bank_info: dict[str, Any] | None = None
    is_enabled: bool | None = None


class BillectaDefaultActionConfig(BillectaModel):
    """DefaultActionConfigView: a creditor's default invoice, reminder and collection settings."""

    creditor_public_id: str
    start_debt_collection_action_level: str | None = None
    end_debt_collection_action_level: str | None = None
    delivery_method: str | None = None
    communication_language: str | None = None
    payment_terms_in_days: int | None = None
    interest_percentage: BillectaDecimal | None = None
    interest_type: str | None = None
    our_reference: str | None = None
    number_of_reminders: int | None = None
    send_invoice_to_debt_collection: bool | None = None
    send_reminder_invoice: bool | None = None
    reminder_invoice_fee: BillectaDecimal | None = None
    invoice_fee: BillectaDecimal | None = None


class BillectaDebtor(BillectaModel):
    """DebtorView; ``DebtorPublicId`` is omitted on create and required on update."""

    debtor_public_id: str | None = None
    creditor_public_id: str
    debtor_external_id: str | None = None
    org_no: str | None = None
    name: str | None = None
    address: str | None = None
    address2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    country_code: str | None = None
    phone: str | None = None
    email: str | None = None
    vat_number: str | None = None
    gln: str | None = Field(default=None, alias="GLN")
    is_active: bool | None = None
    debtor_type: str | None = None
    notes: str | None = None
    default_action_config: dict[str, Any] | None = None
    autogiro: dict[str, Any] | None = None
    created: BillectaDateTime | None = None


class BillectaProduct(BillectaModel):
    """ProductView (a template; invoice records carry the actual values)."""

    product_public_id: str | None = None
    creditor_public_id: str
    article_number: str | None = None
    product_external_id: str | None = None
    description: str | None = None
    units: str | None = None
    is_active: bool | None = None
    unit_price: BillectaDecimal | None = None
    vat: BillectaDecimal | None = Field(default=None, alias="VAT")
    book_keeping_account: int | None = None
    product_type: str | None = None


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
