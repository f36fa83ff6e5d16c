"""Accounts receivable: figures at a date from the mirror and Billecta, aging, both formats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import AuditRecord, Document, Invoice
from tests.conftest import BILLECTA_URL
from tests.reports.data import (
    CREDITOR,
    CREDITOR_PUBLIC_ID,
    OPEN_INVOICES,
    UNLINKED_CREDITOR,
    seed,
)
from tests.reports.helpers import (
    PREFIX,
    XLSX,
    document_count,
    download,
    serve_invoice_lists,
    sheet_rows,
    text_of,
    workbook,
)

URL = f"{PREFIX}/billecta/account-receivables-report"
OPEN_PATH = f"/v1/invoice/open/{CREDITOR_PUBLIC_ID}"
D = Decimal


@pytest.fixture(autouse=True)
async def data(session: AsyncSession) -> None:
    await seed(session)


def body(**overrides: Any) -> dict[str, Any]:
    return {"idcreditor": CREDITOR, "date": "2025-09-30", **overrides}


async def generate(
    client: httpx.AsyncClient,
    *,
    closed: Sequence[dict[str, Any]] = (),
    payments: Sequence[dict[str, Any]] = (),
    **overrides: Any,
) -> httpx.Response:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        routes = serve_invoice_lists(
            billecta, open_items=OPEN_INVOICES, closed_items=closed, payments=payments
        )
        response = await client.post(URL, json=body(**overrides), headers={"x-lime-user": "kim"})
        assert routes["open"].call_count == 1
        assert routes["open"].calls.last.request.method == "GET"
        # The report date is in the past: Billecta's closed lists since then are read too.
        assert routes["closed"].call_count > 0
    return response


EXPECTED = [
    # debtor, number, invoice date, due date, period start, period end, currency,
    # invoiced, paid, credited, written off, balance, days overdue, source
    ("Alfa AB", "F4001", date(2025, 8, 1), date(2025, 8, 31), date(2025, 8, 1),
     date(2025, 8, 31), "SEK", D(1250), D(250), D(0), D(0), D(1000), 30, "Lime"),
    ("Alfa AB", "F4010", date(2025, 9, 12), date(2025, 10, 12), None, None, "SEK",
     D(150), D(0), D(0), D(0), D(150), 0, "Lime"),
    ("Alfa AB", "F4002", date(2025, 9, 1), date(2025, 10, 15), None, None, "SEK",
     D(500), D(0), D(0), D(0), D(500), 0, "Lime"),
    ("Beta AB", "F4003", date(2025, 5, 1), date(2025, 6, 1), None, None, "SEK",
     D(800), D(0), D(0), D(0), D(800), 121, "Lime"),
    # Paid on 2025-10-05: still open at the report date.
    ("Beta AB", "F4004", date(2025, 7, 1), date(2025, 7, 31), None, None, "SEK",
     D(300), D(0), D(0), D(0), D(300), 61, "Lime"),
    ("Delta AB", "B1", date(2025, 9, 10), date(2025, 10, 10), None, None, "SEK",
     D(600), None, None, None, D(600), 0, "Billecta"),
    ("Gamma HB", "F4005", date(2025, 8, 15), date(2025, 8, 20), None, None, "SEK",
     D(1000), D(0), D(200), D(100), D(700), 41, "Lime"),
    # Period from its order rows.
    ("Gamma HB", "F4009", date(2025, 9, 25), date(2025, 10, 25), date(2025, 10, 1),
     date(2025, 10, 31), "SEK", D(1000), D(0), D(0), D(0), D(1000), 0, "Lime"),
]  # fmt: skip


def as_values(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Spreadsheet values as the report's types (dates come back as datetimes)."""
    out = []
    for value in row:
        if hasattr(value, "date") and callable(value.date):
            value = value.date()
        elif isinstance(value, float | int) and not isinstance(value, bool):
            value = D(str(value))
        out.append(value)
    return tuple(out)


async def test_xlsx_lists_open_invoices_at_the_date_with_totals_and_aging(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await generate(client)
    fetched = await download(client, response)

    assert fetched.headers["content-type"] == XLSX
    assert fetched.headers["content-disposition"] == (
        'attachment; filename="accounts_receivable_1001_2025-09-30.xlsx"'
    )
    book = workbook(fetched.content)
    assert book.sheetnames == ["Summary", "Invoices"]
    rows = sheet_rows(fetched.content, "Invoices")
    assert rows[0] == (
        "Debtor", "Invoice no.", "Invoice date", "Due date", "Period start", "Period end",
        "Currency", "Invoiced", "Paid", "Credited", "Written off", "Balance", "Days overdue",
        "Source",
    )  # fmt: skip
    expected = [
        tuple(D(v) if isinstance(v, int) and i == 12 else v for i, v in enumerate(row))
        for row in EXPECTED
    ]
    assert [as_values(row) for row in rows[1:-1]] == expected
    totals = as_values(rows[-1])
    assert totals[0] == "Total" and totals[6] == "SEK"
    assert totals[7:12] == (D(5600), D(250), D(200), D(100), D(5050))

    sheet = book["Invoices"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:N9"
    assert sheet["A1"].font.b and sheet["A1"].fill.fgColor.rgb.endswith("1F4E78")
    assert sheet["L2"].number_format == "#,##0.00"
    assert sheet["C2"].number_format == "yyyy-mm-dd"
    assert sheet["L10"].font.b and sheet["L10"].number_format == "#,##0.00"

    summary = sheet_rows(fetched.content, "Summary")
    assert summary[0][0] == "Accounts receivable (Kundreskontra)"
    assert ("Report date", "2025-09-30") in [row[:2] for row in summary]
    aging_at = [row[0] for row in summary].index("Aging summary SEK")
    aging = [as_values(row[:3]) for row in summary[aging_at + 2 : aging_at + 8]]
    assert aging == [
        ("Not due", D(4), D(2250)),
        ("1-30 days overdue", D(1), D(1000)),
        ("31-60 days overdue", D(1), D(700)),
        ("61-90 days overdue", D(1), D(300)),
        ("Over 90 days overdue", D(1), D(800)),
        ("Total SEK", D(8), D(5050)),
    ]
    assert "Aging summary EUR" not in [row[0] for row in summary]

    document = await session.scalar(select(Document))
    assert document is not None
    assert (document.owner_limetype, document.owner_id, document.kind) == (
        "creditor",
        1001,
        "report",
    )
    assert document.created_by == "kim"
    assert document.parameters == {
        "report": "account_receivables",
        "idcreditor": CREDITOR,
        "date": "2025-09-30",
        "exclude_invoices_with_period_outside_date": False,
        "is_period_specific": False,
        "file_format": "xlsx",
    }
    audit = await session.scalar(select(AuditRecord).where(AuditRecord.path == URL))
    assert audit is not None and (audit.limetype, audit.object_id) == ("creditor", CREDITOR)


async def test_pdf_shows_the_same_totals(client: httpx.AsyncClient) -> None:
    response = await generate(client, file_format="pdf")
    fetched = await download(client, response)

    assert fetched.headers["content-type"] == "application/pdf"
    text = text_of(fetched.content)
    assert "Accounts receivable (Kundreskontra)" in text
    assert "Generated" in text and "2025-09-30" in text
    lines = text.splitlines()
    total_at = lines.index("Total", lines.index("Debtor"))
    assert lines[total_at + 1 : total_at + 7] == [
        "SEK", "5,600.00", "250.00", "200.00", "100.00", "5,050.00",
    ]  # fmt: skip
    assert "Aging summary SEK" in lines and "Total SEK" in lines
    assert "Over 90 days overdue" in lines and "F4009" in lines and "B1" in lines
    assert "1 / 1" in lines


async def test_period_outside_the_date_can_be_excluded(client: httpx.AsyncClient) -> None:
    response = await generate(client, exclude_invoices_with_period_outside_date=True)
    rows = sheet_rows((await download(client, response)).content, "Invoices")
    assert "F4009" not in [row[1] for row in rows]
    assert as_values(rows[-1])[7:12] == (D(4600), D(250), D(200), D(100), D(4050))


async def test_period_specific_report_keeps_the_share_of_rows_up_to_the_date(
    client: httpx.AsyncClient,
) -> None:
    response = await generate(client, is_period_specific=True)
    rows = sheet_rows((await download(client, response)).content, "Invoices")
    advance = next(as_values(row) for row in rows if row[1] == "F4009")
    # October's rent (800 of 1000) is left out; the fee without a period stays.
    assert advance[7:12] == (D(200), D(0), D(0), D(0), D(200))
    assert as_values(rows[-1])[7:12] == (D(4800), D(250), D(200), D(100), D(4250))


async def test_a_past_date_rolls_payments_back(client: httpx.AsyncClient) -> None:
    response = await generate(client, date="2025-08-25")
    rows = sheet_rows((await download(client, response)).content, "Invoices")
    by_number = {row[1]: as_values(row) for row in rows[1:-1]}
    assert set(by_number) == {"F4001", "F4003", "F4004", "F4005"}
    # The credit (09-10) and the write-off (09-20) had not happened yet.
    assert by_number["F4005"][8:12] == (D(0), D(0), D(0), D(1000))
    assert by_number["F4001"][8:12] == (D(250), D(0), D(0), D(1000))


async def test_unknown_creditor_is_a_404_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(URL, json=body(idcreditor=999999))
    assert response.status_code == 404
    assert response.json() == {"error_message": "Creditor 999999 not found"}
    assert await document_count(session) == 0


async def test_creditor_without_billecta_id_is_a_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(URL, json=body(idcreditor=UNLINKED_CREDITOR))
    assert response.status_code == 404
    assert "creditorpublicid" in response.json()["error_message"]
    assert await document_count(session) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"file_format": "csv"}, "file_format"),
        ({"date": "30/09/2025"}, "date"),
        ({"idcreditor": "abc"}, "idcreditor"),
    ],
)
async def test_invalid_body_is_a_422_naming_the_field(
    client: httpx.AsyncClient, session: AsyncSession, overrides: dict[str, Any], field: str
) -> None:
    response = await client.post(URL, json=body(**overrides))
    assert response.status_code == 422
    assert field in response.json()["error_message"]
    assert await document_count(session) == 0


async def test_billecta_failure_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get(OPEN_PATH).respond(400, json={"Message": "Creditor is locked"})
        response = await client.post(URL, json=body())
    assert response.status_code == 502
    assert "Creditor is locked" in response.json()["error_message"]
    assert await document_count(session) == 0


async def test_pdf_above_the_row_cap_is_a_422_pointing_to_xlsx(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await session.execute(
        insert(Invoice),
        [
            {
                "id": 100_000 + n,
                "creditor": CREDITOR,
                "debtor": 2001,
                "invoicenumber": f"M{n:05d}",
                "invoicedate": date(2025, 9, 1),
                "invoice_expires": date(2025, 9, 30),
                "invoice_amount": D(10),
                "invoice_balance": D(10),
                "invoicestatus": "sent",
            }
            for n in range(5_000)
        ],
    )
    await session.commit()

    response = await generate(client, file_format="pdf")

    assert response.status_code == 422
    assert set(response.json()) == {"error_message"}
    assert "use xlsx" in response.json()["error_message"]
    assert await document_count(session) == 0
