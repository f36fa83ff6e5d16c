"""The sandbox serves the route table: every typed client method works against it, unknown
routes are 404, bad credentials 401, and invalid bodies 400 naming the field."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from billecta_gateway.billecta import (
    ROUTES,
    BillectaApiBadRequestException,
    BillectaApiNotFoundException,
    BillectaApiRequestException,
    BillectaClient,
)
from billecta_gateway.billecta import schemas as s
from billecta_gateway.sandbox import Sandbox
from billecta_gateway.sandbox.wire import HANDLERS
from tests.sandbox.conftest import (
    AUTH,
    CID,
    billecta_today,
    debtor_model,
    entry_model,
    sek,
    sent_invoice,
)


def test_every_route_of_the_table_has_a_handler() -> None:
    assert set(HANDLERS) == set(ROUTES)


async def test_every_client_method_works_against_the_sandbox(
    billecta: BillectaClient, control: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    today = billecta_today()
    # creditors
    creditors = await billecta.list_creditors()
    assert CID in [c.creditor_public_id for c in creditors]
    creditor = await billecta.get_creditor(CID)
    await billecta.update_creditor(creditor.model_copy(update={"phone": "+4687654321"}))
    assert (await billecta.get_creditor(CID)).phone == "+4687654321"
    defaults = await billecta.get_default_action_config(CID)
    await billecta.update_default_action_config(
        defaults.model_copy(update={"number_of_reminders": 2})
    )
    assert (await billecta.get_default_action_config(CID)).number_of_reminders == 2
    # debtors
    debtor_id = await billecta.create_debtor(debtor_model("tour-1"))
    debtor = await billecta.get_debtor(debtor_id)
    await billecta.update_debtor(debtor.model_copy(update={"city": "Uppsala"}))
    found = await billecta.get_debtor_by_external_id(CID, "tour-1")
    assert found is not None and found.city == "Uppsala"
    assert [e.event_type for e in await billecta.get_debtor_events(debtor_id)] == [
        "Created",
        "Updated",
    ]
    # products
    product = s.BillectaProduct(
        creditor_public_id=CID, product_external_id="art-1", description="Hyra", unit_price=1000
    )
    product_id = await billecta.create_product(product)
    await billecta.update_product(
        (await billecta.get_product(product_id)).model_copy(update={"description": "Månadshyra"})
    )
    by_external = await billecta.get_product_by_external_id(CID, "art-1")
    assert by_external is not None and by_external.description == "Månadshyra"
    spare = await billecta.create_product(product.model_copy(update={"product_external_id": "x"}))
    await billecta.delete_product(spare)
    # invoices: a draft, edited and deleted; then a sent one
    draft = await billecta.create_invoice_action(entry_model(debtor_id, product_id=product_id))
    await billecta.update_invoice_action(draft, entry_model(debtor_id, price="500.00"))
    await billecta.delete_invoice_action(draft)
    action_id = await billecta.create_invoice_action(entry_model(debtor_id, product_id=product_id))
    await billecta.attest_invoice_action(action_id)
    invoice = await billecta.get_invoice_action(action_id)
    assert invoice.state is not None and invoice.state.stage == "InvoiceSent"
    assert [i.action_public_id for i in await billecta.get_open_invoices(CID)] == [action_id]
    assert [i.action_public_id for i in await billecta.get_open_invoices_by_debtor(debtor_id)] == [
        action_id
    ]
    result = await billecta.search_actions(
        s.BillectaSearch(creditor_public_id=CID, search_value=invoice.invoice_number)
    )
    assert [i.action_public_id for i in result.invoice_actions or []] == [action_id]
    await billecta.dispute_invoice(action_id)
    await billecta.undispute_invoice(action_id)
    await billecta.pause_invoice(action_id)
    await billecta.resume_invoice(action_id)
    await billecta.postpone_invoice(action_id, today + timedelta(days=40))
    reminder_id = await billecta.create_reminder_invoice(
        s.BillectaSendReminderInvoice(invoice_action_public_id=action_id, reminder_fee=sek("60"))
    )
    assert reminder_id
    await billecta.register_payment(
        s.BillectaRegisterPayment(action_public_id=action_id, amount=sek("100"), payment_date=today)
    )
    await billecta.credit_amount(
        s.BillectaCreditAction(action_public_id=action_id, value=sek("50"))
    )
    events = await billecta.get_invoice_events(action_id)
    assert {"Created", "Attested", "InvoiceSent", "Paid", "Credited"} <= {
        e.event_type for e in events
    }
    file_id = invoice.invoices[0].invoice_file.file_public_id  # type: ignore[index,union-attr]
    assert file_id is not None
    assert (await billecta.get_file_bytes(file_id)).startswith(b"%PDF-")
    assert (await billecta.get_file_object(file_id)).decoded().startswith(b"%PDF-")  # type: ignore[union-attr]
    # Swish
    token = await billecta.create_swish_request(action_id, "+46701234567", "Hyra")
    assert (await billecta.get_swish_status(token)).status == "Created"
    # payments
    payments = await billecta.get_incoming_payments(CID, today, today)
    assert [p.action_public_id for p in payments] == [action_id]
    paid = await control.post(
        "/_sandbox/payments/unmatched",
        json={"creditor_public_id": CID, "amount": "10", "reference": "okänd"},
    )
    unhandled_id = paid.json()["UnhandledPaymentPublicId"]
    assert [u.unhandled_payment_public_id for u in await billecta.get_unhandled_payments(CID)] == [
        unhandled_id
    ]
    assert (await billecta.get_unhandled_payment(unhandled_id)).state == "Unhandled"
    results = await billecta.match_payments(
        CID,
        [
            s.BillectaPaymentMatch(
                unhandled_payment_public_id=unhandled_id, action_public_id=action_id
            )
        ],
    )
    assert results[0].successfull is True
    other = await control.post(
        "/_sandbox/payments/unmatched", json={"creditor_public_id": CID, "amount": "5"}
    )
    await billecta.delete_unhandled_payment(other.json()["UnhandledPaymentPublicId"], 1501, today)
    # debt collection
    case_id = await billecta.send_invoice_to_debt_collection(
        s.BillectaDebtCollectionFromInvoiceEntry(source_public_id=action_id)
    )
    assert case_id is not None
    await billecta.postpone_debt_collection(case_id, today + timedelta(days=20))
    await billecta.send_to_long_term_surveillance(case_id)
    case = await billecta.get_debt_collection_action(case_id)
    assert case.state is not None and case.state.stage == "LongTermSurveilance"
    assert await billecta.get_debt_collection_events(case_id)
    second = await sent_invoice(billecta, debtor_id)
    case_2 = await billecta.send_invoice_to_debt_collection(
        s.BillectaDebtCollectionFromInvoiceEntry(source_public_id=str(second.action_public_id))
    )
    await billecta.send_to_bailiff(str(case_2))
    third = await sent_invoice(billecta, debtor_id)
    case_3 = await billecta.send_invoice_to_debt_collection(
        s.BillectaDebtCollectionFromInvoiceEntry(source_public_id=str(third.action_public_id))
    )
    await billecta.send_to_assistance_with_bailiff(str(case_3))
    await billecta.cancel_debt_collection(case_id)
    fourth = await sent_invoice(billecta, debtor_id)
    await control.post(
        "/_sandbox/payments/incoming", json={"action_public_id": fourth.action_public_id}
    )
    closed = await billecta.get_closed_invoices(CID, today, today)
    assert [i.action_public_id for i in closed] == [fourth.action_public_id]
    await billecta.anonymize_debtor(debtor_id)

    called = {name for name, count in sandbox.requests.counts.items() if count}
    assert called == set(ROUTES)
    assert sandbox.requests.statuses.keys() == {200}


async def test_unknown_route_is_asp_net_404(
    control: httpx.AsyncClient, billecta: BillectaClient
) -> None:
    response = await control.get("/v1/debtors/everyone?x=1", headers={"Authorization": AUTH})
    assert response.status_code == 404
    assert response.json() == {
        "Message": "No HTTP resource was found that matches the request URI "
        "'http://sandbox/v1/debtors/everyone?x=1'.",
        "MessageDetail": "No action was found on the controller 'debtors' that matches the name "
        "'everyone'.",
    }
    unknown = await control.get("/v1/nothing/here", headers={"Authorization": AUTH})
    assert unknown.json()["MessageDetail"] == (
        "No type was found that matches the controller named 'nothing'."
    )
    with pytest.raises(BillectaApiNotFoundException):
        await billecta.handle_api_request("GET", "/v1/debtors/everyone")


async def test_a_known_path_with_another_method_is_asp_net_405(
    control: httpx.AsyncClient, billecta: BillectaClient
) -> None:
    response = await control.request("PATCH", "/v1/debtors/debtor", headers={"Authorization": AUTH})
    assert response.status_code == 405
    assert response.json() == {
        "Message": "The requested resource does not support http method 'PATCH'."
    }
    assert response.headers["Allow"] == "POST, PUT"
    with pytest.raises(BillectaApiRequestException) as raised:
        await billecta.handle_api_request("PATCH", "/v1/debtors/debtor")
    assert raised.value.status_code == 405 and not raised.value.retryable


@pytest.mark.parametrize("header", [None, "SecureToken wrong", "Basic " + AUTH.split(" ")[1]])
async def test_missing_or_wrong_authorization_is_401(
    control: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await control.get(f"/v1/creditors/creditor/{CID}", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"Message": "Authorization has been denied for this request."}


async def test_basic_authentication_works_when_it_is_the_configured_value() -> None:
    from billecta_gateway.sandbox import create_sandbox_app
    from tests.sandbox.conftest import make_config

    basic = "Basic dXNlcjpwYXNzd29yZA=="
    app = create_sandbox_app(make_config(authentication=basic))
    client = BillectaClient(
        base_url="http://sandbox", authentication=basic, transport=httpx.ASGITransport(app=app)
    )
    async with client:
        assert (await client.get_creditor(CID)).name == "Testbolaget AB"


async def test_missing_required_field_is_400_naming_it(control: httpx.AsyncClient) -> None:
    response = await control.post(
        "/v1/debtors/debtor", json={"Name": "Utan borgenär"}, headers={"Authorization": AUTH}
    )
    assert response.status_code == 400
    assert "CreditorPublicId" in response.json()["Message"]

    response = await control.post(
        "/v1/invoice/action",
        json={"CreditorPublicId": CID, "DebtorPublicId": "x", "InvoiceDate": "2026-01-01"},
        headers={"Authorization": AUTH},
    )
    message = response.json()["Message"]
    assert response.status_code == 400
    assert "DueDate" in message and "Records" in message


async def test_client_sees_billectas_message_for_a_bad_request(billecta: BillectaClient) -> None:
    with pytest.raises(BillectaApiBadRequestException, match="DebtorPublicId is required"):
        await billecta.update_debtor(debtor_model())


async def test_bodies_that_are_not_json_or_not_objects_are_400(
    control: httpx.AsyncClient,
) -> None:
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    bad_json = await control.put("/v1/products/product", content=b"{nope", headers=headers)
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["Message"]
    empty = await control.post("/v1/products/product", headers=headers)
    assert empty.status_code == 400 and "body is required" in empty.json()["Message"]
    not_list = await control.post(
        f"/v1/payments/matchpayments/{CID}", json={"a": 1}, headers=headers
    )
    assert not_list.status_code == 400 and "array" in not_list.json()["Message"]
    bad_item = await control.post(f"/v1/payments/matchpayments/{CID}", json=[{}], headers=headers)
    assert "[0].UnhandledPaymentPublicId" in bad_item.json()["Message"]


async def test_unknown_enum_name_is_400_and_integer_codes_are_accepted(
    control: httpx.AsyncClient, billecta: BillectaClient
) -> None:
    headers = {"Authorization": AUTH}
    body = debtor_model().to_wire() | {"DebtorType": "Alien"}
    response = await control.post("/v1/debtors/debtor", json=body, headers=headers)
    assert response.status_code == 400 and "DebtorType" in response.json()["Message"]
    response = await control.post(
        "/v1/debtors/debtor", json=debtor_model().to_wire() | {"DebtorType": 1}, headers=headers
    )
    debtor = await billecta.get_debtor(response.json()["PublicId"])
    assert debtor.debtor_type == "Company"


async def test_a_missing_query_parameter_selects_no_action_as_asp_net_does(
    control: httpx.AsyncClient,
) -> None:
    response = await control.get(
        f"/v1/debtors/debtorbyexternalid/{CID}", headers={"Authorization": AUTH}
    )
    assert response.status_code == 404
    assert response.json()["MessageDetail"] == (
        "No action was found on the controller 'debtors' that matches the request."
    )
    postpone = await control.put(
        f"/v1/invoice/postpone/{CID}?days=3", headers={"Authorization": AUTH}
    )
    assert postpone.status_code == 404 and "No action was found" in postpone.text
    optional = await control.post(
        f"/v1/payments/swish/{CID}?phone=0", headers={"Authorization": AUTH}
    )
    assert "No action was found" not in optional.text


async def test_a_request_for_an_unknown_object_is_404(billecta: BillectaClient) -> None:
    with pytest.raises(BillectaApiNotFoundException, match="was not found"):
        await billecta.get_invoice_action("1234567890")
    with pytest.raises(BillectaApiRequestException):
        await billecta.get_creditor("no-such-creditor")
