"""BillectaClient: what is sent, how answers and failures come back, when it retries."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx

from billecta_gateway.billecta import (
    BillectaApiBadRequestException,
    BillectaApiNotFoundException,
    BillectaApiRequestException,
    BillectaClient,
    InvalidBillectaApiConfig,
    Priority,
)
from billecta_gateway.billecta import schemas as s
from billecta_gateway.billecta.client import parse_retry_after

BASE = "https://apitest.billecta.com"
TOKEN = "SecureToken c3VwZXItc2VjcmV0LXRva2Vu"
CID = "8e0d1f5a-0000-4000-8000-000000000001"
DID = "8e0d1f5a-0000-4000-8000-000000000002"


class SleepRecorder:
    """Stands in for asyncio.sleep: records the delays asked for, returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def make_client(**kwargs: Any) -> BillectaClient:
    options: dict[str, Any] = {
        "base_url": BASE,
        "authentication": TOKEN,
        "retry_base_delay": 0.001,
        "retry_max_delay": 0.01,
    }
    options.update(kwargs)
    return BillectaClient(**options)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        yield mock


@pytest.fixture
async def client() -> AsyncIterator[BillectaClient]:
    async with make_client() as c:
        yield c


def sent_json(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


# Success paths


async def test_get_with_body_returns_parsed_json_and_sends_headers(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    route = router.get(f"/v1/debtors/debtor/{DID}").respond(
        200, json={"DebtorPublicId": DID, "Name": "Ada"}
    )

    result = await client.handle_api_request("GET", f"/v1/debtors/debtor/{DID}")

    assert result == {"DebtorPublicId": DID, "Name": "Ada"}
    request = route.calls.last.request
    assert request.method == "GET"
    assert request.url == f"{BASE}/v1/debtors/debtor/{DID}"
    assert request.headers["Authorization"] == TOKEN
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == b""


async def test_post_serializes_models_by_alias_without_nulls(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    route = router.post("/v1/products/product").respond(201, json={"PublicId": "p-1"})
    product = s.BillectaProduct(
        creditor_public_id=CID, description="Rent", vat=Decimal("25"), unit_price=Decimal("99.5")
    )

    result = await client.handle_api_request("POST", "/v1/products/product", product)

    assert result == {"PublicId": "p-1"}
    assert sent_json(route) == {
        "CreditorPublicId": CID,
        "Description": "Rent",
        "VAT": 25,
        "UnitPrice": 99.5,
    }


async def test_path_without_leading_slash_and_query_params_are_sent(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    route = router.get(f"/v1/debtors/debtorbyexternalid/{CID}").respond(200, json={})

    await client.handle_api_request(
        "get", f"v1/debtors/debtorbyexternalid/{CID}", params={"externalid": "lime-1001"}
    )

    assert route.calls.last.request.url.params["externalid"] == "lime-1001"


@pytest.mark.parametrize("status", [200, 201, 204])
async def test_empty_success_body_returns_none(
    router: respx.MockRouter, client: BillectaClient, status: int
) -> None:
    route = router.put("/v1/invoice/attest/inv-1").respond(status, content=b"")

    assert await client.handle_api_request("PUT", "/v1/invoice/attest/inv-1") is None
    assert route.call_count == 1


async def test_plain_text_success_body_is_returned_as_text(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    router.put("/v1/invoice/pause/inv-1").respond(
        200, text="OK", headers={"Content-Type": "text/plain"}
    )

    assert await client.handle_api_request("PUT", "/v1/invoice/pause/inv-1") == "OK"


async def test_invalid_json_success_body_is_an_error(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    router.get("/v1/invoice/action/inv-1").respond(
        200, content=b"{nope", headers={"Content-Type": "application/json"}
    )

    with pytest.raises(BillectaApiRequestException, match="invalid JSON"):
        await client.handle_api_request("GET", "/v1/invoice/action/inv-1")


async def test_request_bytes_returns_the_raw_file_stream(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    pdf = b"%PDF-1.7 binary \x00\xff"
    route = router.get("/v1/files/file/f-1").respond(
        200, content=pdf, headers={"Content-Type": "application/pdf"}
    )

    assert await client.get_file_bytes("f-1") == pdf
    assert route.calls.last.request.headers["Accept"] == "*/*"


# Error mapping


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Message": "Debtor name is required"}, "Debtor name is required"),
        ({"message": "OrgNo is invalid"}, "OrgNo is invalid"),
        ({"error": "Creditor not approved"}, "Creditor not approved"),
        (
            {"Message": "The request is invalid.", "ModelState": {"debtor.Name": ["Required"]}},
            "The request is invalid. (debtor.Name: Required)",
        ),
        ("Several debtors share this external id", "Several debtors share this external id"),
    ],
)
async def test_bad_request_keeps_billectas_message(
    router: respx.MockRouter, client: BillectaClient, body: Any, expected: str
) -> None:
    route = router.post("/v1/debtors/debtor").respond(400, json=body)

    with pytest.raises(BillectaApiBadRequestException) as caught:
        await client.handle_api_request("POST", "/v1/debtors/debtor", {"Name": ""})

    assert caught.value.message == expected
    assert str(caught.value) == expected
    assert caught.value.status_code == 400
    assert caught.value.retryable is False
    assert route.call_count == 1


async def test_bad_request_with_plain_text_body_keeps_the_text(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    router.put("/v1/invoice/dispute/inv-1").respond(400, text="Invoice cannot be disputed")

    with pytest.raises(BillectaApiBadRequestException, match=r"^Invoice cannot be disputed$"):
        await client.dispute_invoice("inv-1")


async def test_not_found_is_its_own_error_and_not_retried(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    route = router.get("/v1/invoice/action/missing").respond(404)

    with pytest.raises(BillectaApiNotFoundException) as caught:
        await client.get_invoice_action("missing")

    assert caught.value.status_code == 404
    assert caught.value.retryable is False
    assert route.call_count == 1


async def test_other_client_errors_are_permanent(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    route = router.get("/v1/creditors/creditors").respond(401, json={"Message": "Unauthorized"})

    with pytest.raises(BillectaApiRequestException) as caught:
        await client.list_creditors()

    assert caught.value.status_code == 401
    assert caught.value.retryable is False
    assert "BILLECTA_AUTHENTICATION" in caught.value.message
    assert route.call_count == 1


async def test_external_id_lookup_returns_none_on_not_found(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    route = router.get(f"/v1/debtors/debtorbyexternalid/{CID}").respond(404)

    assert await client.get_debtor_by_external_id(CID, "lime-7") is None
    assert route.calls.last.request.url.params["externalid"] == "lime-7"


async def test_unexpected_answer_shape_is_reported_without_the_data(
    router: respx.MockRouter, client: BillectaClient
) -> None:
    router.get(f"/v1/debtors/debtor/{DID}").respond(200, json={"Name": "Secret Person"})

    with pytest.raises(BillectaApiRequestException) as caught:
        await client.get_debtor(DID)

    assert "CreditorPublicId" in caught.value.message
    assert "Secret Person" not in caught.value.message


# Retries


async def test_429_on_get_is_retried_after_the_advertised_delay(
    router: respx.MockRouter,
) -> None:
    sleep = SleepRecorder()
    route = router.get(f"/v1/debtors/debtor/{DID}").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(200, json={"DebtorPublicId": DID, "CreditorPublicId": CID}),
        ]
    )
    async with make_client(sleep=sleep, retry_max_delay=30.0) as client:
        debtor = await client.get_debtor(DID)

    assert debtor.debtor_public_id == DID
    assert route.call_count == 2
    assert sleep.delays == [2.0]


async def test_429_retry_waits_in_real_time(router: respx.MockRouter) -> None:
    route = router.get("/v1/invoice/open/" + CID).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "0.15"}), httpx.Response(200)]
    )
    async with make_client(retry_max_delay=1.0) as client:
        started = time.monotonic()
        assert await client.get_open_invoices(CID) == []
        elapsed = time.monotonic() - started

    assert route.call_count == 2
    assert elapsed >= 0.15


async def test_429_on_post_is_raised_as_retryable_after_one_request(
    router: respx.MockRouter,
) -> None:
    sleep = SleepRecorder()
    route = router.post("/v1/debtors/debtor").respond(429, headers={"Retry-After": "7"})
    async with make_client(sleep=sleep) as client:
        with pytest.raises(BillectaApiRequestException) as caught:
            await client.create_debtor(s.BillectaDebtor(creditor_public_id=CID, name="Ada"))

    assert caught.value.status_code == 429
    assert caught.value.retryable is True
    assert caught.value.retry_after == 7.0
    assert route.call_count == 1
    assert sleep.delays == []


async def test_retry_after_is_capped_at_the_max_delay(router: respx.MockRouter) -> None:
    sleep = SleepRecorder()
    router.get("/v1/creditors/creditors").mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "3600"}), httpx.Response(200)]
    )
    async with make_client(sleep=sleep, retry_max_delay=5.0) as client:
        await client.list_creditors()

    assert sleep.delays == [5.0]


async def test_503_is_retried_with_exponential_backoff_then_succeeds(
    router: respx.MockRouter,
) -> None:
    sleep = SleepRecorder()
    route = router.get(f"/v1/creditors/creditor/{CID}").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(502),
            httpx.Response(200, json={"CreditorPublicId": CID, "Name": "Hyresvärden AB"}),
        ]
    )
    async with make_client(sleep=sleep, retry_base_delay=0.1, retry_max_delay=10.0) as client:
        creditor = await client.get_creditor(CID)

    assert creditor.name == "Hyresvärden AB"
    assert route.call_count == 3
    first, second = sleep.delays
    assert 0.05 <= first <= 0.1
    assert 0.1 <= second <= 0.2


async def test_503_exhausts_retries_to_a_retryable_error(router: respx.MockRouter) -> None:
    sleep = SleepRecorder()
    route = router.put("/v1/invoice/attest/inv-1").respond(503, text="Service Unavailable")
    async with make_client(sleep=sleep, max_retries=2) as client:
        with pytest.raises(BillectaApiRequestException) as caught:
            await client.attest_invoice_action("inv-1")

    assert caught.value.status_code == 503
    assert caught.value.retryable is True
    assert caught.value.method == "PUT"
    assert caught.value.path == "/v1/invoice/attest/inv-1"
    assert route.call_count == 3
    assert len(sleep.delays) == 2


async def test_post_is_never_resent_on_a_server_error(router: respx.MockRouter) -> None:
    route = router.post("/v1/invoice/payment").respond(500)
    payment = s.BillectaRegisterPayment(
        action_public_id="inv-1",
        amount=s.BillectaAmount.from_decimal(Decimal("100"), "SEK"),
        payment_date=datetime(2025, 9, 10, tzinfo=UTC),
    )
    async with make_client(max_retries=5) as client:
        with pytest.raises(BillectaApiRequestException) as caught:
            await client.register_payment(payment)

    assert caught.value.retryable is True
    assert route.call_count == 1


async def test_non_idempotent_put_route_is_not_resent(router: respx.MockRouter) -> None:
    route = router.put("/v1/invoice/credit").respond(503)
    credit = s.BillectaCreditAction(
        action_public_id="inv-1", value=s.BillectaAmount.from_decimal(Decimal("50"), "SEK")
    )
    async with make_client(max_retries=5) as client:
        with pytest.raises(BillectaApiRequestException):
            await client.credit_amount(credit)

    assert route.call_count == 1


async def test_search_post_marked_idempotent_is_retried(router: respx.MockRouter) -> None:
    route = router.post("/v1/search/actions").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"InvoiceActions": []})]
    )
    async with make_client() as client:
        result = await client.search_actions(s.BillectaSearch(creditor_public_id=CID))

    assert result.invoice_actions == []
    assert route.call_count == 2
    assert sent_json(route, 0) == sent_json(route, 1) == {"CreditorPublicId": CID}


async def test_timeout_is_a_retryable_error_without_status(router: respx.MockRouter) -> None:
    route = router.get(f"/v1/debtors/debtor/{DID}").mock(side_effect=httpx.ReadTimeout)
    async with make_client(max_retries=1) as client:
        with pytest.raises(BillectaApiRequestException) as caught:
            await client.get_debtor(DID)

    assert caught.value.retryable is True
    assert caught.value.status_code is None
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    assert route.call_count == 2


async def test_real_read_timeout_against_a_silent_server_is_retryable() -> None:
    hang_up = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await hang_up.wait()
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with make_client(base_url=f"http://127.0.0.1:{port}", timeout_seconds=0.1) as c:
            started = time.monotonic()
            with pytest.raises(BillectaApiRequestException) as caught:
                await c.handle_api_request("POST", "/v1/debtors/debtor", {"Name": "Ada"})
            elapsed = time.monotonic() - started
    finally:
        hang_up.set()
        server.close()
        await server.wait_closed()

    assert caught.value.retryable is True
    assert caught.value.status_code is None
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert 0.1 <= elapsed < 1.0


async def test_real_connection_refused_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with make_client(base_url=f"http://127.0.0.1:{port}", max_retries=1) as c:
        with pytest.raises(BillectaApiRequestException) as caught:
            await c.list_creditors()

    assert caught.value.retryable is True
    assert caught.value.status_code is None
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_connection_refused_is_retryable_and_a_post_is_sent_once(
    router: respx.MockRouter,
) -> None:
    route = router.post("/v1/invoice/action").mock(side_effect=httpx.ConnectError)
    entry = s.BillectaInvoiceActionEntry(
        creditor_public_id=CID,
        debtor_public_id=DID,
        invoice_date=datetime(2025, 9, 1),
        due_date=datetime(2025, 9, 30),
        records=[],
    )
    async with make_client() as client:
        with pytest.raises(BillectaApiRequestException) as caught:
            await client.create_invoice_action(entry)

    assert caught.value.retryable is True
    assert caught.value.status_code is None
    assert "ConnectError" in caught.value.message
    assert route.call_count == 1


async def test_connection_refused_on_get_is_retried(router: respx.MockRouter) -> None:
    route = router.get("/v1/creditors/creditors").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=[])]
    )
    async with make_client() as client:
        assert await client.list_creditors() == []

    assert route.call_count == 2


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    in_ten = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    ten = parse_retry_after(in_ten)
    assert ten is not None
    assert 8.0 < ten <= 10.0


# Configuration, priority, secrets


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"base_url": ""}, "BILLECTA_BASE_URL"),
        ({"base_url": "apitest.billecta.com"}, "BILLECTA_BASE_URL"),
        ({"authentication": ""}, "BILLECTA_AUTHENTICATION"),
        ({"authentication": "   "}, "BILLECTA_AUTHENTICATION"),
    ],
)
def test_missing_configuration_names_the_setting(kwargs: dict[str, str], setting: str) -> None:
    with pytest.raises(InvalidBillectaApiConfig, match=setting):
        make_client(**kwargs)


@pytest.mark.parametrize("value", ["c2VjcmV0", "Bearer c2VjcmV0", "SecureToken ", "basic x"])
def test_authentication_without_the_prefix_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(InvalidBillectaApiConfig) as caught:
        make_client(authentication=value)

    message = str(caught.value)
    assert "BILLECTA_AUTHENTICATION" in message
    assert "'Basic " in message
    assert "'SecureToken " in message
    assert "c2VjcmV0" not in message


async def test_invalid_arguments_are_refused_before_sending(client: BillectaClient) -> None:
    with pytest.raises(ValueError, match="method"):
        await client.handle_api_request("FETCH", "/v1/creditors/creditors")
    with pytest.raises(ValueError, match="url_extension"):
        await client.handle_api_request("GET", "")
    with pytest.raises(ValueError, match="below BILLECTA_BASE_URL"):
        await client.handle_api_request("GET", "https://evil.example/v1/creditors/creditors")


async def test_priority_comes_from_argument_then_context_then_default(
    router: respx.MockRouter,
) -> None:
    seen: list[int] = []
    client = make_client(default_priority=Priority.INTERACTIVE)

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(client.limiter.bulk_in_flight)
        return httpx.Response(200, json=[])

    router.get("/v1/creditors/creditors").mock(side_effect=record)
    async with client:
        await client.list_creditors()
        with client.priority(Priority.BULK):
            await client.list_creditors()
            await client.handle_api_request(
                "GET", "/v1/creditors/creditors", priority=Priority.INTERACTIVE
            )
        async with client.priority(Priority.BULK):
            await client.list_creditors()
        await client.handle_api_request("GET", "/v1/creditors/creditors", priority=Priority.BULK)

    assert seen == [0, 1, 0, 1, 1]


async def test_authorization_value_never_reaches_logs_repr_or_errors(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    router.get(f"/v1/debtors/debtor/{DID}").respond(
        200, json={"DebtorPublicId": DID, "CreditorPublicId": CID}
    )
    router.post("/v1/debtors/debtor").respond(400, json={"Message": "bad"})
    router.get("/v1/creditors/creditors").respond(503)
    router.post("/v1/payments/swish/inv-1").mock(side_effect=httpx.ConnectError)
    errors: list[Exception] = []
    async with make_client() as client:
        await client.get_debtor(DID)
        for call in (
            client.create_debtor(s.BillectaDebtor(creditor_public_id=CID)),
            client.list_creditors(),
            client.create_swish_request("inv-1", "+46701234567", "Hyra"),
        ):
            try:
                await call
            except BillectaApiRequestException as exc:
                errors.append(exc)
        text = repr(client)

    secret = TOKEN.split(" ", 1)[1]
    assert len(errors) == 3
    assert caplog.records, "the client logs its calls"
    assert secret not in caplog.text
    assert secret not in text
    assert BASE in text
    assert all(secret not in repr(e) and secret not in str(e) for e in errors)
    ours = [r.getMessage() for r in caplog.records if r.name == "billecta_gateway.billecta"]
    assert any("/v1/debtors/debtor/{debtor_public_id} -> 200" in line for line in ours)
    assert any("/v1/payments/swish/{action_public_id}" in line for line in ours)
    assert not any("+46701234567" in line or "46701234567" in line for line in ours)
