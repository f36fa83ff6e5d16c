"""Wire details shared by the handlers: enumerations, dates, money and request bodies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel

from billecta_gateway.billecta.routes import Route
from billecta_gateway.billecta.schemas import BillectaAmount, minor_unit_exponent
from billecta_gateway.sandbox.state import Store, bad_request

# Enumerations travel as names; the integer codes are accepted leniently (billecta-api.md §5).
ENUMS: dict[str, dict[int, str]] = {
    "DeliveryMethod": {
        0: "Email",
        1: "Mail",
        2: "Manually",
        3: "SMS",
        4: "EInvoice",
        5: "Kivra",
        6: "Avy",
        -1: "Unknown",
    },
    "CommunicationLanguage": {0: "SV", 1: "EN", 2: "FI"},
    "DebtorType": {0: "Private", 1: "Company", -1: "Undefined"},
    "ProductType": {0: "Service", 1: "Commodity", 2: "Package", 3: "VAT", -1: "Unknown"},
    "DiscountType": {0: "Amount", 1: "Percentage", -1: "Unknown"},
    "RecordType": {0: "Standard", 1: "Message", 2: "Package", -1: "Unknown"},
    "InterestType": {0: "Fixed", 1: "AboveEffectiveReference", 2: "NoInterest", -1: "Unknown"},
    "DebtCollectionActionLevel": {
        0: "LatePaymentFee",
        1: "Reminders",
        2: "DebtCollection",
        3: "Bailiff",
        -1: "Unknown",
    },
    "OvershootingAmountHandling": {
        0: "None",
        1: "AsCurrencyDifference",
        2: "AsOverPayments",
        -1: "Unknown",
    },
}
FIELD_ENUMS = {
    "DeliveryMethod": "DeliveryMethod",
    "CommunicationLanguage": "CommunicationLanguage",
    "DebtorType": "DebtorType",
    "ProductType": "ProductType",
    "DiscountType": "DiscountType",
    "RecordType": "RecordType",
    "InterestType": "InterestType",
    "StartDebtCollectionActionLevel": "DebtCollectionActionLevel",
    "EndDebtCollectionActionLevel": "DebtCollectionActionLevel",
    "OvershootingAmountHandling": "OvershootingAmountHandling",
}


def normalize_enums(data: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Enum fields of ``data`` (one level, plus ``Records``) as names; 400 for unknown values."""
    for field_name, enum_name in FIELD_ENUMS.items():
        value = data.get(field_name)
        if value is None:
            continue
        names = ENUMS[enum_name]
        if isinstance(value, int) and not isinstance(value, bool) and value in names:
            data[field_name] = names[value]
        elif not (isinstance(value, str) and value in names.values()):
            raise bad_request(
                f"The request is invalid: {where}{field_name}: Error converting value "
                f"{value!r} to type '{enum_name}Type'."
            )
    for index, record in enumerate(data.get("Records") or []):
        if isinstance(record, dict):
            normalize_enums(record, f"Records[{index}].")
    return data


def to_aware(value: datetime, store: Store) -> datetime:
    """A date-time in the business time zone (naive values are business-local already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=store.clock.tz)
    return value.astimezone(store.clock.tz)


def start_of(day: date, store: Store) -> datetime:
    return datetime.combine(day, time(), tzinfo=store.clock.tz)


def parse_when(value: Any, store: Store, name: str) -> datetime:
    """A date or date-time from a query string or JSON value, business-local."""
    if isinstance(value, datetime):
        return to_aware(value, store)
    if isinstance(value, date):
        return start_of(value, store)
    text = str(value or "").strip()
    if not text:
        raise bad_request(f"The request is invalid: {name} is required.")
    try:
        if len(text) == 10:
            return start_of(date.fromisoformat(text), store)
        return to_aware(datetime.fromisoformat(text.replace(" ", "T", 1)), store)
    except ValueError:
        raise bad_request(f"The request is invalid: {name} {text!r} is not a valid date.") from None


def minor(value: Any, currency: str | None = None) -> int:
    """Minor units from an AmountView dict/model (its ``Value``)."""
    if isinstance(value, BillectaAmount):
        return value.value
    if isinstance(value, dict):
        return int(value.get("Value") or 0)
    return 0


def to_minor(value: Decimal, currency: str) -> int:
    exact = value.scaleb(minor_unit_exponent(currency))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class Call:
    """One Billecta request as a handler sees it."""

    store: Store
    route: Route
    params: dict[str, str]
    query: Mapping[str, str]
    body: Any
    wire: Any

    def param(self, name: str) -> str:
        return self.params[name]

    def query_value(self, name: str, *, required: bool = True) -> str | None:
        value = self.query.get(name)
        if value is None or not value.strip():
            if required:
                raise bad_request(
                    f"The request is invalid: the query parameter {name} is required."
                )
            return None
        return value.strip()

    def query_when(self, name: str) -> datetime:
        return parse_when(self.query_value(name), self.store, name)

    def model(self) -> BaseModel:
        if not isinstance(self.body, BaseModel):
            raise bad_request("The request body is required.")
        return self.body


Handler = Callable[[Call], Any]
HANDLERS: dict[str, Handler] = {}


def handles(name: str) -> Callable[[Handler], Handler]:
    """Register the handler of one route-table entry (by route name)."""
    from billecta_gateway.billecta.routes import ROUTES

    if name not in ROUTES:
        raise KeyError(f"{name} is not in the route table")

    def register(func: Handler) -> Handler:
        if name in HANDLERS:
            raise KeyError(f"{name} already has a handler")
        HANDLERS[name] = func
        return func

    return register
