"""Mounting the report and document routers the way the app does, and reading documents."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import httpx
import respx
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Document
from tests.reports.data import CREDITOR_PUBLIC_ID
from tests.reports.pdf_text import pdf_text

PREFIX = "/limepkg-billecta-integration"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def document_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Document)) or 0)


async def download(client: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
    """The document a report endpoint answered, fetched through the documents endpoint."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"iddocument"}
    fetched = await client.get(f"{PREFIX}/documents/{body['iddocument']}")
    assert fetched.status_code == 200, fetched.text
    return fetched


def sheet_rows(content: bytes, sheet: str) -> list[tuple[Any, ...]]:
    workbook = load_workbook(io.BytesIO(content))
    return [tuple(row) for row in workbook[sheet].iter_rows(values_only=True)]


def data_rows(content: bytes) -> list[tuple[Any, ...]]:
    """The rows of the first data sheet (the one after "Summary")."""
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames[0] == "Summary"
    return [tuple(row) for row in book.worksheets[1].iter_rows(values_only=True)]


def workbook(content: bytes) -> Any:
    return load_workbook(io.BytesIO(content))


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    return pdf_text(pdf)


def serve_invoice_lists(
    billecta: respx.Router,
    *,
    open_items: Sequence[dict[str, Any]],
    closed_items: Sequence[dict[str, Any]] = (),
    payments: Sequence[dict[str, Any]] = (),
) -> dict[str, respx.Route]:
    """Billecta's open list, closed lists (by closing day, `from` and `to` included) and
    incoming payments (by day, filtered by action id) for CREDITOR_PUBLIC_ID."""

    def closed(request: httpx.Request) -> httpx.Response:
        low, high = request.url.params["from"], request.url.params["to"]
        items = [i for i in closed_items if low <= (i.get("ClosedDate") or "")[:10] <= high]
        return httpx.Response(200, json=items)

    def incoming(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        low, high = sent["From"][:10], sent["To"][:10]
        wanted = set(sent.get("ActionPublicIdFilter") or ())
        items = [
            p
            for p in payments
            if low <= p["PaymentDate"][:10] <= high
            and (not wanted or p["ActionPublicId"] in wanted)
        ]
        return httpx.Response(200, json=items)

    return {
        "open": billecta.get(f"/v1/invoice/open/{CREDITOR_PUBLIC_ID}").respond(json=open_items),
        "closed": billecta.get(f"/v1/invoice/closed/{CREDITOR_PUBLIC_ID}").mock(side_effect=closed),
        "incoming": billecta.put("/v1/payments/incomingpayments").mock(side_effect=incoming),
    }
