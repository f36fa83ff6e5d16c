"""The receivables report's row layout, its order (Swedish, by debtor) and its aging blocks."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from billecta_gateway.reports.collation import swedish_key
from billecta_gateway.reports.model import HOME_CURRENCY, Column, Table, currency_order

COLUMNS: tuple[Column, ...] = (
    Column("Debtor", width=30),
    Column("Invoice no.", width=14),
    Column("Invoice date", "date"),
    Column("Due date", "date"),
    Column("Period start", "date"),
    Column("Period end", "date"),
    Column("Currency", width=9),
    Column("Invoiced", "money", total=True),
    Column("Paid", "money", total=True),
    Column("Credited", "money", total=True),
    Column("Written off", "money", total=True),
    Column("Balance", "money", total=True),
    Column("Days overdue", "integer"),
    Column("Source", width=10),
)
CURRENCY, INVOICED, BALANCE, DAYS_OVERDUE = 6, 7, 11, 12
AGING_BUCKETS: tuple[tuple[str, int], ...] = (
    ("Not due", 0),
    ("1-30 days overdue", 30),
    ("31-60 days overdue", 60),
    ("61-90 days overdue", 90),
)
OVER_90 = "Over 90 days overdue"
AGING_LABELS = (*(label for label, _ in AGING_BUCKETS), OVER_90)
AGING_COLUMNS = (
    Column("Overdue", width=24),
    Column("Invoices", "integer", total=True),
    Column("Balance", "money", total=True),
)

Row = tuple[Any, ...]


def days_overdue(due: date | None, day: date) -> int | None:
    return max(0, (day - due).days) if due is not None else None


def sort_key(row: Row) -> tuple[Any, ...]:
    """The report's order: debtor (Swedish order), due date, invoice number."""
    name, number, due = row[0], row[1], row[3]
    return (
        swedish_key(name),
        due is None,
        due or date.min,
        number is not None,
        number or "",
    )


class Aging:
    """Counts and balances per currency and overdue bucket, filled as the rows stream past."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(AGING_LABELS, 0))
        self.balances: dict[str, dict[str, Decimal]] = defaultdict(
            lambda: dict.fromkeys(AGING_LABELS, Decimal(0))
        )

    def add(self, row: Row) -> Row:
        days = row[DAYS_OVERDUE] or 0
        label = next((label for label, upper in AGING_BUCKETS if days <= upper), OVER_90)
        currency = row[CURRENCY]
        self.counts[currency][label] += 1
        self.balances[currency][label] += row[BALANCE]
        return row

    def tables(self) -> list[Table]:
        """One aging block per currency, SEK first (an empty SEK block when nothing is open)."""
        currencies = sorted(self.counts, key=currency_order) or [HOME_CURRENCY]
        return [
            Table(
                f"Aging summary {currency}",
                AGING_COLUMNS,
                [
                    (label, self.counts[currency][label], self.balances[currency][label])
                    for label in AGING_LABELS
                ],
                totals_label=f"Total {currency}",
            )
            for currency in currencies
        ]
