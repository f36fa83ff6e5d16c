"""The route table, and every typed client method calling exactly its route."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import pytest
import respx
from pydantic import TypeAdapter

import billecta_gateway.billecta as package
from billecta_gateway.billecta import ROUTES, BillectaClient, Route, find_route
from billecta_gateway.billecta import schemas as s
from billecta_gateway.billecta.routes import Confidence

BASE = "https://apitest.billecta.com"
TOKEN = "SecureToken dG9rZW4="
CID = "8e0d1f5a-0000-4000-8000-000000000001"
DID = "8e0d1f5a-0000-4000-8000-000000000002"
PID = "8e0d1f5a-0000-4000-8000-000000000003"
AID = "ab12/34 5"  # an action id that needs quoting in a path
UID = "8e0d1f5a-0000-4000-8000-000000000004"
SEK = s.BillectaAmount.from_decimal(Decimal("100.50"), "SEK")
DEBTOR = s.BillectaDebtor(creditor_public_id=CID, name="Ada", debtor_external_id="lime-1")
PRODUCT = s.BillectaProduct(creditor_public_id=CID, description="Rent", vat=Decimal("25"))
ENTRY = s.BillectaInvoiceActionEntry(
    creditor_public_id=CID,
    debtor_public_id=DID,
    invoice_date=datetime(2025, 9, 1, tzinfo=UTC),
    due_date=datetime(2025, 9, 30, tzinfo=UTC),
    records=[s.BillectaInvoiceActionRecord(article_description="Rent", unit_price=SEK)],
)
CREATED = {"PublicId": "new-id"}

# route name -> (positional args, path params, query params, Billecta's answer)
CASES: dict[str, tuple[tuple[Any, ...], dict[str, str], dict[str, str], Any]] = {
    "list_creditors": ((), {}, {}, [{"CreditorPublicId": CID}]),
    "get_creditor": ((CID,), {"creditor_public_id": CID}, {}, {"CreditorPublicId": CID}),
    "update_creditor": ((s.BillectaCreditor(creditor_public_id=CID, name="AB"),), {}, {}, None),
    "get_default_action_config": (
        (CID,),
        {"creditor_public_id": CID},
        {},
        {"CreditorPublicId": CID, "InvoiceFee": 29.0},
    ),
    "update_default_action_config": (
        (s.BillectaDefaultActionConfig(creditor_public_id=CID, invoice_fee=Decimal("29")),),
        {},
        {},
        None,
    ),
    "create_debtor": ((DEBTOR,), {}, {}, {"PublicId": DID}),
    "update_debtor": ((DEBTOR.model_copy(update={"debtor_public_id": DID}),), {}, {}, None),
    "get_debtor": ((DID,), {"debtor_public_id": DID}, {}, {"CreditorPublicId": CID}),
    "get_debtor_by_external_id": (
        (CID, "lime 1&2"),
        {"creditor_public_id": CID},
        {"externalid": "lime 1&2"},
        {"CreditorPublicId": CID, "DebtorPublicId": DID},
    ),
    "anonymize_debtor": ((DID,), {"debtor_public_id": DID}, {}, None),
    "get_debtor_events": ((DID,), {"debtor_public_id": DID}, {}, [{"Title": "Created"}]),
    "create_product": ((PRODUCT,), {}, {}, {"PublicId": PID}),
    "update_product": ((PRODUCT.model_copy(update={"product_public_id": PID}),), {}, {}, None),
    "get_product": ((PID,), {"product_public_id": PID}, {}, {"CreditorPublicId": CID}),
    "get_product_by_external_id": (
        (CID, "art-1"),
        {"creditor_public_id": CID},
        {"externalid": "art-1"},
        {"CreditorPublicId": CID},
    ),
    "delete_product": ((PID,), {"product_public_id": PID}, {}, None),
    "create_invoice_action": ((ENTRY,), {}, {}, {"PublicId": "inv-1"}),
    "update_invoice_action": ((AID, ENTRY), {"action_public_id": AID}, {}, None),
    "get_invoice_action": ((AID,), {"action_public_id": AID}, {}, {"ActionPublicId": AID}),
    "delete_invoice_action": ((AID,), {"action_public_id": AID}, {}, None),
    "attest_invoice_action": ((AID,), {"action_public_id": AID}, {}, None),
    "get_open_invoices": ((CID,), {"creditor_public_id": CID}, {}, [{"ActionPublicId": AID}]),
    "get_closed_invoices": (
        (CID, date(2025, 1, 1), datetime(2025, 9, 30, 12, 0)),
        {"creditor_public_id": CID},
        {"from": "2025-01-01", "to": "2025-09-30"},
        [],
    ),
    "get_open_invoices_by_debtor": ((DID,), {"debtor_public_id": DID}, {}, []),
    "search_actions": (
        (s.BillectaSearch(creditor_public_id=CID, search_value="1001"),),
        {},
        {},
        {"InvoiceActions": [{"ActionPublicId": AID}]},
    ),
    "register_payment": (
        (
            s.BillectaRegisterPayment(
                action_public_id=AID, amount=SEK, payment_date=datetime(2025, 9, 10)
            ),
        ),
        {},
        {},
        None,
    ),
    "credit_amount": ((s.BillectaCreditAction(action_public_id=AID, value=SEK),), {}, {}, None),
    "dispute_invoice": ((AID,), {"action_public_id": AID}, {}, None),
    "undispute_invoice": ((AID,), {"action_public_id": AID}, {}, None),
    "pause_invoice": ((AID,), {"action_public_id": AID}, {}, None),
    "resume_invoice": ((AID,), {"action_public_id": AID}, {}, None),
    "postpone_invoice": (
        (AID, date(2025, 10, 15)),
        {"action_public_id": AID},
        {"date": "2025-10-15"},
        None,
    ),
    "get_invoice_events": ((AID,), {"action_public_id": AID}, {}, [{"EventType": "Created"}]),
    "create_reminder_invoice": (
        (s.BillectaSendReminderInvoice(invoice_action_public_id=AID, reminder_fee=SEK),),
        {},
        {},
        CREATED,
    ),
    "send_invoice_to_debt_collection": (
        (s.BillectaDebtCollectionFromInvoiceEntry(source_public_id=AID, eviction=True),),
        {},
        {},
        CREATED,
    ),
    "get_file_bytes": (("f-1",), {"file_public_id": "f-1"}, {}, None),
    "get_file_object": (
        ("f-1",),
        {"file_public_id": "f-1"},
        {"includedata": "true"},
        {"FilePublicId": "f-1", "Data": "JVBERg=="},
    ),
    "get_debt_collection_action": ((AID,), {"action_public_id": AID}, {}, {"ActionPublicId": AID}),
    "cancel_debt_collection": ((AID,), {"action_public_id": AID}, {}, None),
    "postpone_debt_collection": (
        (AID, date(2025, 11, 1)),
        {"action_public_id": AID},
        {"date": "2025-11-01"},
        None,
    ),
    "send_to_bailiff": ((AID,), {"action_public_id": AID}, {}, None),
    "send_to_assistance_with_bailiff": ((AID,), {"action_public_id": AID}, {}, None),
    "send_to_long_term_surveillance": ((AID,), {"action_public_id": AID}, {}, None),
    "get_debt_collection_events": ((AID,), {"action_public_id": AID}, {}, []),
    "get_incoming_payments": (
        (CID, date(2025, 9, 1), date(2025, 9, 30)),
        {},
        {},
        [{"PaymentReferenceId": UID, "Amount": SEK.to_wire()}],
    ),
    "match_payments": (
        (CID, [s.BillectaPaymentMatch(unhandled_payment_public_id=UID, action_public_id=AID)]),
        {"creditor_public_id": CID},
        {},
        [{"UnhandledPaymentPublicId": UID, "Successfull": True}],
    ),
    "get_unhandled_payments": ((CID,), {"creditor_public_id": CID}, {}, []),
    "get_unhandled_payment": (
        (UID,),
        {"unhandled_payment_public_id": UID},
        {},
        {"UnhandledPaymentPublicId": UID},
    ),
    "delete_unhandled_payment": (
        (UID, 1501, date(2025, 9, 10)),
        {"unhandled_payment_public_id": UID},
        {"bookkeepingaccount": "1501", "transactiondate": "2025-09-10"},
        None,
    ),
    "create_swish_request": (
        (AID, "+46701234567", "Hyra september"),
        {"action_public_id": AID},
        {"phone": "+46701234567", "message": "Hyra september"},
        {"PublicId": "swish-token"},
    ),
    "get_swish_status": (
        ("swish-token",),
        {"token": "swish-token"},
        {},
        {"PaymentRequestToken": "swish-token", "Status": "Paid"},
    ),
}


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        yield mock


def test_every_route_has_a_confidence_a_v1_path_and_a_client_method() -> None:
    confidences = set(get_args(Confidence))
    for name, route in ROUTES.items():
        assert route.name == name
        assert route.confidence in confidences
        assert route.path.startswith("/v1/")
        assert route.method in {"GET", "POST", "PUT", "DELETE"}
        assert inspect.iscoroutinefunction(getattr(BillectaClient, name, None)), name


def test_list_flags_only_on_routes_with_models() -> None:
    for route in ROUTES.values():
        assert route.request_model is not None or not route.request_is_list, route.name
        assert route.response_model is not None or not route.response_is_list, route.name
        assert route.method != "GET" or route.request_model is None, route.name


def test_spec_documented_paths_are_used_verbatim() -> None:
    assert ROUTES["cancel_debt_collection"].path == "/v1/debtcollection/cancel/{action_public_id}"
    assert ROUTES["send_to_bailiff"].path == "/v1/debtcollection/SendToBailiff/{action_public_id}"
    assert (
        ROUTES["send_to_assistance_with_bailiff"].path
        == "/v1/debtcollection/SendToAssistanceWithBailiff/{action_public_id}"
    )
    assert (
        ROUTES["send_to_long_term_surveillance"].path
        == "/v1/debtcollection/SendToLongTermSurveillance/{action_public_id}"
    )
    assert ROUTES["create_swish_request"].path == "/v1/payments/swish/{action_public_id}"
    assert ROUTES["create_swish_request"].query_params == ("phone", "message")
    for name in ("cancel_debt_collection", "send_to_bailiff", "create_swish_request"):
        assert ROUTES[name].confidence == "SPEC"


def test_idempotency_follows_the_method_unless_overridden() -> None:
    assert ROUTES["get_debtor"].idempotent
    assert ROUTES["attest_invoice_action"].idempotent
    assert ROUTES["delete_product"].idempotent
    assert not ROUTES["create_debtor"].idempotent
    assert not ROUTES["register_payment"].idempotent
    assert not ROUTES["match_payments"].idempotent
    assert ROUTES["search_actions"].idempotent
    assert not ROUTES["credit_amount"].idempotent


def test_url_quotes_parameters_and_match_reverses_it() -> None:
    route = ROUTES["get_invoice_action"]
    url = route.url(action_public_id="a/b c?")
    assert url == "/v1/invoice/action/a%2Fb%20c%3F"
    assert route.match(url) == {"action_public_id": "a/b c?"}
    with pytest.raises(ValueError, match="missing"):
        route.url()
    with pytest.raises(ValueError, match="unknown"):
        route.url(action_public_id="x", other="y")
    with pytest.raises(ValueError, match="empty"):
        route.url(action_public_id="")


def test_find_route_resolves_method_and_path_like_a_simulator_would() -> None:
    found = find_route("put", "/v1/debtcollection/sendtobailiff/123?x=1")
    assert found is not None
    assert found[0].name == "send_to_bailiff"
    assert found[1] == {"action_public_id": "123"}
    delete = find_route("DELETE", "/v1/invoice/dispute/9")
    assert delete is not None
    assert delete[0].name == "undispute_invoice"
    assert find_route("GET", "/v1/nowhere") is None
    for route in ROUTES.values():
        sample = {p: f"x{i}" for i, p in enumerate(route.path_params)}
        hit = find_route(route.method, route.url(**sample))
        assert hit is not None
        assert hit[0] is route, route.name


def test_no_billecta_path_literal_outside_the_route_table() -> None:
    folder = Path(package.__file__).parent
    for module in folder.glob("*.py"):
        if module.name != "routes.py":
            assert "/v1/" not in module.read_text(), module.name


def test_cases_cover_every_route() -> None:
    assert set(CASES) == set(ROUTES)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_typed_method_calls_its_route(router: respx.MockRouter, name: str) -> None:
    route: Route = ROUTES[name]
    args, path_params, query, answer = CASES[name]
    if route.returns_bytes:
        mocked = router.request(route.method, route.url(**path_params)).respond(
            200, content=b"%PDF"
        )
    elif answer is None:
        mocked = router.request(route.method, route.url(**path_params)).respond(204)
    else:
        mocked = router.request(route.method, route.url(**path_params)).respond(200, json=answer)

    async with BillectaClient(base_url=BASE, authentication=TOKEN) as client:
        result = await getattr(client, name)(*args)

    assert mocked.call_count == 1
    request = mocked.calls.last.request
    assert request.method == route.method
    assert request.url.raw_path.decode().split("?")[0] == route.url(**path_params)
    assert dict(request.url.params) == query
    # A body is sent exactly when the route names its request model, and it validates.
    if route.request_model is None:
        assert request.content == b""
    else:
        body = json.loads(request.content)
        model = list[route.request_model] if route.request_is_list else route.request_model
        TypeAdapter(model).validate_python(body)
    _check_result(route, result, answer)


def _check_result(route: Route, result: Any, answer: Any) -> None:
    if route.returns_bytes:
        assert result == b"%PDF"
    elif answer == CREATED or route.response_model is s.BillectaCreated:
        assert result == answer["PublicId"]
    elif route.response_is_list:
        assert isinstance(result, list)
        assert len(result) == len(answer)
        assert all(isinstance(item, route.response_model) for item in result)
    elif route.response_model is not None:
        assert isinstance(result, route.response_model)
    else:
        assert result is None


async def test_create_debtor_sends_the_debtor_and_returns_its_id(
    router: respx.MockRouter,
) -> None:
    mocked = router.post("/v1/debtors/debtor").respond(201, json={"PublicId": DID})

    async with BillectaClient(base_url=BASE, authentication=TOKEN) as client:
        debtor_id = await client.create_debtor(DEBTOR)

    assert debtor_id == DID
    assert json.loads(mocked.calls.last.request.content) == {
        "CreditorPublicId": CID,
        "Name": "Ada",
        "DebtorExternalId": "lime-1",
    }


async def test_match_payments_sends_a_list_and_reads_successfull(
    router: respx.MockRouter,
) -> None:
    mocked = router.post(f"/v1/payments/matchpayments/{CID}").respond(
        200,
        json=[{"UnhandledPaymentPublicId": UID, "Successfull": False, "ResponseMessage": "Paid"}],
    )
    match = s.BillectaPaymentMatch(
        unhandled_payment_public_id=UID, action_public_id=AID, payment_date=date(2025, 9, 10)
    )

    async with BillectaClient(base_url=BASE, authentication=TOKEN) as client:
        (result,) = await client.match_payments(CID, [match])

    assert json.loads(mocked.calls.last.request.content) == [
        {
            "UnhandledPaymentPublicId": UID,
            "ActionPublicId": AID,
            "PaymentDate": "2025-09-10T00:00:00",
        }
    ]
    assert result.successfull is False
    assert result.response_message == "Paid"


async def test_incoming_payments_are_requested_with_a_put_body(
    router: respx.MockRouter,
) -> None:
    mocked = router.put("/v1/payments/incomingpayments").respond(
        200, json=[{"PaymentReferenceId": UID, "Amount": SEK.to_wire(), "OCR": "1234"}]
    )

    async with BillectaClient(base_url=BASE, authentication=TOKEN) as client:
        (payment,) = await client.get_incoming_payments(
            CID, date(2025, 9, 1), date(2025, 9, 30), action_public_ids=[AID]
        )

    assert json.loads(mocked.calls.last.request.content) == {
        "CreditorPublicId": CID,
        "From": "2025-09-01T00:00:00",
        "To": "2025-09-30T00:00:00",
        "ActionPublicIdFilter": [AID],
    }
    assert payment.amount is not None
    assert payment.amount.to_decimal() == Decimal("100.50")
    assert payment.ocr == "1234"
