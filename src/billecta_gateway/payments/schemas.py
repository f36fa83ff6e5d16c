"""Request and response bodies of the payment endpoints, field names exactly as the spec's."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from billecta_gateway.invoices.schemas import LimeId


def _account_text(value: Any) -> Any:
    """A bookkeeping account given as a JSON number is the same account as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


BookkeepingAccount = Annotated[
    str,
    BeforeValidator(_account_text),
    StringConstraints(pattern=r"^\d{1,10}$", strip_whitespace=True),
]


class PaymentMatchCreate(BaseModel):
    """Use an unmatched payment on an invoice."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"payment_billecta_id": "xxxx-xxx-xxxx", "invoice_id": 1001}]
        }
    )

    payment_billecta_id: Annotated[
        str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)
    ] = Field(description="The unhandled payment's Billecta id")
    invoice_id: LimeId


class PaymentMatchRead(BaseModel):
    """The match was made."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status_code": 200, "status": "The match was successful"}]}
    )

    status_code: int
    status: str


class UnhandledPaymentDelete(BaseModel):
    """Remove an unhandled payment from Billecta, booking it on an account."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"_id": 1001, "bookkeepingaccount": "1501", "transactiondate": "2025-09-10"}
            ]
        }
    )

    id: LimeId = Field(alias="_id", description="The payment's Lime `_id`")
    bookkeepingaccount: BookkeepingAccount = Field(examples=["1501"])
    transactiondate: date
