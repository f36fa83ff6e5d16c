"""PDF rendering: an HTML template laid out by weasyprint (imported only when a PDF is made).

The header row of every table repeats on each page (`thead` as `table-header-group`), pages are
numbered "n / total", and a report is capped at `PDF_MAX_ROWS` data rows (weasyprint needs
seconds and hundreds of MB for a few thousand rows): above it the request is a 422 that points
to xlsx.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from importlib import resources
from string import Template
from typing import Any

from billecta_gateway.reports.model import (
    NUMERIC_KINDS,
    PDF_MAX_ROWS,
    Column,
    ReportData,
    ReportTooLarge,
    Table,
    Totals,
    display,
)


def _template() -> Template:
    text = (
        resources.files("billecta_gateway.reports")
        .joinpath("templates", "report.html")
        .read_text(encoding="utf-8")
    )
    return Template(text)


def _css_string(value: str) -> str:
    """A value safe inside a CSS string in double quotes within a `<style>` element."""
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return text.replace("<", "\\3C ").replace(">", "\\3E ")


def _cell_class(column: Column) -> str:
    if column.kind in NUMERIC_KINDS:
        return ' class="num"'
    if column.kind in ("date", "datetime"):
        return ' class="date"'
    return ""


def _table_html(
    table: Table, rows: Sequence[Sequence[Any]], report: ReportData, totals: Totals
) -> str:
    parts = [f"<h2>{escape(table.title)}</h2>"]
    if not rows:
        parts.append('<p class="empty">No rows.</p>')
        return "\n".join(parts)
    classes = [_cell_class(column) for column in table.columns]
    head = "".join(
        f"<th{cls}>{escape(column.label)}</th>"
        for column, cls in zip(table.columns, classes, strict=True)
    )
    parts.append(f'<table class="data"><thead><tr>{head}</tr></thead><tbody>')
    for row in rows:
        cells = "".join(
            f"<td{cls}>{escape(display(value, column, report))}</td>"
            for value, column, cls in zip(row, table.columns, classes, strict=False)
        )
        parts.append(f"<tr>{cells}</tr>")
    if table.has_totals:
        for values in totals.rows(table.totals_label):
            total_cells = [
                f"<td{cls}>{escape(display(value, column, report))}</td>"
                for value, column, cls in zip(values, table.columns, classes, strict=True)
            ]
            parts.append(f'<tr class="totals">{"".join(total_cells)}</tr>')
    parts.append("</tbody></table>")
    return "\n".join(parts)


def _collect(table: Table, budget: int) -> tuple[list[Sequence[Any]], Totals]:
    rows: list[Sequence[Any]] = []
    totals = table.totals()
    for row in table.rows:
        if len(rows) >= budget:
            raise ReportTooLarge(
                f"The report has more than {PDF_MAX_ROWS:,} rows, too many for a PDF; "
                'use xlsx (file_format "xlsx") or narrow the selection'
            )
        rows.append(row)
        totals.add(row)
    return rows, totals


def render_html(report: ReportData) -> str:
    """The report as the HTML weasyprint lays out (raises ReportTooLarge above the cap)."""
    budget = PDF_MAX_ROWS
    collected = []
    for table in report.tables:
        rows, totals = _collect(table, budget)
        budget -= len(rows)
        collected.append((table, rows, totals))
    summary = []
    for table in report.summary() if report.summary else []:
        rows, totals = _collect(table, PDF_MAX_ROWS)
        summary.append((table, rows, totals))
    sections = [_table_html(t, rows, report, totals) for t, rows, totals in summary + collected]
    parameters = "\n".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in report.parameters
    )
    generated = report.local(report.generated_at).strftime("%Y-%m-%d %H:%M:%S")
    return _template().substitute(
        title=escape(report.title),
        footer=_css_string(f"{report.title} · {generated}"),
        parameters=parameters,
        generated=escape(generated),
        sections="\n".join(sections),
    )


def render_pdf(report: ReportData) -> bytes:
    """The report as a PDF (weasyprint is imported here, so the API starts without it)."""
    html = render_html(report)
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
