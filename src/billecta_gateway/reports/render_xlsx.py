"""xlsx rendering with openpyxl's write-only workbook: rows stream to disk, memory stays flat.

Layout: a first sheet "Summary" with the title, parameters, generation time and the summary
tables; then one sheet per data table with a styled, frozen, auto-filtered header row, typed
number and date formats, and a bold totals row under the data.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from billecta_gateway.reports.model import (
    XLSX_MAX_ROWS,
    Column,
    ReportData,
    ReportTooLarge,
    Table,
    Totals,
)

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", start_color="1F4E78", end_color="1F4E78")
HEADER_ALIGNMENT = Alignment(vertical="center", wrap_text=True)
TITLE_FONT = Font(bold=True, size=14)
SECTION_FONT = Font(bold=True, size=11)
LABEL_FONT = Font(bold=True)
TOTAL_FONT = Font(bold=True)
TOTAL_BORDER = Border(top=Side(style="thin"), bottom=Side(style="double"))
DEFAULT_WIDTHS = {
    "text": 26.0,
    "money": 15.0,
    "number": 12.0,
    "integer": 10.0,
    "date": 12.0,
    "datetime": 17.0,
    "boolean": 9.0,
}
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, taken: set[str]) -> str:
    base = _SHEET_NAME_FORBIDDEN.sub(" ", title).strip()[:31] or "Sheet"
    name, counter = base, 2
    while name.lower() in taken:
        suffix = f" ({counter})"
        name, counter = base[: 31 - len(suffix)] + suffix, counter + 1
    taken.add(name.lower())
    return name


class _RowWriter:
    """Writes rows of one table, reusing one styled template cell per column."""

    def __init__(self, sheet: WriteOnlyWorksheet, columns: Sequence[Column], report: ReportData):
        self.sheet = sheet
        self.report = report
        self.templates: list[WriteOnlyCell | None] = []
        for column in columns:
            fmt = column.excel_format
            if fmt is None:
                self.templates.append(None)
                continue
            cell = WriteOnlyCell(sheet)
            cell.number_format = fmt
            self.templates.append(cell)

    def cells(self, row: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for value, template in zip(row, self.templates, strict=False):
            if isinstance(value, datetime):
                value = self.report.local(value)
            if value is None or template is None:
                out.append(value)
            else:
                # openpyxl writes a yielded cell at once, so the template can be reused.
                template.value = value
                out.append(template)
        return out


def _header(sheet: WriteOnlyWorksheet, labels: Sequence[str]) -> list[WriteOnlyCell]:
    cells = []
    for label in labels:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGNMENT
        cells.append(cell)
    return cells


def _totals_rows(
    sheet: WriteOnlyWorksheet, table: Table, totals: Totals
) -> list[list[WriteOnlyCell]]:
    rows = []
    for values in totals.rows(table.totals_label):
        row: list[WriteOnlyCell] = []
        for column, value in zip(table.columns, values, strict=True):
            cell = WriteOnlyCell(sheet, value=value)
            cell.font = TOTAL_FONT
            cell.border = TOTAL_BORDER
            if column.total and column.excel_format:
                cell.number_format = column.excel_format
            row.append(cell)
        rows.append(row)
    return rows


def _write_data_sheet(sheet: WriteOnlyWorksheet, table: Table, report: ReportData) -> None:
    for index, column in enumerate(table.columns, 1):
        width = column.width or DEFAULT_WIDTHS.get(column.kind, 14.0)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(_header(sheet, [column.label for column in table.columns]))
    writer = _RowWriter(sheet, table.columns, report)
    totals = table.totals()
    count = 0
    for row in table.rows:
        count += 1
        if count > XLSX_MAX_ROWS:
            raise ReportTooLarge(
                f"The report has more than {XLSX_MAX_ROWS:,} rows, more than a spreadsheet "
                "holds; narrow the selection"
            )
        totals.add(row)
        sheet.append(writer.cells(row))
    last = get_column_letter(len(table.columns))
    sheet.auto_filter.ref = f"A1:{last}{count + 1}"
    if table.has_totals:
        for cells in _totals_rows(sheet, table, totals):
            sheet.append(cells)


def _write_summary_sheet(
    sheet: WriteOnlyWorksheet, report: ReportData, tables: Sequence[Table]
) -> None:
    widest = max([2, *(len(t.columns) for t in tables)])
    for index in range(1, widest + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 30.0 if index == 1 else 18.0
    title = WriteOnlyCell(sheet, value=report.title)
    title.font = TITLE_FONT
    sheet.append([title])
    for label, value in report.parameters:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = LABEL_FONT
        sheet.append([cell, value])
    generated = WriteOnlyCell(sheet, value="Generated")
    generated.font = LABEL_FONT
    stamp = WriteOnlyCell(sheet, value=report.local(report.generated_at))
    stamp.number_format = "yyyy-mm-dd hh:mm:ss"
    sheet.append([generated, stamp])
    for table in tables:
        sheet.append([])
        heading = WriteOnlyCell(sheet, value=table.title)
        heading.font = SECTION_FONT
        sheet.append([heading])
        sheet.append(_header(sheet, [column.label for column in table.columns]))
        writer = _RowWriter(sheet, table.columns, report)
        totals = table.totals()
        for row in table.rows:
            totals.add(row)
            sheet.append(writer.cells(row))
        if table.has_totals:
            for cells in _totals_rows(sheet, table, totals):
                sheet.append(cells)


def render_xlsx(report: ReportData) -> bytes:
    """The report as an xlsx workbook (write-only: rows are streamed, never all held)."""
    workbook = Workbook(write_only=True)
    taken = {"summary"}
    summary_sheet = workbook.create_sheet("Summary")
    for table in report.tables:
        _write_data_sheet(workbook.create_sheet(_sheet_name(table.title, taken)), table, report)
    summary_tables = report.summary() if report.summary else []
    _write_summary_sheet(summary_sheet, report, summary_tables)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
