"""What a renderer receives: a report's title, parameters and tables (its rows may stream).

Renderers are pure functions of a `ReportData` to bytes. Data tables are consumed once, in
order; `summary` is called after they are consumed, so it can report what the rows added up to.
Money is never added across currencies: a table's totals are split by its `group_by` columns
(the currency first), one totals row per group, SEK first, then alphabetically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any, Literal

from billecta_gateway.errors import GatewayError
from billecta_gateway.reports.collation import swedish_key

ColumnKind = Literal["text", "money", "number", "integer", "date", "datetime", "boolean"]
COLUMN_KINDS: tuple[str, ...] = (
    "text",
    "money",
    "number",
    "integer",
    "date",
    "datetime",
    "boolean",
)
NUMERIC_KINDS = frozenset({"money", "number", "integer"})

# Excel number formats per kind (text and boolean cells keep the default).
EXCEL_FORMATS: dict[str, str] = {
    "money": "#,##0.00",
    "number": "#,##0.####",
    "integer": "0",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}

HOME_CURRENCY = "SEK"
PDF_MAX_ROWS = 5_000
XLSX_MAX_ROWS = 1_048_576 - 2  # Excel's sheet limit, less the header and the totals row
FILE_FORMATS: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class ReportTooLarge(GatewayError):
    """The report has more rows than the requested format can hold."""

    status_code = 422
    default_message = "The report has too many rows for this format"


@dataclass(frozen=True)
class Column:
    """One column: its header, the kind of value it holds and whether it is totalled."""

    label: str
    kind: ColumnKind = "text"
    total: bool = False
    number_format: str | None = None
    width: float | None = None

    @property
    def excel_format(self) -> str | None:
        """The Excel number format of the column's cells."""
        return self.number_format or EXCEL_FORMATS.get(self.kind)


@dataclass
class Table:
    """A titled table; `rows` may be a one-pass iterator (it is read exactly once)."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    totals_label: str = "Total"
    group_by: Sequence[int] = ()
    """Columns whose values split the totals (the currency column first)."""

    @property
    def has_totals(self) -> bool:
        return any(column.total for column in self.columns)

    def totals(self) -> Totals:
        """Empty running totals for this table's rows."""
        return Totals(self.columns, self.group_by)


@dataclass
class ReportData:
    """Everything a renderer needs; `summary` is built after the data tables were consumed."""

    title: str
    parameters: Sequence[tuple[str, str]]
    tables: Sequence[Table]
    summary: Callable[[], Sequence[Table]] | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    timezone: tzinfo = UTC
    filename_stem: str = "report"

    def local(self, value: datetime) -> datetime:
        """A date-time in the report's time zone, without tzinfo (as spreadsheets want it)."""
        if value.tzinfo is not None:
            value = value.astimezone(self.timezone)
        return value.replace(tzinfo=None)


def currency_order(code: str | None) -> tuple[bool, bool, str]:
    """SEK first, then the other currencies alphabetically, unknown last."""
    return (code != HOME_CURRENCY, code is None, code or "")


def _group_order(group: tuple[Any, ...]) -> tuple[Any, ...]:
    if not group:
        return ()
    first, *rest = group
    return (currency_order(first), *(swedish_key(None if v is None else str(v)) for v in rest))


class Totals:
    """Running sums of a table's totalled columns (None where a column is not totalled), per
    group of the `group_by` columns' values."""

    def __init__(self, columns: Sequence[Column], group_by: Sequence[int] = ()) -> None:
        self._width = len(columns)
        self._indexes = [i for i, column in enumerate(columns) if column.total]
        self._group_by = tuple(group_by)
        self._groups: dict[tuple[Any, ...], list[Any]] = {}
        if not self._group_by:
            self._groups[()] = self._blank()

    def _blank(self) -> list[Any]:
        values: list[Any] = [None] * self._width
        for index in self._indexes:
            values[index] = Decimal(0)
        return values

    def add(self, row: Sequence[Any]) -> None:
        group = tuple(row[i] if i < len(row) else None for i in self._group_by)
        values = self._groups.get(group)
        if values is None:
            values = self._groups[group] = self._blank()
        for index in self._indexes:
            value = row[index] if index < len(row) else None
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                values[index] += value

    def rows(self, label: str) -> list[list[Any]]:
        """One totals row per group in report order, the group's values in their columns and
        `label` in the first column when it is free (an ungrouped table always has one)."""
        out = []
        for group in sorted(self._groups, key=_group_order):
            values = list(self._groups[group])
            for index, value in zip(self._group_by, group, strict=True):
                values[index] = value
            if values and values[0] is None:
                values[0] = label
            out.append(values)
        return out


def display(value: Any, column: Column, report: ReportData) -> str:
    """A cell's text in a PDF (money like the spreadsheet's `#,##0.00`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if column.kind == "money" and isinstance(value, int | Decimal):
        return f"{Decimal(value):,.2f}"
    if column.kind in ("number", "integer") and isinstance(value, int | Decimal):
        number = Decimal(value)
        if number == number.to_integral_value():
            return f"{int(number):,}" if column.kind == "number" else str(int(number))
        return f"{number.normalize():,f}"
    if isinstance(value, datetime):
        return report.local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
