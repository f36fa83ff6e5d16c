"""Swish payment requests: validation before Billecta, the request, its status, the defaults."""

from __future__ import annotations

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.models import Invoice
from billecta_gateway.swish.service import (
    PhoneFieldMisconfigured,
    message_problem,
    normalize_phone,
    render_default_message,
    swish_defaults,
)
from tests.conftest import BILLECTA_URL, make_settings
from tests.invoices.factories import CONNECT_ERROR, reload, seed_debtor, seed_invoice

BASE = "/limepkg-billecta-integration/billecta/swish-request"
CREATE = f"{BASE}/inv-act-1001"
SWISH_PATH = "/v1/payments/swish/inv-act-1001"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+46701234567", "46701234567"),
        ("+46 70-123 45 67", "46701234567"),
        ("0046701234567", "46701234567"),
        ("46701234567", "46701234567"),
        ("070-123 45 67", "46701234567"),
        ("+46 (0)73 123 45 67", "46731234567"),
        ("08-123 456 78", None),
        ("+4670123456", None),
        ("+47701234567", None),
        ("hello", None),
        ("", None),
    ],
)
def test_swedish_mobile_numbers_are_normalised(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_message_rules() -> None:
    assert message_problem("Betalning av faktura 10023, tack!") is None
    assert message_problem('Åäö ÅÄÖ: (ok) "quoted" - yes?') is None
    assert message_problem("x" * 51) is not None
    assert message_problem("price €100") is not None
    assert message_problem("mail@example.com") is not None


def test_default_message_is_filled_and_made_acceptable() -> None:
    invoice = Invoice(id=1001, invoicenumber="10023", ocr="555")
    assert render_default_message("Betalning av faktura {invoicenumber}", invoice) == (
        "Betalning av faktura 10023"
    )
    assert render_default_message("Faktura {invoicenumber} OCR {ocr} {unknown}", invoice) == (
        "Faktura 10023 OCR 555"
    )
    assert render_default_message("Pay #{invoicenumber} @ once " + "y" * 60, invoice) == (
        "Pay 10023 once " + "y" * 35
    )


async def test_swish_request_is_sent_with_the_normalised_number(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, billecta_error_message="old")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post(SWISH_PATH).respond(200, json={"PublicId": "f4c2v3d4"})
        response = await client.post(
            CREATE, params={"phone": "+46 70-123 45 67", "message": "Faktura 10023"}
        )

    assert response.status_code == 201
    assert response.json() == {"requestid": "f4c2v3d4"}
    request = route.calls.last.request
    assert request.content == b""
    assert dict(request.url.params) == {"phone": "46701234567", "message": "Faktura 10023"}
    assert (await reload(session, Invoice, 1001)).billecta_error_message is None


async def test_swish_request_without_message_sends_the_default_one(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, invoicenumber="10023")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post(SWISH_PATH).respond(200, json={"PublicId": "tok"})
        response = await client.post(CREATE, params={"phone": "0701234567"})
    assert response.status_code == 201
    assert route.calls.last.request.url.params["message"] == "Betalning av faktura 10023"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"phone": "08-123 456 78"}, "INVALID_PHONE_NUMBER"),
        ({}, "INVALID_PHONE_NUMBER"),
        ({"phone": "0701234567", "message": "x" * 51}, "INVALID_MESSAGE"),
        ({"phone": "0701234567", "message": "Pay €5"}, "INVALID_MESSAGE"),
    ],
)
async def test_invalid_input_is_a_400_without_billecta(
    client: httpx.AsyncClient, session: AsyncSession, params: dict[str, str], code: str
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        response = await client.post(CREATE, params=params)
    assert billecta.calls.call_count == 0
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert set(response.json()) == {"error", "message"}


async def test_unknown_invoice_is_a_400_without_billecta(client: httpx.AsyncClient) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        unknown = await client.post(CREATE, params={"phone": "0701234567"})
        malformed = await client.post(f"{BASE}/bad%20id!", params={"phone": "0701234567"})
    assert billecta.calls.call_count == 0
    assert unknown.status_code == malformed.status_code == 400
    assert unknown.json() == {
        "error": "INVALID_INVOICE_ID",
        "message": "No invoice with actionpublicid inv-act-1001",
    }
    assert malformed.json()["error"] == "INVALID_INVOICE_ID"


@pytest.mark.parametrize(
    ("billecta_answer", "code", "reason"),
    [
        (
            httpx.Response(400, json={"Message": "Swish is not enabled"}),
            "BILLECTA_ERROR",
            "Swish is not enabled",
        ),
        (CONNECT_ERROR, "BILLECTA_UNAVAILABLE", "could not be reached"),
    ],
)
async def test_billecta_failure_is_a_500_in_the_swish_shape(
    client: httpx.AsyncClient,
    session: AsyncSession,
    billecta_answer: object,
    code: str,
    reason: str,
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.post(SWISH_PATH).mock(side_effect=[billecta_answer])
        response = await client.post(CREATE, params={"phone": "0701234567"})
    assert response.status_code == 500
    assert response.json()["error"] == code
    assert reason in response.json()["message"]
    assert reason in (await reload(session, Invoice, 1001)).billecta_error_message


async def test_repeated_swish_request_with_the_same_key_is_sent_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    headers = {"Idempotency-Key": "swish-1001-1"}
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.post(SWISH_PATH).respond(200, json={"PublicId": "tok-1"})
        first = await client.post(CREATE, params={"phone": "0701234567"}, headers=headers)
        second = await client.post(CREATE, params={"phone": "0701234567"}, headers=headers)
    assert route.call_count == 1
    assert first.status_code == second.status_code == 201
    assert second.json() == {"requestid": "tok-1"}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Created", "CREATED"),
        ("Declined", "DECLINED"),
        ("Paid", "PAID"),
        ("Cancelled", "CANCELLED"),
        ("Refunded", "REFUNDED"),
        (None, "UNKNOWN"),
    ],
)
async def test_status_is_billectas_status_upper_cased(
    client: httpx.AsyncClient, status: str | None, expected: str
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/payments/swish/tok-1").respond(
            200, json={"PaymentRequestToken": "tok-1", "Status": status}
        )
        response = await client.get(f"{BASE}/status/tok-1")
    assert response.status_code == 200
    assert response.json() == {"requeststatus": expected}


async def test_failed_request_answers_swishs_reason_as_its_status(
    client: httpx.AsyncClient,
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/payments/swish/tok-1").respond(
            200,
            json={"Status": "Error", "ErrorCode": "BE18", "ErrorMessage": "Payer not enrolled"},
        )
        response = await client.get(f"{BASE}/status/tok-1")
    # The spec returns the failed request's error message as its status.
    assert response.status_code == 200
    assert response.json() == {
        "requeststatus": "Payer not enrolled",
        "error_code": "BE18",
        "error_message": "Payer not enrolled",
    }


async def test_a_refusal_other_than_404_is_answered_as_the_status(
    client: httpx.AsyncClient,
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        route = billecta.get("/v1/payments/swish/tok-1").respond(400, json={"Message": "Bad token"})
        response = await client.get(f"{BASE}/status/tok-1")
    assert route.call_count == 1
    assert response.status_code == 200
    assert response.json() == {
        "requeststatus": "Bad token",
        "error_code": "400",
        "error_message": "Bad token",
    }


@pytest.mark.parametrize(
    ("billecta_answer", "status", "code"),
    [
        (httpx.Response(404), 404, "REQUEST_NOT_FOUND"),
        (httpx.Response(500, json={"Message": "Oops"}), 503, "BILLECTA_UNAVAILABLE"),
        (CONNECT_ERROR, 503, "BILLECTA_UNAVAILABLE"),
    ],
)
async def test_status_when_billecta_fails(
    client: httpx.AsyncClient, billecta_answer: object, status: int, code: str
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/payments/swish/tok-1").mock(side_effect=[billecta_answer])
        response = await client.get(f"{BASE}/status/tok-1")
    assert response.status_code == status
    assert response.json()["error"] == code


async def test_defaults_follow_the_configured_phone_field(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_debtor(session, phone="070-123 45 67")
    await seed_invoice(session, debtor=2001, invoicenumber="10023")
    response = await client.get(f"{BASE}/defaults/1001")
    assert response.status_code == 200
    assert response.json() == {
        "phone": "+46701234567",
        "phone_valid": True,
        "message": "Betalning av faktura 10023",
        "phone_field": "debtor.phone",
        "actionpublicid": "inv-act-1001",
    }
    assert (await client.get(f"{BASE}/defaults/9999")).status_code == 404


async def test_defaults_follow_a_two_level_path_and_custom_template(
    session: AsyncSession,
) -> None:
    await seed_debtor(session, person_phone="08-555 555")
    await seed_invoice(session, debtor=2001, invoicenumber="7")
    settings: Settings = make_settings(
        swish_phone_field="debtor.person.phone", swish_default_message="Faktura {invoicenumber}"
    )
    defaults = await swish_defaults(
        session, schema=LimeSchema(), settings=settings, invoice_id=1001
    )
    assert defaults["phone"] == "08-555 555"
    assert defaults["phone_valid"] is False
    assert defaults["message"] == "Faktura 7"


async def test_defaults_without_a_related_object_have_no_phone(session: AsyncSession) -> None:
    await seed_invoice(session)
    settings = make_settings(swish_phone_field="debtor.person.phone")
    defaults = await swish_defaults(
        session, schema=LimeSchema(), settings=settings, invoice_id=1001
    )
    assert defaults["phone"] is None


async def test_a_misconfigured_phone_field_is_reported(session: AsyncSession) -> None:
    await seed_invoice(session)
    settings = make_settings(swish_phone_field="debtor.nosuchfield")
    with pytest.raises(PhoneFieldMisconfigured, match="nosuchfield"):
        await swish_defaults(session, schema=LimeSchema(), settings=settings, invoice_id=1001)
