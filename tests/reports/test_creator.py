"""Report creator: the shipped reports, parameters, the config list, a report from TOML alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.config import ConfigurationError
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.main import create_app
from billecta_gateway.models import Document
from billecta_gateway.reports.definitions import parse_reports_config
from tests.conftest import LIME_KEY, make_settings
from tests.reports.data import CREDITOR, seed
from tests.reports.helpers import (
    PREFIX,
    data_rows,
    document_count,
    download,
    sheet_rows,
    text_of,
    workbook,
)
from tests.reports.mixed import seed_mixed
from tests.reports.test_receivables import as_values

URL = f"{PREFIX}/billecta/report-creator"
CONFIGS = f"{PREFIX}/billecta/report-configs"
D = Decimal


@pytest.fixture(autouse=True)
async def data(session: AsyncSession) -> None:
    await seed(session)


def body(config_key: str, **fields: Any) -> dict[str, Any]:
    return {"config_key": config_key, "limetype": "creditor", "idlimeobject": CREDITOR, **fields}


async def test_accounts_receivable_as_the_spec_example_sends_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(
        URL,
        json=body(
            "accounts_receivable", file_format="xlsx", date_from="2025-08-01", date_to="2025-09-30"
        ),
    )
    content = (await download(client, response)).content

    assert workbook(content).sheetnames == ["Summary", "Accounts Receivable (Kundreskon"]
    rows = data_rows(content)
    assert rows[0] == (
        "Debtor", "Invoice no.", "OCR", "Invoice date", "Due date", "Currency", "Invoiced",
        "Paid", "Balance", "Status",
    )  # fmt: skip
    # The status is shown by its label, not its option key.
    assert [(row[0], row[1], row[9]) for row in rows[1:-1]] == [
        ("Alfa AB", "F4001", "Partially paid"),
        ("Alfa AB", "F4010", "Sent"),
        ("Alfa AB", "F4002", "Sent"),
        ("Gamma HB", "F4005", "Partially paid"),
        ("Gamma HB", "F4009", "Sent"),
    ]
    assert as_values(rows[-1])[5:9] == ("SEK", D(3900), D(250), D(3350))
    sheet = workbook(content).worksheets[1]
    assert sheet["I2"].number_format == "#,##0.00" and sheet["D2"].number_format == "yyyy-mm-dd"
    summary = sheet_rows(content, "Summary")
    assert ("Invoice date from", "2025-08-01") in [row[:2] for row in summary]
    document = await session.scalar(select(Document))
    assert document is not None
    assert (document.owner_limetype, document.owner_id) == ("creditor", CREDITOR)
    assert document.filename == f"accounts_receivable_{CREDITOR}.xlsx"
    assert document.parameters == {
        "report": "accounts_receivable",
        "config_key": "accounts_receivable",
        "limetype": "creditor",
        "idlimeobject": CREDITOR,
        "file_format": "xlsx",
        "date_from": "2025-08-01",
        "date_to": "2025-09-30",
    }


async def test_optional_boolean_parameter_filters_when_given(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json=body("accounts_receivable", disputed=True))
    rows = data_rows((await download(client, response)).content)
    assert rows[1:-1] == []


async def test_payment_summary_pdf_totals_the_period(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL,
        json=body(
            "payment_summary", file_format="pdf", date_from="2025-08-01", date_to="2025-10-31"
        ),
    )
    lines = text_of((await download(client, response)).content).splitlines()
    assert "Payment Summary" in lines
    # Payments, credits and write-offs are totalled apart, per currency, never added up.
    totals = [lines[i + 1 : i + 4] for i, line in enumerate(lines) if line == "Total"]
    assert totals == [
        ["Credit", "SEK", "200.00"],
        ["Payment", "SEK", "1,450.00"],
        ["Write-off", "SEK", "100.00"],
    ]
    assert "1,750.00" not in lines
    # Deleted payments are left out; the debtor is reached through invoice.debtor.
    assert "999.00" not in lines and "Gamma HB" in lines


async def test_option_parameter_narrows_the_rows(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL,
        json=body(
            "payment_summary", date_from="2025-08-01", date_to="2025-10-31", paymenttype="payment"
        ),
    )
    rows = sheet_rows((await download(client, response)).content, "Payment Summary")
    assert {row[1] for row in rows[1:-1]} == {"Payment"}
    assert as_values(rows[-1])[:2] + as_values(rows[-1])[7:] == ("Total", "Payment", "SEK", D(1450))


async def test_prepaid_payments_lists_payments_for_later_periods(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(URL, json=body("prepaid_payments", date="2025-09-30"))
    rows = data_rows((await download(client, response)).content)
    assert [as_values(row) for row in rows[1:]] == [
        ("Gamma HB", "F4011", date(2025, 10, 1), date(2025, 10, 31), date(2025, 9, 28), "BG",
         "SEK", D(500)),
        ("Total", None, None, None, None, None, "SEK", D(500)),
    ]  # fmt: skip


async def test_unknown_config_key_is_a_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(URL, json=body("no_such_report"))
    assert response.status_code == 404
    assert "no_such_report" in response.json()["error_message"]
    assert await document_count(session) == 0


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"date_from": "2025-08-01"}, "date_to: is required (date)"),
        ({"date_from": "yesterday", "date_to": "2025-10-31"}, "date_from: expected a date"),
        (
            {"date_from": "2025-08-01", "date_to": "2025-10-31", "paymenttype": "cash"},
            "paymenttype: expected one of",
        ),
        (
            {"date_from": "2025-08-01", "date_to": "2025-10-31", "dato": "x"},
            "dato: not a parameter of this report",
        ),
    ],
)
async def test_missing_ill_typed_or_unknown_parameter_is_a_400_naming_it(
    client: httpx.AsyncClient, session: AsyncSession, fields: dict[str, Any], named: str
) -> None:
    response = await client.post(URL, json=body("payment_summary", **fields))
    assert response.status_code == 400
    assert named in response.json()["error_message"]
    assert response.json()["errors"][0]["field"] == named.split(":")[0]
    assert await document_count(session) == 0


async def test_report_on_a_limetype_it_does_not_run_on_is_a_400(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(
        URL, json={**body("payment_summary"), "limetype": "debtor", "idlimeobject": 2001}
    )
    assert response.status_code == 400
    assert "runs on creditor" in response.json()["error_message"]


async def test_unknown_object_is_a_404(client: httpx.AsyncClient, session: AsyncSession) -> None:
    response = await client.post(URL, json={**body("accounts_receivable"), "idlimeobject": 77})
    assert response.status_code == 404
    assert response.json() == {"error_message": "creditor 77 not found"}
    assert await document_count(session) == 0


async def test_report_configs_list_the_shipped_reports(client: httpx.AsyncClient) -> None:
    response = await client.get(CONFIGS)
    assert response.status_code == 200
    items = {item["config_key"]: item for item in response.json()["items"]}
    assert set(items) == {"accounts_receivable", "payment_summary", "prepaid_payments"}
    summary = items["payment_summary"]
    assert summary["owner_limetypes"] == ["creditor"]
    assert summary["file_formats"] == ["xlsx", "pdf"]
    assert [(p["name"], p["type"], p["required"]) for p in summary["parameters"]] == [
        ("date_from", "date", True),
        ("date_to", "date", True),
        ("paymenttype", "option", False),
    ]
    assert summary["parameters"][2]["options"][:2] == ["payment", "manual"]
    assert {"field": "amount", "label": "Amount", "format": "money", "sum": True} in summary[
        "columns"
    ]
    assert (await client.get(CONFIGS, params={"limetype": "debtor"})).json() == {"items": []}


FOURTH_REPORT = """
[reports.debtors_descending]
title = "Debtors, Ö to A"
limetype = "invoice"
owners = { creditor = "creditor" }
sort = ["-debtor.name"]
filter = { key = "invoicestatus", op = "IN", exp = ["sent", "subpaid", "expired"] }

[[reports.debtors_descending.columns]]
field = "debtor.name"
label = "Debtor"

[reports.open_invoices_by_balance]
title = "Open invoices by balance"
limetype = "invoice"
owners = { creditor = "creditor", debtor = "debtor" }
sort = ["-invoice_balance"]
filter = { op = "AND", exp = [
  { key = "invoicestatus", op = "IN", exp = ["sent", "subpaid", "expired"] },
  { key = "invoice_balance", op = ">", exp = { param = "min_balance" } },
] }

[[reports.open_invoices_by_balance.parameters]]
name = "min_balance"
type = "decimal"
label = "Balance above"
default = 0

[[reports.open_invoices_by_balance.columns]]
field = "invoicenumber"
label = "Number"

[[reports.open_invoices_by_balance.columns]]
field = "creditor.name"
label = "Creditor"

[[reports.open_invoices_by_balance.columns]]
field = "currency"
label = "Currency"

[[reports.open_invoices_by_balance.columns]]
field = "invoice_balance"
label = "Balance"
number_format = "#,##0.00 \\"kr\\""
sum = true
"""


@pytest.fixture
async def custom_client(
    tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    path = tmp_path / "reports.toml"
    path.write_text(FOURTH_REPORT, encoding="utf-8")
    application: FastAPI = create_app(make_settings(reports_config_file=path), configure_logs=False)
    async with application.router.lifespan_context(application):
        application.state.sessionmaker = sessionmaker
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application),
            base_url="http://gateway.test",
            headers={"x-api-key": LIME_KEY},
        ) as client:
            yield client


async def test_a_report_defined_in_toml_alone_is_generated(
    custom_client: httpx.AsyncClient,
) -> None:
    listed = (await custom_client.get(CONFIGS)).json()["items"]
    assert [item["config_key"] for item in listed] == [
        "debtors_descending",
        "open_invoices_by_balance",
    ]
    assert listed[1]["owner_limetypes"] == ["creditor", "debtor"]

    response = await custom_client.post(
        URL,
        json={"config_key": "open_invoices_by_balance", "limetype": "debtor", "idlimeobject": 2001},
    )
    content = (await download(custom_client, response)).content
    rows = sheet_rows(content, "Open invoices by balance")
    # Run on a debtor: its invoices of every creditor, largest balance first.
    assert [as_values(row) for row in rows[1:]] == [
        ("F4001", "Fastighets AB Ek", "SEK", D(1000)),
        ("X1", "Other AB", "SEK", D(999)),
        ("F4007", "Fastighets AB Ek", "SEK", D(700)),
        ("F4002", "Fastighets AB Ek", "SEK", D(500)),
        ("F4010", "Fastighets AB Ek", "SEK", D(150)),
        ("Total", None, "SEK", D(3349)),
    ]
    sheet = workbook(content)["Open invoices by balance"]
    assert sheet["D2"].number_format == '#,##0.00 "kr"'

    response = await custom_client.post(
        f"{PREFIX}/billecta/report-creator",
        json={
            "config_key": "open_invoices_by_balance",
            "limetype": "debtor",
            "idlimeobject": 2001,
            "min_balance": "600",
            "file_format": "pdf",
        },
    )
    lines = text_of((await download(custom_client, response)).content).splitlines()
    assert lines[lines.index("Total") + 1 : lines.index("Total") + 3] == ["SEK", "2,699.00"]
    assert "Balance above" in lines and "600" in lines


@pytest.mark.parametrize(
    ("toml_change", "message"),
    [
        ({"limetype": "invoicez"}, "unknown limetype"),
        (
            {"columns": [{"field": "debtor.nonexistent"}]},
            "'nonexistent' is not a property of debtor",
        ),
        ({"columns": [{"field": "invoicenumber", "sum": True}]}, "sum = true needs"),
        ({"owners": {"creditor": "debtor"}}, "must be a relation to creditor"),
        ({"sort": ["debtor.city.name"]}, "'city' is not a relation of debtor"),
        (
            {"filter": {"key": "invoicedate", "op": ">=", "exp": {"param": "since"}}},
            "undeclared parameters ['since']",
        ),
        ({"filter": {"key": "nope", "op": "=", "exp": 1}}, "'nope' is not a property of invoice"),
        ({"colour": "red"}, "unknown keys ['colour']"),
        (
            {"columns": [{"field": "invoice_balance", "sum": True}]},
            "sum = true on a money column needs a currency column",
        ),
        (
            {
                "columns": [{"field": "currency"}, {"field": "invoice_balance", "sum": True}],
                "totals_by": ["invoicestatus"],
            },
            "totals_by ['invoicestatus'] must be fields of the report's columns",
        ),
        (
            {"columns": [{"field": "invoicenumber", "labels": {"a": "A"}}]},
            "labels are only for option properties",
        ),
    ],
)
def test_configuration_mistakes_are_named_when_loaded(
    toml_change: dict[str, Any], message: str
) -> None:
    report: dict[str, Any] = {
        "title": "T",
        "limetype": "invoice",
        "owners": {"creditor": "creditor"},
        "columns": [{"field": "invoicenumber"}],
    }
    report.update(toml_change)
    with pytest.raises(ConfigurationError) as caught:
        parse_reports_config({"reports": {"bad": report}}, LimeSchema())
    assert message in str(caught.value)


async def test_sums_are_per_currency_and_names_in_swedish_order(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_mixed(session)
    response = await client.post(URL, json=body("accounts_receivable"))
    rows = data_rows((await download(client, response)).content)
    data = [row for row in rows[1:] if row[0] != "Total"]
    assert [(row[0], row[1], row[5], row[9]) for row in data] == [
        ("Alfa AB", "F4001", "SEK", "Partially paid"),
        ("Alfa AB", "F4010", "SEK", "Sent"),
        ("Alfa AB", "F4002", "SEK", "Sent"),
        ("Alfa AB", "F4007", "SEK", "Sent"),
        ("Beta AB", "F4003", "SEK", "Overdue"),
        ("beta bygg", "M4104", "NOK", "Sent"),
        ("Gamma HB", "F4005", "SEK", "Partially paid"),
        ("Gamma HB", "F4009", "SEK", "Sent"),
        ("Zeta AB", "M4105", "EUR", "Partially paid"),
        ("Åkesson AB", "M4101", "EUR", "Sent"),
        ("Ängby HB", "M4102", "SEK", "Sent"),
        ("Öberg AB", "M4103", "EUR", "Partially paid"),
    ]
    # Currency, invoiced, paid, balance: one totals row per currency, SEK first.
    assert [as_values(row)[5:9] for row in rows if row[0] == "Total"] == [
        ("SEK", D("6634.56"), D(250), D("6084.56")),
        ("EUR", D("750.5"), D(40), D("660.5")),
        ("NOK", D(1000), D(0), D(1000)),
    ]


async def test_descending_text_sort_is_reverse_swedish_order(
    custom_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_mixed(session)
    response = await custom_client.post(
        URL,
        json={"config_key": "debtors_descending", "limetype": "creditor", "idlimeobject": CREDITOR},
    )
    rows = data_rows((await download(custom_client, response)).content)
    names = list(dict.fromkeys(row[0] for row in rows[1:]))
    assert names == [
        "Öberg AB", "Ängby HB", "Åkesson AB", "Zeta AB", "Gamma HB", "beta bygg", "Beta AB",
        "Alfa AB",
    ]  # fmt: skip
