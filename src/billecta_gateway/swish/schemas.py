"""Bodies of the Swish endpoints; errors use the spec's ``{"error", "message"}`` shape."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SwishRequestCreated(BaseModel):
    """The Swish payment request was sent to the payer's phone."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"requestid": "f4c2v3d4"}]})

    requestid: str = Field(description="The request's token, for the status endpoint")


class SwishStatusRead(BaseModel):
    """The state of a Swish payment request, upper-cased."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"requeststatus": "PAID"}]})

    requeststatus: str = Field(
        description="CREATED, DECLINED, ERROR, PAID, CANCELLED or REFUNDED (UNKNOWN otherwise)"
    )
    error_code: str | None = Field(default=None, description="Swish's error code, on ERROR")
    error_message: str | None = Field(default=None, description="Swish's reason, on ERROR")


class SwishErrorBody(BaseModel):
    """A Swish error: a code and a sentence."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"error": "INVALID_PHONE_NUMBER", "message": "Phone number format invalid"}
            ]
        }
    )

    error: str = Field(
        description="INVALID_PHONE_NUMBER, INVALID_MESSAGE, INVALID_INVOICE_ID, "
        "REQUEST_NOT_FOUND, BILLECTA_ERROR or BILLECTA_UNAVAILABLE"
    )
    message: str


class SwishDefaults(BaseModel):
    """What the Swish dialog pre-fills for an invoice."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "phone": "+46701234567",
                    "phone_valid": True,
                    "message": "Betalning av faktura 10023",
                    "phone_field": "debtor.phone",
                    "actionpublicid": "b3f5c9e2-55aa-4f7e-9c1d-0a1b2c3d4e5f",
                }
            ]
        }
    )

    phone: str | None = Field(
        description="The phone number found through SWISH_PHONE_FIELD (normalised to +46... "
        "when it is a Swedish mobile number), or null"
    )
    phone_valid: bool = Field(description="Whether `phone` is a Swedish mobile number")
    message: str = Field(description="The default message (SWISH_DEFAULT_MESSAGE), ≤ 50 characters")
    phone_field: str = Field(description="The configured field path the phone number came from")
    actionpublicid: str | None = Field(description="The invoice's Billecta id (null: not synced)")
