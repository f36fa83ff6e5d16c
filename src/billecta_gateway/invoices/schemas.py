"""Request and response bodies of the invoice endpoints, field names exactly as the spec's."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_ID = 2**63 - 1
_CENT = Decimal("0.01")
# A JSON number computed in floating point (0.1 + 0.2 = 0.30000000000000004) is the amount it
# was meant to be; anything further from a whole cent is a real sub-cent amount and refused.
_FLOAT_NOISE = Decimal("1e-9")
_MAX_AMOUNT = Decimal(10) ** 12

DeliveryMethod = Literal["email", "mail", "sms", "einvoice", "kivra", "manual"]

# Lime delivery-method option keys → Billecta DeliveryMethodType names (DESIGN §4).
DELIVERY_METHOD_TO_BILLECTA: dict[str, str] = {
    "email": "Email",
    "mail": "Mail",
    "sms": "SMS",
    "einvoice": "EInvoice",
    "kivra": "Kivra",
    "manual": "Manually",
}


def _money(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if abs(value) >= _MAX_AMOUNT:
        raise ValueError("is too large")
    cents = value.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    if abs(value - cents) > _FLOAT_NOISE:
        raise ValueError("has more than two decimals")
    return cents


Money = Annotated[Decimal, AfterValidator(_money)]
"""A money amount in major units, exact to the cent (floating-point noise is rounded away)."""
PositiveMoney = Annotated[Decimal, Field(gt=0), AfterValidator(_money)]
NonNegativeMoney = Annotated[Decimal, Field(ge=0), AfterValidator(_money)]

CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True, strip_whitespace=True),
]
LimeId = Annotated[int, Field(ge=1, le=MAX_ID, description="The Lime `_id`", examples=[1001])]


def _vat(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > 100:
        raise ValueError("must be a VAT percentage from 0 to 100")
    return value


class StatusCodeRead(BaseModel):
    """``{"status_code": 200}``."""

    status_code: int = Field(examples=[200])


class StatusCodeErrorBody(BaseModel):
    """``{"status_code": 500, "error_message": ...}``."""

    status_code: int = Field(examples=[500])
    error_message: str = Field(examples=["Description of error"])


class StatusCodeMessageBody(BaseModel):
    """``{"status_code": 500, "message": ...}``."""

    status_code: int = Field(examples=[500])
    message: str = Field(examples=["Description of error"])


class MessageBody(BaseModel):
    """``{"message": ...}``."""

    message: str = Field(examples=["Error description"])


class EmptyObject(BaseModel):
    """An empty JSON object, ``{}``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class ManualPaymentCreate(BaseModel):
    """A payment made outside Billecta, registered on an invoice."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoice_id": 1001,
                    "payment_amount": 1000.0,
                    "payment_currencycode": "SEK",
                    "payment_date": "2025-09-10",
                    "payment_mean_code": "BG",
                }
            ]
        }
    )

    invoice_id: LimeId
    payment_amount: PositiveMoney = Field(description="Amount in major units")
    payment_currencycode: CurrencyCode
    payment_date: date
    payment_mean_code: Annotated[str, StringConstraints(max_length=32)] | None = None


class WriteOffCreate(BaseModel):
    """A write-off (uncollectible amount) on an invoice."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoiceid": 1001,
                    "amount": 1000.0,
                    "vat": "25",
                    "paymentdate": "2025-09-10",
                    "comment": "Uncollectible per legal review",
                }
            ]
        }
    )

    invoiceid: LimeId
    amount: PositiveMoney = Field(description="Amount written off, in major units")
    vat: Annotated[Decimal, Field(ge=0, le=100), AfterValidator(_vat)] = Field(
        description="VAT percentage, e.g. 25"
    )
    paymentdate: date
    comment: Annotated[str, StringConstraints(max_length=1000)] | None = None


class InvoiceIdBody(BaseModel):
    """An invoice, by its Lime id."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"invoice_id": 1001}]})

    invoice_id: LimeId


class UseCreditCreate(BaseModel):
    """Use the credit left on a credit invoice to pay another invoice."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"creditinvoiceid": 1001, "invoicetocreditid": 1002, "paymentmeancode": "BG"}
            ]
        }
    )

    creditinvoiceid: LimeId
    invoicetocreditid: LimeId
    paymentmeancode: Annotated[str, StringConstraints(max_length=32)] | None = None


class ReminderInvoiceCreate(BaseModel):
    """A reminder invoice with its fee and payment terms."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoice_action_public_id": "xxxx-xxx-xxxx",
                    "delivery_method": "email",
                    "reminder_fee": 150.00,
                    "currency_code": "SEK",
                    "payment_terms_in_days": 14,
                }
            ]
        }
    )

    invoice_action_public_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="The invoice's Billecta id (`actionpublicid`)"
    )
    delivery_method: DeliveryMethod
    reminder_fee: NonNegativeMoney = Field(description="Fee in major units; 0 is allowed")
    currency_code: CurrencyCode
    payment_terms_in_days: Annotated[int, Field(ge=1, le=365)]


class DebtCollectionCreate(BaseModel):
    """Hand an unpaid invoice over to debt collection."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoice_id": 1001,
                    "delivery_method": "email",
                    "our_reference": "COLL-001",
                    "reason_description": "Invoice overdue 60 days, collection initiated",
                    "reason_for_higher_interest": "Dunning process completed",
                }
            ]
        }
    )

    invoice_id: LimeId
    delivery_method: DeliveryMethod
    our_reference: Annotated[str, StringConstraints(max_length=255)] | None = None
    reason_description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    reason_for_higher_interest: Annotated[str, StringConstraints(max_length=2000)] | None = None


class NextEventRead(BaseModel):
    """The date of the next scheduled event, or null when none is scheduled."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"next_event_date": "2025-10-15"}]})

    next_event_date: date | None


class InvoicePostpone(BaseModel):
    """Postpone an invoice's next event by a number of days."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"invoice_id": 1001, "postpone_days": 7}]}
    )

    invoice_id: LimeId
    postpone_days: Annotated[int, Field(ge=1, le=3650, strict=True)]


class DocumentCreated(BaseModel):
    """The stored document."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"iddocument": 5042}]})

    iddocument: int
