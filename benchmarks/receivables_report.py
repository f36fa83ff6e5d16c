"""Benchmark: the accounts receivable report for 100,000 invoices as xlsx (DESIGN §7).

Creates a scratch database, migrates it, seeds one creditor's invoices (with orders, rows and
payments), answers Billecta's open-invoice list, its closed-invoice lists since the report date
(31-day windows) and incoming payments from an in-process mock transport, then
generates the report through the service (streamed rows, write-only workbook) and, side by
side, a bare openpyxl write-only loop of the same cells. Each is run twice: once timed, once
under tracemalloc for its peak memory growth. The scratch database is dropped at the end.

    python benchmarks/receivables_report.py [--invoices 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import random
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
from alembic import command
from alembic.config import Config
from benchkit import ROOT, admin_execute, plain_dsn
from openpyxl import Workbook, load_workbook
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.config import Settings
from billecta_gateway.reports.output import CHUNK_ROWS
from billecta_gateway.reports.schemas import AccountReceivablesReportRequest
from billecta_gateway.reports.service import create_account_receivables_report

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/billecta_gateway_bench"
BILLECTA_URL = "https://billecta.bench"
CREDITOR_ID = 1
CREDITOR_PUBLIC_ID = "bench-creditor-0001"
REPORT_DATE = date(2025, 9, 30)
COLUMNS = 14


def migrate(url: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")


async def seed(
    url: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[tuple[date, dict[str, Any]]]]:
    """Write the invoices; answer the Billecta open list and the (closing day, item) of the
    invoices closed after the report date, as the mock will serve them."""
    rng = random.Random(7)
    invoices: int = params["invoices"]
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        await conn.execute(
            "INSERT INTO creditor (id, name, creditorpublicid) VALUES ($1, $2, $3)",
            CREDITOR_ID,
            "Bench Fastigheter AB",
            CREDITOR_PUBLIC_ID,
        )
        await conn.copy_records_to_table(
            "debtor",
            records=[(d, f"Debtor {d:06d} AB") for d in range(1, params["debtors"] + 1)],
            columns=["id", "name"],
        )
        await conn.copy_records_to_table(
            "article",
            records=[(1, "Hyra", "3010", Decimal(25)), (2, "Avgift", "3540", Decimal(25))],
            columns=["id", "name", "bookkeepingaccount", "vat"],
        )
        orders, rows, invoice_rows, payments = [], [], [], []
        billecta_open: list[dict[str, Any]] = []
        billecta_closed: list[tuple[date, dict[str, Any]]] = []
        for n in range(1, invoices + 1):
            debtor = rng.randint(1, params["debtors"])
            invoiced_on = REPORT_DATE - timedelta(days=rng.randint(-20, 400))
            due = invoiced_on + timedelta(days=30)
            period_start = date(invoiced_on.year, invoiced_on.month, 1)
            net = Decimal(rng.randint(2_000, 12_000))
            amount = net * Decimal("1.25")
            paid = amount if rng.random() < 0.3 else Decimal(0)
            balance = amount - paid
            action = f"act-{n:07d}"
            orders.append((n, CREDITOR_ID, debtor, action))
            rows.append((n, n, 1, 1, Decimal(1), net, Decimal(25), period_start))
            invoice_rows.append(
                (n, CREDITOR_ID, debtor, n, action, f"F{n:07d}", "paid" if paid else "sent",
                 invoiced_on, due, amount, paid, balance, Decimal(0), Decimal(0), "SEK")
            )  # fmt: skip
            if paid:
                paid_on = invoiced_on + timedelta(days=rng.randint(1, 60))
                payments.append(
                    (n, n, CREDITOR_ID, "payment", "received", paid, paid_on, f"ref-{n}", action)
                )
                if paid_on > REPORT_DATE:
                    item = _billecta_item(action, n, debtor, amount, invoiced_on, due)
                    item.update(Stage="Completed", CurrentAmount=_money(Decimal(0)),
                                ClosedDate=f"{paid_on.isoformat()}T12:00:00")  # fmt: skip
                    billecta_closed.append((paid_on, item))
            elif invoiced_on <= REPORT_DATE:
                billecta_open.append(_billecta_item(action, n, debtor, amount, invoiced_on, due))
        for n in range(params["billecta_only"]):
            invoiced_on = REPORT_DATE - timedelta(days=rng.randint(0, 200))
            amount = Decimal(rng.randint(100, 5_000))
            billecta_open.append(
                _billecta_item(f"remote-{n}", 900_000 + n, 1, amount, invoiced_on,
                               invoiced_on + timedelta(days=30))
            )  # fmt: skip
        await conn.copy_records_to_table(
            "order", records=orders, columns=["id", "creditor", "debtor", "actionpublicid"]
        )
        await conn.copy_records_to_table(
            "orderrow",
            records=rows,
            columns=["id", "order", "article", "position", "quantity", "unitprice", "vat",
                     "period_start"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "invoice",
            records=invoice_rows,
            columns=["id", "creditor", "debtor", "order", "actionpublicid", "invoicenumber",
                     "invoicestatus", "invoicedate", "invoice_expires", "invoice_amount",
                     "paid_amount", "invoice_balance", "credited_amount", "writtenoff_amount",
                     "currency"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "payment",
            records=payments,
            columns=["id", "invoice", "creditor", "paymenttype", "paymentstatus", "amount",
                     "paymentdate", "paymentreferenceid", "actionpublicid"],
        )  # fmt: skip
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return billecta_open, billecta_closed


def _money(value: Decimal) -> dict[str, Any]:
    return {"CurrencyCode": "SEK", "Value": int(value * 100), "ValueForView": float(value)}


def _billecta_item(
    action: str, number: int, debtor: int, amount: Decimal, invoiced_on: date, due: date
) -> dict[str, Any]:
    return {
        "ActionPublicId": action,
        "CreditorPublicId": CREDITOR_PUBLIC_ID,
        "DebtorPublicId": f"debtor-{debtor}",
        "DebtorName": f"Debtor {debtor:06d} AB",
        "InvoiceNumber": f"F{number:07d}",
        "InvoicedAmount": _money(amount),
        "CurrentAmount": _money(amount),
        "Stage": "InvoiceSent",
        "ActionType": "InvoiceAction",
        "InvoiceDate": f"{invoiced_on.isoformat()}T00:00:00",
        "DueDate": f"{due.isoformat()}T00:00:00",
        "IsPaused": False,
        "IsDisputed": False,
    }


def bare_cells(rows: int) -> Iterator[list[Any]]:
    """Values of the report's types (text, dates, currency, money, integers), one row at a time."""
    day = date(2025, 1, 1)
    for n in range(rows):
        amount = Decimal(n % 10_000) + Decimal("0.25")
        yield [
            f"Debtor {n % 5_000:06d} AB", f"F{n:07d}", day, day, day, day, "SEK", amount,
            Decimal(0), Decimal(0), Decimal(0), amount, n % 120, "Lime",
        ]  # fmt: skip


def bare_openpyxl(rows: int) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Invoices")
    sheet.append([f"Column {i}" for i in range(COLUMNS)])
    for row in bare_cells(rows):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return len(buffer.getvalue())


async def measure(label: str, work: Callable[[], Awaitable[int]]) -> tuple[float, float, int]:
    """(seconds, peak MB growth under tracemalloc, result) of two runs of `work`."""
    gc.collect()
    started = time.perf_counter()
    result = await work()
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    await work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    growth = (peak - base) / 2**20
    print(f"{label:<34} {seconds:8.2f} s   peak +{growth:7.1f} MB   ({result:,} bytes)")
    return seconds, growth, result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    url: str = args.database_url
    params = {
        "invoices": args.invoices,
        "debtors": 5_000,
        "billecta_only": 1_000,
        "report_date": REPORT_DATE.isoformat(),
        "file_format": "xlsx",
        "cursor_chunk_rows": CHUNK_ROWS,
        "paid_share": "30 % paid (one payment each), the rest open",
        "billecta_open_list": "every open mirror invoice plus the Billecta-only ones",
    }
    name = make_url(url).database
    await admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                        f'CREATE DATABASE "{name}"')  # fmt: skip
    try:
        await asyncio.to_thread(migrate, url)
        billecta_open, billecta_closed = await seed(url, params)
        payload = json.dumps(billecta_open).encode()
        params["billecta_open_items"] = len(billecta_open)
        params["billecta_closed_after_date"] = len(billecta_closed)
        del billecta_open
        print("fixed parameters:")
        for key, value in params.items():
            print(f"  {key} = {value}")

        def answer(request: httpx.Request) -> httpx.Response:
            path = request.url.path
            if path == f"/v1/invoice/closed/{CREDITOR_PUBLIC_ID}":
                low = date.fromisoformat(request.url.params["from"])
                high = date.fromisoformat(request.url.params["to"])
                items = [item for day, item in billecta_closed if low <= day <= high]
                body = json.dumps(items).encode()
            elif path == "/v1/payments/incomingpayments":
                body = b"[]"
            else:
                assert path == f"/v1/invoice/open/{CREDITOR_PUBLIC_ID}", path
                body = payload
            return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

        settings = Settings(
            _env_file=None,
            database_url=url,
            billecta_base_url=BILLECTA_URL,
            billecta_authentication="SecureToken YmVuY2g=",
            lime_api_keys="bench",
            webhook_api_key="bench",
        )
        engine = create_async_engine(url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        billecta = BillectaClient(
            base_url=BILLECTA_URL,
            authentication="SecureToken YmVuY2g=",
            transport=httpx.MockTransport(answer),
        )
        request = AccountReceivablesReportRequest(
            idcreditor=CREDITOR_ID, date=REPORT_DATE, file_format="xlsx"
        )
        produced: list[bytes] = []

        async def report() -> int:
            async with sessions() as session:
                document = await create_account_receivables_report(
                    session, billecta=billecta, settings=settings, params=request, actor=None
                )
                produced[:] = [document.data]
                await session.rollback()
            return len(produced[0])

        print("\nresults:")
        report_s, report_mb, _ = await measure("receivables report (xlsx)", report)
        sheet = load_workbook(io.BytesIO(produced.pop()), read_only=True)["Invoices"]
        cells = sum(1 for _ in sheet.iter_rows(values_only=True)) - 2
        print(f"  rows in the report: {cells:,} (+ header and totals), {COLUMNS} columns")

        async def bare() -> int:
            return await asyncio.to_thread(bare_openpyxl, cells)

        bare_s, bare_mb, _ = await measure("bare openpyxl write-only loop", bare)
        await billecta.aclose()
        await engine.dispose()
        print(
            f"\nratio report/bare: time {report_s / bare_s:.2f}x, "
            f"peak memory {report_mb / max(bare_mb, 0.1):.2f}x "
            f"(budget: peak growth under 200 MB -> {'met' if report_mb < 200 else 'MISSED'})"
        )
    finally:
        await admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
