"""What the reconciliation compares: results, counts and amounts per result, shared helpers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from billecta_gateway.billecta.schemas import BillectaAmount

Movement = tuple[date | None, str, Any, str, Decimal]
"""(date, record, debtor, description, signed amount) of one movement on the account."""

OPEN_STATUSES = frozenset({"attested", "sent", "subpaid", "expired"})
DRAFT_STAGES = frozenset({"None", "Created"})
CLOSED_STAGES = frozenset({"Completed", "Cancelled"})
COMPARED_PAYMENT_TYPES = ("payment", "manual")
BOOKED_PAYMENT_TYPES = ("payment", "manual", "writeoff", "credit")
PAYMENT_STATUSES_ON_INVOICE = frozenset({"received", "usedoninvoice"})
# An invoice is closed on or after its invoice date, but may be paid long before it is due.
DUE_DATE_LOOKBACK = timedelta(days=365)
MATCHED = "Matched"
ONLY_LIME = "Only in Lime"
ONLY_BILLECTA = "Only in Billecta"
RESULTS = (
    MATCHED,
    "Amount mismatch",
    "Status mismatch",
    "Amount and status mismatch",
    ONLY_LIME,
    ONLY_BILLECTA,
)
DATE_LABELS = {
    "invoice_date": "Invoice date",
    "due_date": "Due date",
    "payment_date": "Payment date",
}


@dataclass
class Comparison:
    """The compared records, with counts and amounts per result."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULTS, 0))
    lime: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    billecta: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, result: str, lime: Decimal | None, billecta: Decimal | None, row: Any) -> None:
        self.counts[result] += 1
        self.lime[result] += lime or 0
        self.billecta[result] += billecta or 0
        self.rows.append((result, *row))


def result_of(amount_differs: bool, status_differs: bool) -> str:
    if amount_differs and status_differs:
        return "Amount and status mismatch"
    if amount_differs:
        return "Amount mismatch"
    return "Status mismatch" if status_differs else MATCHED


def local_day(value: datetime | None, zone: tzinfo) -> date | None:
    if value is None:
        return None
    return (value.astimezone(zone) if value.tzinfo else value).date()


def amount_of(value: BillectaAmount | None) -> Decimal | None:
    return value.to_decimal() if value is not None else None


def differs(a: Decimal | None, b: Decimal | None) -> bool:
    return (a or Decimal(0)) != (b or Decimal(0))
