"""Webhook delivery: fixture-shaped envelopes the gateway parses, the auth header, retries on a
compressed schedule, and the duplicate, delay and reorder settings."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from fastapi import FastAPI

import billecta_gateway.webhooks.handlers  # noqa: F401 - registers the gateway's handlers
from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta import schemas as s
from billecta_gateway.sandbox import Sandbox, create_sandbox_app
from billecta_gateway.webhooks.envelope import canonical_json, parse_delivery
from billecta_gateway.webhooks.fixtures import load_fixture
from billecta_gateway.webhooks.registry import registry
from tests.sandbox.conftest import (
    AUTH,
    CID,
    HOOK_KEY,
    HOOK_URL,
    Receiver,
    debtor_model,
    entry_model,
    flush,
    make_config,
    sent_invoice,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


async def settings(control: httpx.AsyncClient, **changes: object) -> dict[str, object]:
    response = await control.put("/_sandbox/webhooks/settings", json=changes)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


async def deliveries(control: httpx.AsyncClient, **params: object) -> list[dict[str, object]]:
    response = await control.get("/_sandbox/webhooks", params=params)
    found: list[dict[str, object]] = response.json()["deliveries"]
    return found


async def a_story(billecta: BillectaClient, control: httpx.AsyncClient) -> None:
    """Every kind of state change the sandbox announces."""
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    debtor_id = str(invoice.debtor.debtor_public_id)  # type: ignore[union-attr]
    await control.post(
        "/_sandbox/payments/incoming", json={"action_public_id": action_id, "amount": "50"}
    )
    await billecta.register_payment(
        s.BillectaRegisterPayment(
            action_public_id=action_id,
            write_off=s.BillectaAmount(currency_code="SEK", value=1000),
            payment_date=datetime.now(STOCKHOLM),
        )
    )
    await billecta.create_reminder_invoice(
        s.BillectaSendReminderInvoice(invoice_action_public_id=action_id)
    )
    await control.post(
        f"/_sandbox/invoices/{action_id}/autogiro-withdrawal", json={"result": "failed"}
    )
    await control.post(
        f"/_sandbox/invoices/{action_id}/autogiro-withdrawal", json={"result": "renewed"}
    )
    await control.post(f"/_sandbox/debtors/{debtor_id}/autogiro", json={"stage": "Approved"})
    await control.post(f"/_sandbox/debtors/{debtor_id}/autogiro", json={"stage": "Failed"})
    await billecta.update_debtor(
        (await billecta.get_debtor(debtor_id)).model_copy(update={"city": "Lund"})
    )
    case_id = await billecta.send_invoice_to_debt_collection(
        s.BillectaDebtCollectionFromInvoiceEntry(source_public_id=action_id)
    )
    await billecta.send_to_bailiff(str(case_id))
    await control.post(f"/_sandbox/debtcollections/{case_id}/stage", json={"stage": "Completed"})
    other = await sent_invoice(billecta, debtor_id)
    over = await control.post(
        "/_sandbox/payments/incoming",
        json={"action_public_id": other.action_public_id, "amount": "1300"},
    )
    third = await sent_invoice(billecta, debtor_id)
    await billecta.match_payments(
        CID,
        [
            s.BillectaPaymentMatch(
                unhandled_payment_public_id=over.json()["unhandled_payment_public_id"],
                action_public_id=str(third.action_public_id),
            )
        ],
    )
    await control.post(
        "/_sandbox/payments/unmatched", json={"creditor_public_id": CID, "amount": "9"}
    )
    credit = entry_model(
        debtor_id,
        price="100.00",
        quantity="-1",
        crediting_invoice_public_id=str(third.action_public_id),
    )
    credit_id = await billecta.create_invoice_action(credit)
    await billecta.attest_invoice_action(credit_id)


async def test_every_delivered_event_is_one_the_gateway_parses(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await a_story(billecta, control)
    result = await flush(control)
    assert result["counts"] == {"delivered": len(receiver.received)}
    delivered = set(receiver.types())
    assert delivered >= {
        "InvoiceActionAttested",
        "InvoiceActionStateChanged",
        "InvoicePaymentReceived",
        "AmountWrittenOffOnInvoice",
        "ReminderInvoiceActionCreated",
        "AutogiroWithdrawalFailedOnInvoice",
        "AutogiroWithdrawalRenewedOnInvoice",
        "AutogiroApprovalChanged",
        "AutogiroApprovalFailed",
        "DebtorUpdated",
        "DebtCollectionCaseCreated",
        "DebtCollectionActionStateChanged",
        "DebtCollectionCaseResolved",
        "Overpayment",
        "OverpaymentMatchedToInvoice",
        "UnmatchedPayment",
        "AmountCreditedOnInvoice",
    }
    for body in receiver.received:
        parsed = parse_delivery(json.dumps(body).encode())
        registration = registry.get(parsed.envelope.event)
        assert registration is not None, parsed.envelope.event
        registration.parse(parsed.envelope.data)
        assert parsed.creditor_public_id == CID
        fixture = load_fixture(body["Event"])
        assert set(body) == set(fixture)
        assert set(fixture["Data"]) <= set(body["Data"]), body["Event"]
    created = [datetime.fromisoformat(b["EventDate"]) for b in receiver.received]
    assert created == sorted(created) and len(set(created)) == len(created)
    assert len({canonical_json(b) for b in receiver.received}) == len(receiver.received)
    assert all("EventId" not in b for b in receiver.received)
    # Billecta's clock: Stockholm wall-clock time without an offset.
    assert all(datetime.fromisoformat(b["EventDate"]).tzinfo is None for b in receiver.received)
    assert all(h["x-api-key"] == HOOK_KEY for h in receiver.headers)
    failed = receiver.of_type("AutogiroApprovalFailed")[0]
    assert failed["AdditionalData"] == load_fixture("AutogiroApprovalFailed")["AdditionalData"]


async def test_content_is_the_sandboxs_own_view_of_the_object(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    await flush(control)
    content = receiver.of_type("InvoiceActionStateChanged")[0]["Data"]
    fixture = load_fixture("InvoiceActionStateChanged")["Data"]
    assert content["ActionPublicId"] == invoice.action_public_id
    assert content["InvoiceNumber"] == invoice.invoice_number
    assert content["Debtor"]["DebtorPublicId"] == invoice.debtor.debtor_public_id  # type: ignore[union-attr]
    assert content["InvoicedAmount"]["Value"] == 125000
    assert set(fixture) <= set(content)
    assert fixture["ActionPublicId"] not in json.dumps(content)


async def test_a_failed_delivery_is_retried_until_it_succeeds(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.fail_next = 2
    await billecta.update_debtor(
        (await billecta.get_debtor(await billecta.create_debtor(debtor_model()))).model_copy()
    )
    await flush(control)
    assert receiver.types() == ["DebtorUpdated"]
    [delivery] = await deliveries(control)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert [h["status_code"] for h in delivery["history"]] == [503, 503, 200]  # type: ignore[index, union-attr]


async def test_a_delivery_fails_after_the_last_retry_and_can_be_sent_again(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.fail_next = 100
    debtor_id = await billecta.create_debtor(debtor_model())
    await billecta.anonymize_debtor(debtor_id)
    await flush(control)
    [delivery] = await deliveries(control, status="failed")
    assert delivery["attempts"] == 4  # the first try and three retries
    receiver.fail_next = 0
    response = await control.post("/_sandbox/webhooks/redeliver", json={})
    assert response.json() == {"redelivered": 1}
    await flush(control)
    assert receiver.types() == ["DebtorUpdated"]


async def test_duplicated_deliveries_carry_the_same_event_id(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await settings(control, duplicate=1.0)
    await sent_invoice(billecta)
    await flush(control)
    assert receiver.types() == [
        "InvoiceActionAttested",
        "InvoiceActionStateChanged",
        "InvoiceActionAttested",
        "InvoiceActionStateChanged",
    ]
    ids = [canonical_json(b) for b in receiver.received]
    assert len(set(ids)) == 2 and all(ids.count(i) == 2 for i in ids)
    listed = await deliveries(control)
    assert sum(1 for d in listed if d["duplicate_of"] is not None) == 2


async def test_reordered_deliveries_arrive_newest_first(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await settings(control, reorder=True, reorder_window_ms=100)
    await sent_invoice(billecta)
    await flush(control)
    assert receiver.types() == ["InvoiceActionStateChanged", "InvoiceActionAttested"]
    first, second = receiver.received
    assert first["EventDate"] > second["EventDate"]


async def test_delayed_deliveries_wait_and_flush_reports_a_timeout(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await settings(control, delay_ms=400)
    await sent_invoice(billecta)
    timed_out = await control.post("/_sandbox/webhooks/flush", params={"wait": 0.05})
    assert timed_out.status_code == 504
    assert receiver.received == []
    await flush(control)
    assert len(receiver.received) == 2


@pytest.fixture
async def unconfigured(receiver: Receiver) -> AsyncIterator[FastAPI]:
    app = create_sandbox_app(
        make_config(webhook_url=None), webhook_transport=httpx.ASGITransport(app=receiver.app())
    )
    yield app
    await app.state.sandbox.aclose()


async def test_without_a_url_deliveries_are_held_until_one_is_set(
    unconfigured: FastAPI, receiver: Receiver
) -> None:
    transport = httpx.ASGITransport(app=unconfigured)
    async with (
        BillectaClient(
            base_url="http://sandbox", authentication=AUTH, transport=transport
        ) as client,
        httpx.AsyncClient(transport=transport, base_url="http://sandbox") as control,
    ):
        await sent_invoice(client)
        await flush(control)
        assert [d["status"] for d in await deliveries(control)] == ["held", "held"]
        await settings(control, url=HOOK_URL, header_value=HOOK_KEY)
        await flush(control)
        assert receiver.types() == ["InvoiceActionAttested", "InvoiceActionStateChanged"]


async def test_deliveries_go_over_http_to_the_configured_url() -> None:
    app = create_sandbox_app(make_config(webhook_url="https://gateway.test/hook"))
    transport = httpx.ASGITransport(app=app)
    with respx.mock(assert_all_called=True) as mock:
        hook = mock.post("https://gateway.test/hook").respond(200, json={"status": "accepted"})
        async with (
            BillectaClient(
                base_url="http://sandbox", authentication=AUTH, transport=transport
            ) as client,
            httpx.AsyncClient(transport=transport, base_url="http://sandbox") as control,
        ):
            debtor_id = await client.create_debtor(debtor_model())
            await client.anonymize_debtor(debtor_id)
            await flush(control)
    await app.state.sandbox.aclose()
    request = hook.calls.last.request
    assert request.headers["x-api-key"] == HOOK_KEY
    assert json.loads(request.content)["Event"] == "DebtorUpdated"


async def test_emit_sends_an_objects_current_state_again(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver, sandbox: Sandbox
) -> None:
    invoice = await sent_invoice(billecta)
    response = await control.post(
        "/_sandbox/webhooks/emit",
        json={"event_type": "InvoiceActionStateChanged", "public_id": invoice.action_public_id},
    )
    assert len(response.json()["deliveries"]) == 1
    await flush(control)
    assert receiver.types()[-1] == "InvoiceActionStateChanged"
    missing = await control.post(
        "/_sandbox/webhooks/emit", json={"event_type": "DebtorUpdated", "public_id": "nope"}
    )
    assert missing.status_code == 404
