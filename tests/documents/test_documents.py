"""Documents: stored with their owner and parameters, downloaded with type and file name."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.documents.router import content_disposition
from billecta_gateway.documents.service import get_document, store_document
from billecta_gateway.errors import NotFound
from billecta_gateway.models import Document
from tests.reports.helpers import PREFIX


async def test_stored_document_is_downloaded_with_its_type_and_name(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    document = await store_document(
        session,
        filename="invoice_1001.pdf",
        content_type="application/pdf",
        data=b"%PDF-1.7 test",
        kind="invoice_pdf",
        owner_limetype="invoice",
        owner_id=1001,
        parameters={"actionpublicid": "abc"},
        created_by="kim",
    )
    await session.commit()
    assert document.id and document.size == len(b"%PDF-1.7 test")

    response = await client.get(f"{PREFIX}/documents/{document.id}")

    assert response.status_code == 200
    assert response.content == b"%PDF-1.7 test"
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="invoice_1001.pdf"'
    stored = await session.get(Document, document.id)
    assert stored is not None
    assert (stored.owner_limetype, stored.owner_id, stored.kind, stored.created_by) == (
        "invoice",
        1001,
        "invoice_pdf",
        "kim",
    )
    assert stored.parameters == {"actionpublicid": "abc"}


async def test_non_ascii_file_name_is_sent_per_rfc_5987(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    document = await store_document(
        session,
        filename="Förutbetalda avier 2025.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        data=b"PK",
        kind="report",
        owner_limetype="creditor",
        owner_id=7,
    )
    await session.commit()

    response = await client.get(f"{PREFIX}/documents/{document.id}")

    assert response.headers["content-disposition"] == (
        'attachment; filename="F_rutbetalda avier 2025.xlsx"; '
        "filename*=UTF-8''F%C3%B6rutbetalda%20avier%202025.xlsx"
    )


def test_quotes_and_path_separators_never_reach_the_header() -> None:
    assert content_disposition('a"b\\c.pdf') == (
        "attachment; filename=\"a_b_c.pdf\"; filename*=UTF-8''a%22b%5Cc.pdf"
    )


async def test_file_name_is_cleaned_when_stored(session: AsyncSession) -> None:
    document = await store_document(
        session,
        filename='../../etc/"passwd"\n',
        content_type="text/plain",
        data=b"x",
        kind="report",
        owner_limetype=None,
        owner_id=None,
    )
    assert document.filename == ".._.._etc__passwd__"


async def test_missing_document_is_a_404_json(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    response = await client.get(f"{PREFIX}/documents/987654")
    assert response.status_code == 404
    assert response.json() == {"error_message": "Document 987654 not found"}
    with pytest.raises(NotFound):
        await get_document(session, 987654)


async def test_download_needs_the_api_key(anon_client: httpx.AsyncClient) -> None:
    response = await anon_client.get(f"{PREFIX}/documents/1")
    assert response.status_code == 401
