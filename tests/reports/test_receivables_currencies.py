"""Accounts receivable with several currencies, Swedish names and a past report date: totals
and aging per currency, Swedish order, Billecta invoices closed after the date."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import BILLECTA_URL
from tests.reports.data import CREDITOR, OPEN_INVOICES, seed
from tests.reports.helpers import PREFIX, download, serve_invoice_lists, sheet_rows, text_of
from tests.reports.mixed import CLOSED_AFTER, PAID_AFTER, seed_mixed
from tests.reports.test_receivables import as_values
from tests.reports.test_reconciliation import section

URL = f"{PREFIX}/billecta/account-receivables-report"
D = Decimal


@pytest.fixture(autouse=True)
async def data(session: AsyncSession) -> None:
    await seed(session)
    await seed_mixed(session)


async def generate(
    client: httpx.AsyncClient, **overrides: Any
) -> tuple[httpx.Response, dict[str, respx.Route]]:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        routes = serve_invoice_lists(
            billecta, open_items=OPEN_INVOICES, closed_items=CLOSED_AFTER, payments=PAID_AFTER
        )
        response = await client.post(
            URL, json={"idcreditor": CREDITOR, "date": "2025-09-30", **overrides}
        )
    return response, routes


async def test_rows_are_in_swedish_order_with_their_currency(client: httpx.AsyncClient) -> None:
    response, _ = await generate(client)
    rows = sheet_rows((await download(client, response)).content, "Invoices")
    data = [as_values(row) for row in rows[1:] if row[0] != "Total"]
    assert [(row[0], row[1], row[6]) for row in data] == [
        ("Alfa AB", "F4001", "SEK"),
        ("Alfa AB", "F4010", "SEK"),
        ("Alfa AB", "F4002", "SEK"),
        ("Beta AB", "F4003", "SEK"),
        ("Beta AB", "F4004", "SEK"),
        # Case-insensitive first: byte order would put it after Ö.
        ("beta bygg", "M4104", "NOK"),
        ("Delta AB", "B1", "SEK"),
        ("Gamma HB", "F4005", "SEK"),
        ("Gamma HB", "F4009", "SEK"),
        ("Zeta AB", "M4105", "EUR"),
        # Å, Ä, Ö after Z in that order (byte order puts Ä before Å).
        ("Åkesson AB", "M4101", "EUR"),
        ("Ängby HB", "M4102", "SEK"),
        ("Öberg AB", "M4103", "EUR"),
        ("Ödlan AB", "E1", "EUR"),
    ]


async def test_totals_are_per_currency_sek_first(client: httpx.AsyncClient) -> None:
    response, _ = await generate(client)
    rows = sheet_rows((await download(client, response)).content, "Invoices")
    totals = [as_values(row) for row in rows if row[0] == "Total"]
    # Currency, invoiced, paid, credited, written off, balance.
    assert [row[6:12] for row in totals] == [
        ("SEK", D("6834.56"), D(250), D(200), D(100), D("6284.56")),
        ("EUR", D("1050.5"), D(40), D(0), D(0), D("1010.5")),
        ("NOK", D(1000), D(0), D(0), D(0), D(1000)),
    ]
    # The write-off of 2025-10-10 is rolled back; the EUR payment of 09-20 is not.
    by_number = {row[1]: row for row in (as_values(r) for r in rows[1:])}
    assert by_number["M4105"][7:12] == (D(200), D(0), D(0), D(0), D(200))
    assert by_number["M4103"][7:12] == (D(100), D(40), D(0), D(0), D(60))


async def test_aging_is_one_block_per_currency(client: httpx.AsyncClient) -> None:
    response, _ = await generate(client)
    summary = sheet_rows((await download(client, response)).content, "Summary")
    titles = [row[0] for row in summary if str(row[0]).startswith("Aging summary")]
    assert titles == ["Aging summary SEK", "Aging summary EUR", "Aging summary NOK"]
    assert section(summary, "Aging summary SEK") == [
        ("Not due", D(4), D(2250)),
        ("1-30 days overdue", D(1), D(1000)),
        ("31-60 days overdue", D(1), D(700)),
        ("61-90 days overdue", D(2), D("1534.56")),
        ("Over 90 days overdue", D(1), D(800)),
        ("Total SEK", D(9), D("6284.56")),
    ]
    assert section(summary, "Aging summary EUR") == [
        ("Not due", D(2), D(360)),
        ("1-30 days overdue", D(0), D(0)),
        ("31-60 days overdue", D(1), D(200)),
        ("61-90 days overdue", D(1), D("450.5")),
        ("Over 90 days overdue", D(0), D(0)),
        ("Total EUR", D(4), D("1010.5")),
    ]
    assert section(summary, "Aging summary NOK") == [
        ("Not due", D(0), D(0)),
        ("1-30 days overdue", D(1), D(1000)),
        ("31-60 days overdue", D(0), D(0)),
        ("61-90 days overdue", D(0), D(0)),
        ("Over 90 days overdue", D(0), D(0)),
        ("Total NOK", D(1), D(1000)),
    ]


async def test_pdf_has_the_same_blocks_per_currency(client: httpx.AsyncClient) -> None:
    response, _ = await generate(client, file_format="pdf")
    lines = text_of((await download(client, response)).content).splitlines()
    blocks = [line for line in lines if line.startswith("Aging summary")]
    assert blocks == ["Aging summary SEK", "Aging summary EUR", "Aging summary NOK"]
    eur = lines.index("Aging summary EUR")
    overdue = lines.index("61-90 days overdue", eur)
    assert lines[overdue + 1 : overdue + 3] == ["1", "450.50"]
    assert lines[lines.index("Total EUR") + 1 : lines.index("Total EUR") + 3] == ["4", "1,010.50"]
    # The invoice table's totals rows, SEK first.
    totals = [i for i, line in enumerate(lines) if line == "Total"]
    assert [lines[i + 1 : i + 3] for i in totals] == [
        ["SEK", "6,834.56"],
        ["EUR", "1,050.50"],
        ["NOK", "1,000.00"],
    ]
    assert "1,685.06" not in lines


async def test_past_date_includes_the_invoice_paid_after_it(client: httpx.AsyncClient) -> None:
    response, routes = await generate(client)
    rows = sheet_rows((await download(client, response)).content, "Invoices")
    by_number = {row[1]: as_values(row) for row in rows[1:] if row[0] != "Total"}
    # Closed in Billecta on 2025-10-05, unknown to the mirror: 300 EUR open at the date.
    assert by_number["E1"][6:] == ("EUR", D(300), None, None, None, D(300), 0, "Billecta")
    # Closed before the date, cancelled, invoiced after it: not receivables at the date.
    assert not {"E2", "E3", "E4"} & set(by_number)
    # Listed once although both the mirror and Billecta's closed list hold it.
    assert [row[1] for row in rows].count("F4004") == 1

    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    asked = [
        (date.fromisoformat(call.request.url.params["from"]),
         date.fromisoformat(call.request.url.params["to"]))
        for call in routes["closed"].calls
    ]  # fmt: skip
    assert asked[0][0] == date(2025, 9, 30) and asked[-1][1] == today
    assert all((end - start).days <= 30 for start, end in asked)
    assert all(b[0] == a[1] + timedelta(days=1) for a, b in pairwise(asked))
    # Payments are only asked for the invoices only Billecta holds, after the date.
    filters = {
        tuple(sorted(json.loads(call.request.content)["ActionPublicIdFilter"]))
        for call in routes["incoming"].calls
    }
    assert filters == {("act-b1", "act-e1")}


async def test_todays_report_reads_no_closed_list(client: httpx.AsyncClient) -> None:
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        routes = serve_invoice_lists(billecta, open_items=OPEN_INVOICES, closed_items=CLOSED_AFTER)
        response = await client.post(URL, json={"idcreditor": CREDITOR, "date": today.isoformat()})
    rows = sheet_rows((await download(client, response)).content, "Invoices")
    assert "E1" not in [row[1] for row in rows]
    assert routes["closed"].call_count == 0 and routes["incoming"].call_count == 0
