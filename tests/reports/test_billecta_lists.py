"""Billecta's unpaged open-invoice list parsed one item at a time."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.reports.billecta_lists import iter_json_array
from tests.conftest import BILLECTA_URL
from tests.reports.data import CREDITOR, CREDITOR_PUBLIC_ID, OPEN_INVOICES, seed
from tests.reports.helpers import PREFIX, document_count


@pytest.mark.parametrize("slice_bytes", [1, 2, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize(
    "document",
    [[], [1, 22, 333], OPEN_INVOICES, [{"Name": "Åsa Öberg", "List": [1, {"x": None}]}] * 20],
)
def test_items_are_the_arrays_items_whatever_the_slice_size(
    document: list[object], slice_bytes: int
) -> None:
    body = json.dumps(document, ensure_ascii=False, indent=1).encode()
    assert list(iter_json_array(body, slice_bytes)) == document


def test_empty_body_is_an_empty_list() -> None:
    assert list(iter_json_array(b"")) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a": 1}', "expected a JSON array"),
        (b"[1, 2", "cut short"),
        (b"[1 2]", "expected , or ]"),
    ],
)
def test_malformed_bodies_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list(iter_json_array(body, 2))


async def test_malformed_billecta_list_is_a_502_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get(f"/v1/invoice/open/{CREDITOR_PUBLIC_ID}").respond(
            content=b'[{"ActionPublicId": "a", "InvoicedAmount": {"Value": "lots"}}]',
            headers={"Content-Type": "application/json"},
        )
        response = await client.post(
            f"{PREFIX}/billecta/account-receivables-report",
            json={"idcreditor": CREDITOR, "date": "2025-09-30"},
        )
    assert response.status_code == 502
    assert "get_open_invoices" in response.json()["error_message"]
    assert await document_count(session) == 0
