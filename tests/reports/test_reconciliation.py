"""Account reconciliation: mirror against Billecta, account movements, both formats."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Creditor, Invoice, Payment
from tests.conftest import BILLECTA_URL
from tests.reports.data import (
    CLOSED_INVOICES,
    CREDITOR,
    CREDITOR_PUBLIC_ID,
    INCOMING_PAYMENTS,
    OPEN_INVOICES,
    seed,
)
from tests.reports.helpers import PREFIX, document_count, download, sheet_rows, text_of
from tests.reports.test_receivables import as_values

URL = f"{PREFIX}/billecta/account-reconciliation-report"
D = Decimal


@pytest.fixture(autouse=True)
async def data(session: AsyncSession) -> None:
    await seed(session)


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "idcreditor": CREDITOR,
        "from_date": "2025-08-01",
        "to_date": "2025-09-30",
        "account": "1510",
        "date_selection_type": "invoice_date",
        "opening_balance": 10000.50,
        **overrides,
    }


async def by_invoice_date(client: httpx.AsyncClient, **overrides: Any) -> httpx.Response:
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        open_route = billecta.get(f"/v1/invoice/open/{CREDITOR_PUBLIC_ID}").respond(
            json=OPEN_INVOICES
        )
        closed_route = billecta.get(f"/v1/invoice/closed/{CREDITOR_PUBLIC_ID}").respond(
            json=CLOSED_INVOICES
        )
        response = await client.post(URL, json=body(**overrides))
    assert open_route.call_count == 1
    assert closed_route.call_count == 1
    params = dict(closed_route.calls.last.request.url.params)
    assert params == {"from": "2025-08-01", "to": max(today.isoformat(), "2025-09-30")}
    return response


def section(rows: list[tuple[Any, ...]], title: str) -> list[tuple[Any, ...]]:
    """The rows of a summary table (under its heading and header), up to the next blank."""
    start = [row[0] for row in rows].index(title) + 2
    end = start
    while end < len(rows) and any(value is not None for value in rows[end]):
        end += 1
    trimmed = []
    for row in rows[start:end]:
        values = list(as_values(row))
        while values and values[-1] is None:
            values.pop()
        trimmed.append(tuple(values))
    return trimmed


async def test_invoices_are_compared_and_receivables_movements_booked(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await by_invoice_date(client)
    content = (await download(client, response)).content

    compared = sheet_rows(content, "Invoices compared")
    assert compared[0][:4] == ("Result", "Invoice no.", "Debtor", "Invoice date")
    results = {row[1]: row[0] for row in compared[1:-1]}
    assert results == {
        "F4001": "Matched",
        "F4005": "Amount and status mismatch",
        "F4002": "Matched",
        "F4008": "Matched",
        "F4006": "Matched",
        "F4010": "Only in Lime",
        "F4011": "Matched",
        "F4009": "Amount mismatch",
        "B1": "Only in Billecta",
    }
    mismatch = as_values(next(row for row in compared if row[1] == "F4009"))
    # The Lime status is shown by its label, not its option key.
    assert mismatch[4:] == (D(1000), D(1000), D(1000), D(900), D(100), "Sent", "InvoiceSent")
    subpaid = as_values(next(row for row in compared if row[1] == "F4005"))
    assert subpaid[9] == "Partially paid"
    assert as_values(compared[-1])[4:9] == (D(5000), D(5450), D(3350), D(3000), D(350))

    # Invoices debit receivables on their invoice date; the period's payments, credit and
    # write-off credit it on their own dates, although invoices are what is compared.
    movements = sheet_rows(content, "Movements on 1510")
    assert as_values(movements[1])[1::5] == ("Opening balance", D("10000.5"))
    assert [as_values(row)[1:] for row in movements[2:-1]] == [
        ("Invoice F4001", "Alfa AB", "Invoice total", D(1250), None, D("11250.5")),
        ("Invoice F4005", "Gamma HB", "Invoice total", D(1000), None, D("12250.5")),
        ("Payment F4001", "Alfa AB", "Payment (BG)", None, D(250), D("12000.5")),
        ("Invoice F4002", "Alfa AB", "Invoice total", D(500), None, D("12500.5")),
        ("Invoice F4006", "Gamma HB", "Invoice total", D(400), None, D("12900.5")),
        ("Credit F4005", "Gamma HB", "Credit", None, D(200), D("12700.5")),
        ("Invoice F4010", "Alfa AB", "Invoice total", D(150), None, D("12850.5")),
        ("Payment F4006", "Gamma HB", "Payment (SWISH)", None, D(400), D("12450.5")),
        ("Invoice F4011", "Gamma HB", "Invoice total", D(500), None, D("12950.5")),
        ("Write-off F4005", "Gamma HB", "Write-off", None, D(100), D("12850.5")),
        ("Invoice F4009", "Gamma HB", "Invoice total", D(1000), None, D("13850.5")),
        ("Payment F4011", "Gamma HB", "Payment (BG)", None, D(500), D("13350.5")),
    ]
    assert as_values(movements[-1])[4:6] == (D(4800), D(1450))

    summary = sheet_rows(content, "Summary")
    assert section(summary, "Account 1510") == [
        ("Opening balance", D("10000.5")),
        ("Debit", D(4800)),
        ("Credit", D(1450)),
        ("Closing balance", D("13350.5")),
    ]
    counts = {row[0]: row[1] for row in section(summary, "Invoices compared")}
    assert counts == {
        "Matched": D(5),
        "Amount mismatch": D(1),
        "Status mismatch": D(0),
        "Amount and status mismatch": D(1),
        "Only in Lime": D(1),
        "Only in Billecta": D(1),
        "Total": D(9),
    }
    assert await document_count(session) == 1


async def test_pdf_shows_the_same_balances(client: httpx.AsyncClient) -> None:
    response = await by_invoice_date(client, file_format="pdf")
    lines = text_of((await download(client, response)).content).splitlines()

    assert "Account reconciliation" in lines
    closing = lines.index("Closing balance")
    assert lines[closing + 1] == "13,350.50"
    assert lines[lines.index("Debit") + 1] == "4,800.00"
    assert lines[lines.index("Credit") + 1] == "1,450.00"
    assert "Amount and status mismatch" in lines and "Only in Billecta" in lines


async def test_sales_rows_are_booked_on_their_articles_accounts(
    client: httpx.AsyncClient,
) -> None:
    response = await by_invoice_date(client, account="3010", opening_balance=None)
    movements = sheet_rows((await download(client, response)).content, "Movements on 3010")
    # October's rent on F4009: 640 net, credited to the rent article's account.
    assert [as_values(row) for row in movements[2:-1]] == [
        (date(2025, 9, 25), "Invoice F4009", "Gamma HB", "Hyra", None, D(640), D(-640)),
    ]


async def test_payments_are_compared_with_billecta_incoming_payments(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.put("/v1/payments/incomingpayments").respond(json=INCOMING_PAYMENTS)
        response = await client.post(
            URL,
            json=body(
                date_selection_type="payment_date",
                to_date="2025-10-31",
                account="1930",
                opening_balance=None,
            ),
        )
    sent = json.loads(route.calls.last.request.content)
    assert sent["CreditorPublicId"] == CREDITOR_PUBLIC_ID
    assert sent["From"].startswith("2025-08-01") and sent["To"].startswith("2025-11-01")
    content = (await download(client, response)).content

    compared = sheet_rows(content, "Payments compared")
    assert [(row[0], row[9]) for row in compared[1:-1]] == [
        ("Matched", "ref-1"),
        ("Amount mismatch", "ref-5"),
        ("Matched", "ref-6"),
        ("Only in Lime", "ref-2"),
        ("Only in Billecta", "ref-9"),
    ]
    movements = sheet_rows(content, "Movements on 1930")
    assert [(row[1], row[3]) for row in movements[2:-1]] == [
        ("Payment F4001", "Payment (BG)"),
        ("Payment F4006", "Payment (SWISH)"),
        ("Payment F4011", "Payment (BG)"),
    ]
    assert section(sheet_rows(content, "Summary"), "Account 1930")[-1] == (
        "Closing balance",
        D(1150),
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"from_date": "2025-10-01"}, "from_date (2025-10-01) is after to_date (2025-09-30)"),
        ({"date_selection_type": "closing_date"}, "date_selection_type 'closing_date'"),
    ],
)
async def test_bad_period_or_date_selection_is_a_400(
    client: httpx.AsyncClient, session: AsyncSession, overrides: dict[str, Any], message: str
) -> None:
    response = await client.post(URL, json=body(**overrides))
    assert response.status_code == 400
    assert message in response.json()["error_message"]
    assert await document_count(session) == 0


async def test_unknown_creditor_is_a_404(client: httpx.AsyncClient, session: AsyncSession) -> None:
    response = await client.post(URL, json=body(idcreditor=424242))
    assert response.status_code == 404
    assert response.json() == {"error_message": "Creditor 424242 not found"}
    assert await document_count(session) == 0


LEDGER_CREDITOR = 1010
LEDGER_PUBLIC_ID = "c0ffee00-0000-4000-8000-000000001010"


async def seed_ledger(session: AsyncSession) -> None:
    """The issue's repro: September invoices of 1,600, a payment of 600, a write-off of 500."""
    session.add(Creditor(id=LEDGER_CREDITOR, name="Ledger AB", creditorpublicid=LEDGER_PUBLIC_ID))
    await session.flush()
    session.add_all(
        [
            Invoice(id=4201, creditor=LEDGER_CREDITOR, debtor=2001, invoicenumber="L1",
                    actionpublicid="act-l1", invoicestatus="paid", currency="SEK",
                    invoicedate=date(2025, 9, 1), invoice_expires=date(2025, 9, 20),
                    invoice_amount=D(1000), invoice_balance=D(0)),
            Invoice(id=4202, creditor=LEDGER_CREDITOR, debtor=2002, invoicenumber="L2",
                    actionpublicid="act-l2", invoicestatus="sent", currency="SEK",
                    invoicedate=date(2025, 9, 5), invoice_expires=date(2025, 9, 30),
                    invoice_amount=D(600), invoice_balance=D(500)),
        ]
    )  # fmt: skip
    await session.flush()
    session.add_all(
        [
            Payment(id=5201, invoice=4201, creditor=LEDGER_CREDITOR, paymenttype="payment",
                    paymentstatus="received", amount=D(600), paymentdate=date(2025, 9, 20),
                    paymentreferenceid="ref-l1", actionpublicid="act-l1",
                    paymentmeancode="BG"),
            Payment(id=5202, invoice=4201, creditor=LEDGER_CREDITOR, paymenttype="writeoff",
                    paymentstatus="received", amount=D(500), paymentdate=date(2025, 9, 25),
                    paymentreferenceid="ref-l2", actionpublicid="act-l1"),
        ]
    )  # fmt: skip
    await session.commit()


@pytest.mark.parametrize("selection", ["invoice_date", "due_date", "payment_date"])
async def test_the_ledger_repro_closes_at_10500_50_whatever_is_compared(
    client: httpx.AsyncClient, session: AsyncSession, selection: str
) -> None:
    await seed_ledger(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        billecta.get(f"/v1/invoice/open/{LEDGER_PUBLIC_ID}").respond(json=[])
        billecta.get(f"/v1/invoice/closed/{LEDGER_PUBLIC_ID}").respond(json=[])
        billecta.put("/v1/payments/incomingpayments").respond(json=[])
        response = await client.post(
            URL,
            json=body(
                idcreditor=LEDGER_CREDITOR,
                from_date="2025-09-01",
                to_date="2025-09-30",
                date_selection_type=selection,
            ),
        )
    content = (await download(client, response)).content
    assert section(sheet_rows(content, "Summary"), "Account 1510") == [
        ("Opening balance", D("10000.5")),
        ("Debit", D(1600)),
        ("Credit", D(1100)),
        ("Closing balance", D("10500.5")),
    ]
    movements = sheet_rows(content, "Movements on 1510")
    assert [row[1] for row in movements[2:-1]] == [
        "Invoice L1", "Invoice L2", "Payment L1", "Write-off L1"
    ] if selection != "due_date" else [
        "Invoice L1", "Payment L1", "Write-off L1", "Invoice L2"
    ]  # fmt: skip
    assert as_values(movements[-2])[6] == D("10500.5")
