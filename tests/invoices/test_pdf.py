"""Invoice PDFs: fetched as base64, or fetched and saved as a downloadable document."""

from __future__ import annotations

import base64

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Document, Invoice
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import CONNECT_ERROR, invoice_action, reload, seed_invoice

BASE = "/limepkg-billecta-integration"
FILE_ID = "f11e0000-0000-4000-8000-000000000001"
PDF_BYTES = b"%PDF-1.7\n\x00\xff\xfe binary invoice \x89PNG\n%%EOF\n"


def _mock_pdf(billecta: respx.MockRouter) -> respx.Route:
    billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=invoice_action())
    return billecta.get(f"/v1/files/file/{FILE_ID}").respond(
        200, content=PDF_BYTES, headers={"Content-Type": "application/pdf"}
    )


async def test_fetch_invoice_pdf_answers_the_base64_pdf_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = _mock_pdf(billecta)
        response = await client.get(f"{BASE}/fetch-invoice-pdf/1001/")
        without_slash = await client.get(f"{BASE}/fetch-invoice-pdf/1001")

    assert response.status_code == without_slash.status_code == 200
    assert base64.b64decode(response.json()) == PDF_BYTES
    assert route.call_count == 2
    assert (await reload(session, Invoice, 1001)).invoice_pdf is None


async def test_fetched_and_saved_pdf_downloads_with_billectas_bytes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, billecta_error_message="old")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        _mock_pdf(billecta)
        response = await client.post(
            f"{BASE}/fetch-and-save-invoice-pdf/",
            json={"invoice_id": 1001},
            headers={"x-lime-user": "anna"},
        )

    assert response.status_code == 200
    document_id = response.json()["iddocument"]
    invoice = await reload(session, Invoice, 1001)
    assert invoice.invoice_pdf == document_id
    assert invoice.billecta_error_message is None
    document = await reload(session, Document, document_id)
    assert (document.kind, document.owner_limetype, document.owner_id, document.created_by) == (
        "invoice_pdf",
        "invoice",
        1001,
        "anna",
    )

    download = await client.get(f"{BASE}/documents/{document_id}")
    assert download.status_code == 200
    assert download.content == PDF_BYTES
    assert download.headers["content-type"] == "application/pdf"
    assert "Faktura 10023.pdf" in download.headers["content-disposition"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/fetch-invoice-pdf/1001/"), ("POST", "/fetch-and-save-invoice-pdf/")],
)
async def test_pdf_of_a_missing_invoice_is_a_404_without_billecta(
    client: httpx.AsyncClient, session: AsyncSession, method: str, path: str
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        missing = await client.request(method, BASE + path, json={"invoice_id": 1001})
        await seed_invoice(session, actionpublicid=None)
        no_id = await client.request(method, BASE + path, json={"invoice_id": 1001})
    assert billecta.calls.call_count == 0
    assert missing.status_code == no_id.status_code == 404
    assert missing.json() == {"error_message": "Invoice 1001 not found"}
    assert set(no_id.json()) == {"error_message"}


async def test_invoice_without_a_pdf_yet_is_a_409(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/inv-act-1001").respond(
            200, json=invoice_action(stage="Created", file_id=None)
        )
        response = await client.post(
            f"{BASE}/fetch-and-save-invoice-pdf/", json={"invoice_id": 1001}
        )
    assert response.status_code == 409
    assert "no PDF" in response.json()["error_message"]


@pytest.mark.parametrize(
    ("billecta_answer", "status"),
    [(httpx.Response(400, json={"Message": "File gone"}), 502), (CONNECT_ERROR, 503)],
)
async def test_pdf_when_billecta_fails(
    client: httpx.AsyncClient, session: AsyncSession, billecta_answer: object, status: int
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=invoice_action())
        billecta.get(f"/v1/files/file/{FILE_ID}").mock(
            side_effect=[billecta_answer, billecta_answer]
        )
        fetched = await client.get(f"{BASE}/fetch-invoice-pdf/1001/")
        saved = await client.post(f"{BASE}/fetch-and-save-invoice-pdf/", json={"invoice_id": 1001})

    assert fetched.status_code == saved.status_code == status
    assert set(saved.json()) == {"error_message"}
    invoice = await reload(session, Invoice, 1001)
    assert invoice.invoice_pdf is None
    assert "Could not fetch the invoice PDF" in invoice.billecta_error_message
