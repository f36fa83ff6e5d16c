"""The renderers alone: pure functions from report data to bytes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billecta_gateway.reports.model import Column, ReportData, ReportTooLarge, Table
from billecta_gateway.reports.render_pdf import render_html, render_pdf
from billecta_gateway.reports.render_xlsx import render_xlsx
from tests.reports.helpers import sheet_rows, text_of, workbook

COLUMNS = (Column("Name"), Column("Day", "date"), Column("Amount", "money", total=True))


def report(rows: int, title: str = "Test report") -> ReportData:
    return ReportData(
        title=title,
        parameters=[("Creditor", "Ek AB (1001)")],
        tables=[
            Table(
                "Rows",
                COLUMNS,
                ((f"Row {n}", date(2025, 1, 1), Decimal("1000.25")) for n in range(rows)),
            )
        ],
        generated_at=datetime(2025, 10, 1, 6, 30, tzinfo=UTC),
        timezone=ZoneInfo("Europe/Stockholm"),
    )


def test_pdf_repeats_the_header_on_every_page_and_numbers_the_pages() -> None:
    lines = text_of(render_pdf(report(150))).splitlines()
    pages = [line for line in lines if " / " in line and line.split(" / ")[0].isdigit()]
    assert len(pages) > 1
    assert pages[-1] == f"{len(pages)} / {len(pages)}"
    assert lines.count("Amount") == len(pages)
    assert lines[lines.index("Total") + 1] == "150,037.50"
    # Generated in the business time zone.
    assert "2025-10-01 08:30:00" in lines


def test_pdf_above_the_cap_is_refused_before_layout() -> None:
    with pytest.raises(ReportTooLarge, match="use xlsx"):
        render_html(report(5_001))


def test_html_escapes_values_and_the_footer_string() -> None:
    html = render_html(report(1, title='<script>"x"</script>'))
    assert "<script>" not in html
    assert '\\"x\\"' in html


def test_xlsx_has_a_summary_sheet_and_a_data_sheet_with_totals() -> None:
    content = render_xlsx(report(3))
    book = workbook(content)
    assert book.sheetnames == ["Summary", "Rows"]
    rows = sheet_rows(content, "Rows")
    assert rows[0] == ("Name", "Day", "Amount")
    assert rows[-1][0] == "Total" and float(rows[-1][2]) == pytest.approx(3000.75)
    summary = sheet_rows(content, "Summary")
    assert summary[0][0] == "Test report"
    assert summary[1][:2] == ("Creditor", "Ek AB (1001)")
    assert summary[2][0] == "Generated" and summary[2][1] == datetime(2025, 10, 1, 8, 30)


def test_grouped_totals_are_one_row_per_currency_sek_first() -> None:
    columns = (Column("Name"), Column("Currency"), Column("Amount", "money", total=True))
    rows = [("a", "NOK", Decimal(5)), ("b", "SEK", Decimal(1)), ("c", "EUR", Decimal(2)),
            ("d", "SEK", Decimal(3)), ("e", None, Decimal(7))]  # fmt: skip
    data = ReportData(
        title="Grouped",
        parameters=[],
        tables=[Table("Rows", columns, rows, group_by=(1,))],
    )
    table = sheet_rows(render_xlsx(data), "Rows")
    assert [(row[0], row[1], float(row[2])) for row in table[6:]] == [
        ("Total", "SEK", 4.0),
        ("Total", "EUR", 2.0),
        ("Total", "NOK", 5.0),
        ("Total", None, 7.0),
    ]
    data.tables = [Table("Rows", columns, rows, group_by=(1,))]
    lines = text_of(render_pdf(data)).splitlines()
    totals = [lines[i + 1 : i + 3] for i, line in enumerate(lines) if line == "Total"]
    assert totals[:3] == [["SEK", "4.00"], ["EUR", "2.00"], ["NOK", "5.00"]]
    # The last group has no currency: its amount follows the label directly.
    assert totals[3][0] == "7.00"
