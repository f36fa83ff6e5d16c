"""Mounting the report and document routers the way the app does, and reading documents."""

from __future__ import annotations

import io
from typing import Any

import httpx
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Document
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
