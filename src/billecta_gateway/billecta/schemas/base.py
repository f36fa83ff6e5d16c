"""Shared pieces of Billecta's wire models: the base model, amounts, files, event rows."""

from __future__ import annotations

import base64
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
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
