"""Creditors, debtors and products."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from billecta_gateway.billecta.schemas.base import BillectaDateTime, BillectaDecimal, BillectaModel


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
