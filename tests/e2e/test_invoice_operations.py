"""Operations on a sent invoice, called by the Lime frontend and run against Billecta inside the
request: a reminder, a dispute, a Swish request and a debt collection sent to the bailiff."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs

import pytest

from tests.e2e.support import World, eventually, minor, money

pytestmark = pytest.mark.e2e

USER = {"x-lime-user": "e2e.operator"}


async def test_reminder_invoice_then_dispute_and_its_cancellation(world: World) -> None:
    stack = world.stack
    invoiced = await world.new_invoice(unitprice="1000.00")

    response = await world.gateway.post(
        "/billecta/create-reminder-invoice",
        json={
            "invoice_action_public_id": invoiced.action_public_id,
            "delivery_method": "email",
            "reminder_fee": 60,
            "currency_code": "SEK",
            "payment_terms_in_days": 10,
        },
        headers=USER,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {}
    sent = await stack.billecta_requests("create_reminder_invoice")
    assert len(sent) == 1
    assert sent[0]["body"]["InvoiceActionPublicId"] == invoiced.action_public_id
    assert sent[0]["body"]["ReminderFee"]["Value"] == 6_000
    assert sent[0]["body"]["PaymentTermsInDays"] == 10
    action = await stack.invoice_action(invoiced.action_public_id)
    reminder_action_id = action["ReminderInvoiceActionPublicId"]
    assert reminder_action_id
    assert action["State"]["Stage"] == "ReminderInvoiceSent"
    assert minor(action["CurrentAmount"]) == 131_000  # 1,250 SEK + the 60 SEK fee

    reminder = await world.wait_invoice(
        reminder_action_id, lambda i: i["source_invoice"] is not None, what="to be mirrored"
    )
    assert reminder["is_reminder_invoice"] is True
    assert reminder["source_invoice"] == invoiced.invoice_id
    assert reminder["debtor"] == world.debtor_id
    assert reminder["creditor"] == world.creditor_id
    assert reminder["ocr"] and reminder["ocr"] != invoiced.ocr
    original = await world.wait_invoice(
        invoiced.action_public_id,
        lambda i: money(i["invoice_balance"]) == Decimal("1310.00"),
        what="to owe the reminder fee",
    )
    assert original["invoicestatus"] == "sent"
    assert original["billecta_stage"] == "ReminderInvoiceSent"
    assert original["is_reminder_invoice"] is False

    # A dispute: Billecta marks it, the gateway reads the invoice back in the same request.
    response = await world.gateway.put(
        "/billecta/dispute-invoice", json={"invoice_id": invoiced.invoice_id}, headers=USER
    )
    assert response.status_code == 200, response.text
    disputed = await world.get("invoice", invoiced.invoice_id)
    assert disputed["disputed"] is True
    assert disputed["billecta_error_message"] is None
    action = await stack.invoice_action(invoiced.action_public_id)
    assert action["State"]["DisputedDate"] is not None
    assert len(await stack.billecta_requests("dispute_invoice")) == 1

    # A reminder on a disputed invoice is refused by Billecta; the reason reaches Lime.
    response = await world.gateway.post(
        "/billecta/create-reminder-invoice",
        json={
            "invoice_action_public_id": invoiced.action_public_id,
            "delivery_method": "email",
            "reminder_fee": 0,
            "currency_code": "SEK",
            "payment_terms_in_days": 10,
        },
    )
    assert response.status_code == 500, response.text
    assert "disputed" in response.json()["error_message"]
    refused = await world.get("invoice", invoiced.invoice_id)
    assert "disputed" in refused["billecta_error_message"]

    response = await world.gateway.put(
        "/billecta/cancel-disputed-invoice", json={"invoice_id": invoiced.invoice_id}
    )
    assert response.status_code == 200, response.text
    undisputed = await world.get("invoice", invoiced.invoice_id)
    assert undisputed["disputed"] is False
    assert undisputed["billecta_error_message"] is None
    assert (await stack.invoice_action(invoiced.action_public_id))["State"]["DisputedDate"] is None

    await world.settle()
    assert (await world.get("invoice", invoiced.invoice_id))["disputed"] is False
    events = await world.inbox()
    assert "ReminderInvoiceActionCreated" in {e["event_type"] for e in events}
    assert {e["status"] for e in events} == {"processed"}


async def test_swish_request_paid_in_the_app_pays_the_invoice(world: World) -> None:
    stack = world.stack
    invoiced = await world.new_invoice(unitprice="1000.00")

    defaults = await world.gateway.get(f"/billecta/swish-request/defaults/{invoiced.invoice_id}")
    assert defaults.status_code == 200, defaults.text
    assert defaults.json()["phone"] == world.debtor_phone
    assert defaults.json()["phone_valid"] is True

    path = f"/billecta/swish-request/{invoiced.action_public_id}"
    params = {"phone": "070-123 45 67", "message": "Betalning av hyra"}
    headers = {"Idempotency-Key": f"swish-{invoiced.invoice_id}", **USER}
    response = await world.gateway.post(path, params=params, headers=headers)
    assert response.status_code == 201, response.text
    token = response.json()["requestid"]
    assert token
    again = await world.gateway.post(path, params=params, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json() == {"requestid": token}
    requests = await stack.billecta_requests("create_swish_request")
    assert len(requests) == 1  # the repeat was answered without calling Billecta
    query = parse_qs(requests[0]["query"])
    assert query["phone"] == ["46701234567"]
    assert query["message"] == ["Betalning av hyra"]

    status = await world.gateway.get(f"/billecta/swish-request/status/{token}")
    assert status.status_code == 200, status.text
    assert status.json() == {"requeststatus": "CREATED"}

    await stack.control("POST", f"/swish/{token}", {"status": "Paid"})
    status = await world.gateway.get(f"/billecta/swish-request/status/{token}")
    assert status.json() == {"requeststatus": "PAID"}

    invoice = await world.wait_status(invoiced.action_public_id, "paid")
    assert money(invoice["invoice_balance"]) == 0
    await world.completed_order(invoiced)
    await world.settle()
    payments = await world.payments_of(invoiced.invoice_id)
    assert [(p["paymentmeancode"], money(p["amount"])) for p in payments] == [
        ("SWISH", Decimal("1250.00"))
    ]
    action = await stack.invoice_action(invoiced.action_public_id)
    assert action["State"]["Stage"] == "Completed"
    assert action["State"]["SwishPaymentPublicId"] == token


async def test_debt_collection_is_sent_to_the_bailiff(world: World) -> None:
    stack = world.stack
    invoiced = await world.new_invoice(unitprice="1000.00")

    response = await world.gateway.post(
        "/billecta/send-to-debt-collection",
        json={
            "invoice_id": invoiced.invoice_id,
            "delivery_method": "mail",
            "our_reference": "COLL-1",
            "reason_description": "Obetald hyra",
        },
        headers=USER,
    )
    assert response.status_code == 200, response.text
    sent = await stack.billecta_requests("send_invoice_to_debt_collection")
    assert len(sent) == 1
    assert sent[0]["body"]["SourcePublicId"] == invoiced.action_public_id
    assert sent[0]["body"]["DeliveryMethod"] == "Mail"
    action = await stack.invoice_action(invoiced.action_public_id)
    case_action_id = action["DebtCollectionActionPublicId"]
    assert case_action_id
    assert action["State"]["Stage"] == "SentToDebtCollection"
    # The gateway read the invoice back in the same request.
    invoice = await world.get("invoice", invoiced.invoice_id)
    assert invoice["billecta_stage"] == "SentToDebtCollection"
    assert invoice["invoicestatus"] == "sent"

    async def mirrored_case() -> dict[str, object] | None:
        found = await world.find_by("debtcollection", "actionpublicid", case_action_id)
        return found[0] if found else None

    case = await eventually(mirrored_case, what="the debt collection in the mirror")
    assert case["invoice"] == invoiced.invoice_id
    assert case["creditor"] == world.creditor_id
    assert case["debtor"] == world.debtor_id
    assert case["status"] == "DebtCollectionInvoiceSent"
    assert money(case["debt_amount"]) == Decimal("1250.00")
    assert case["deliverymethod"] == "mail"

    response = await world.gateway.put(
        "/billecta/send-to-bailiff",
        json={"debtcollection_id": case["_id"], "bailiff_option": "bailiff"},
        headers=USER,
    )
    assert response.status_code == 200, response.text
    assert len(await stack.billecta_requests("send_to_bailiff")) == 1
    view = await stack.billecta("get_debt_collection_action", action_public_id=case_action_id)
    assert view["State"]["Stage"] == "SentToBailiff"
    case = await world.wait_object(
        "debtcollection",
        case["_id"],
        lambda c: c["status"] == "SentToBailiff",
        what="to be with the bailiff",
    )
    assert case["billecta_error_message"] is None

    # The bailiff cannot take it twice: Billecta refuses, the case keeps the reason.
    response = await world.gateway.put(
        "/billecta/send-to-bailiff",
        json={"debtcollection_id": case["_id"], "bailiff_option": "bailiff"},
    )
    assert response.status_code == 500, response.text
    refused = await world.get("debtcollection", case["_id"])
    assert refused["billecta_error_message"]
    assert refused["status"] == "SentToBailiff"

    await world.settle()
    events = await world.inbox()
    types = {e["event_type"] for e in events}
    assert {"DebtCollectionCaseCreated", "DebtCollectionActionStateChanged"} <= types
    assert {e["status"] for e in events} == {"processed"}
    feed = await world.feed(
        "debtcollection",
        until=lambda f: any(o["status"] == "SentToBailiff" for o in f["objects"]),
    )
    assert [(o["_id"], o["status"]) for o in feed["objects"]] == [(case["_id"], "SentToBailiff")]
