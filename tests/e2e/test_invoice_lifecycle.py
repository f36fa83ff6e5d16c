"""An order pushed through the ingestion API becomes an invoice in Billecta, the sandbox's
webhooks bring it into the mirror and the change feed, and payments by OCR settle it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.support import World, eventually, minor, money

pytestmark = pytest.mark.e2e


async def test_order_to_paid_invoice_and_completed_order(world: World) -> None:
    stack = world.stack
    order_id = await world.push_order(unitprice="1000.00", quantity=2)
    feed_before = (await world.feed("invoice"))["last_change_no"]

    invoiced = await world.invoice_order(order_id)

    # Billecta: the debtor, the product and the invoice action were created and attested.
    debtors = await stack.billecta_requests("create_debtor")
    assert len(debtors) == 1
    assert debtors[0]["body"]["Name"] == "Anna Andersson"
    assert debtors[0]["body"]["CreditorPublicId"] == world.creditor_public_id
    products = await stack.billecta_requests("create_product")
    assert [p["body"]["ArticleNumber"] for p in products] == [f"HYRA-{world.article_id}"]
    created = await stack.billecta_requests("create_invoice_action")
    assert len(created) == 1
    entry = created[0]["body"]
    assert entry["ExternalReference"] == f"order-{order_id}"
    assert entry["DeliveryMethod"] == "Email"
    assert [r["RecordType"] for r in entry["Records"]] == ["Standard", "Message"]
    assert len(await stack.billecta_requests("attest_invoice_action")) == 1
    action = await stack.invoice_action(invoiced.action_public_id)
    assert action["State"]["Stage"] == "InvoiceSent"
    assert minor(action["InvoicedAmount"]) == 250_000  # 2 x 1,000 SEK + 25 % VAT
    assert action["CreditorPublicId"] == world.creditor_public_id

    # Gateway: the Lime links carry Billecta's ids; the invoice is mirrored from the webhooks.
    relation = await world.get("creditordebtor", world.creditordebtor_id)
    assert relation["debtorpublicid"] == action["Debtor"]["DebtorPublicId"]
    article_link = await world.get("creditorarticle", world.creditorarticle_id)
    product = await stack.billecta("get_product", product_public_id=article_link["articlepublicid"])
    assert product["ArticleNumber"] == f"HYRA-{world.article_id}"
    assert entry["Records"][0]["ProductPublicId"] == article_link["articlepublicid"]
    invoice = invoiced.invoice
    assert invoiced.amount == Decimal("2500.00")
    assert money(invoice["invoice_balance"]) == Decimal("2500.00")
    assert invoice["invoicenumber"] == action["InvoiceNumber"]
    assert invoice["ocr"] == action["Invoices"][-1]["OCR"]
    assert invoice["creditor"] == world.creditor_id
    assert invoice["debtor"] == world.debtor_id
    assert invoice["creditordebtor"] == world.creditordebtor_id
    assert invoice["currency"] == "SEK"
    assert invoice["deliverymethod"] == "email"
    assert invoice["invoice_sent_date"] is not None
    assert invoice["_id"] >= 10**12  # created by the gateway from Billecta data

    await world.settle()
    events = await world.inbox()
    types = {e["event_type"] for e in events}
    assert {"InvoiceActionAttested", "InvoiceActionStateChanged"} <= types
    assert {e["status"] for e in events} == {"processed"}

    feed = await world.feed(
        "invoice",
        feed_before,
        until=lambda f: _has(f, invoiced.invoice_id, "invoicestatus", "sent"),
    )
    assert [o["_id"] for o in feed["objects"]] == [invoiced.invoice_id]
    assert feed["objects"][0]["invoicestatus"] == "sent"
    assert feed["last_change_no"] > feed_before

    # A full payment by OCR.
    paid = await world.pay(invoiced.ocr)
    assert paid["kind"] == "payment"
    invoice = await world.wait_status(invoiced.action_public_id, "paid")
    assert money(invoice["invoice_balance"]) == 0
    assert money(invoice["paid_amount"]) == Decimal("2500.00")
    assert invoice["paid_date"] is not None
    order = await world.completed_order(invoiced)
    assert order["actionpublicid"] == invoiced.action_public_id

    action = await stack.invoice_action(invoiced.action_public_id)
    assert action["State"]["Stage"] == "Completed"
    assert minor(action["CurrentAmount"]) == 0
    assert minor(action["PaidAmount"]) == 250_000

    await world.settle()
    # What the sandbox delivered is Billecta's WebhookEvent body, as stored.
    events = await world.inbox()
    assert {"InvoicePaymentReceived", "InvoiceActionPaid"} <= {e["event_type"] for e in events}
    assert {e["status"] for e in events} == {"processed"}
    for listed in events:
        detail = await stack.gateway.get(f"/webhook-events/{listed['id']}")
        payload = detail.json()["payload"]
        assert set(payload) == {"EventDate", "CreditorPublicId", "Event", "Data", "AdditionalData"}
        assert payload["Event"] == listed["event_type"]
        assert datetime.fromisoformat(payload["EventDate"]).tzinfo is None
        assert listed["event_id"] is None
    payments = await world.payments_of(invoiced.invoice_id)
    assert len(payments) == 1
    assert payments[0]["paymenttype"] == "payment"
    assert money(payments[0]["amount"]) == Decimal("2500.00")
    assert payments[0]["paymentreferenceid"] == paid["payment_reference_id"]
    assert payments[0]["ocr"] == invoiced.ocr

    feed = await world.feed(
        "invoice",
        feed["last_change_no"],
        until=lambda f: _has(f, invoiced.invoice_id, "invoicestatus", "paid"),
    )
    assert [o["invoicestatus"] for o in feed["objects"]] == ["paid"]
    order_feed = await world.feed(
        "order", until=lambda f: _has(f, order_id, "orderstatus", "completed")
    )
    assert [(o["_id"], o["orderstatus"]) for o in order_feed["objects"]] == [
        (order_id, "completed")
    ]


async def test_partial_payment_leaves_the_invoice_subpaid_until_the_rest_arrives(
    world: World,
) -> None:
    stack = world.stack
    invoiced = await world.new_invoice(unitprice="1000.00")
    assert invoiced.amount == Decimal("1250.00")

    partial = await world.pay(invoiced.ocr, "500.00")
    assert partial["kind"] == "partial"
    invoice = await world.wait_invoice(
        invoiced.action_public_id,
        lambda i: i["invoicestatus"] == "subpaid" and money(i["invoice_balance"]) == 750,
        what="to be subpaid with 750 left",
    )
    assert money(invoice["paid_amount"]) == Decimal("500.00")
    assert money(invoice["invoice_amount"]) == Decimal("1250.00")
    assert invoice["paid_date"] is None
    action = await stack.invoice_action(invoiced.action_public_id)
    assert action["State"]["Stage"] == "InvoiceSent"
    assert minor(action["CurrentAmount"]) == 75_000
    assert minor(action["PaidAmount"]) == 50_000
    await world.settle()
    assert (await world.get("order", invoiced.order_id))["orderstatus"] == "attested"
    payments = await world.payments_of(invoiced.invoice_id)
    assert [(p["paymenttype"], money(p["amount"])) for p in payments] == [
        ("payment", Decimal("500.00"))
    ]

    rest = await world.pay(invoiced.ocr, "750.00")
    assert rest["kind"] == "payment"
    invoice = await world.wait_status(invoiced.action_public_id, "paid")
    assert money(invoice["invoice_balance"]) == 0
    assert money(invoice["paid_amount"]) == Decimal("1250.00")
    await world.completed_order(invoiced)
    await world.settle()
    payments = await world.payments_of(invoiced.invoice_id)
    assert sorted(money(p["amount"]) for p in payments) == [Decimal("500.00"), Decimal("750.00")]
    assert len({p["paymentreferenceid"] for p in payments}) == 2
    assert (await stack.invoice_action(invoiced.action_public_id))["State"]["Stage"] == "Completed"


async def test_overpayment_is_matched_to_another_invoice(world: World) -> None:
    stack = world.stack
    first = await world.new_invoice(unitprice="1000.00")
    second = await world.new_invoice(unitprice="1000.00")

    over = await world.pay(first.ocr, "1750.00")
    assert over["kind"] == "overpayment"
    unhandled_id = over["unhandled_payment_public_id"]
    await world.wait_status(first.action_public_id, "paid")

    async def overpayment() -> dict[str, object] | None:
        found = await world.find_by("payment", "unhandledpaymentpublicid", unhandled_id)
        return found[0] if found else None

    surplus = await eventually(overpayment, what="the overpayment in the mirror")
    assert surplus["paymenttype"] == "overpayment"
    assert surplus["paymentstatus"] == "overpayment"
    assert money(surplus["amount"]) == Decimal("500.00")
    assert surplus["invoice"] == first.invoice_id
    assert surplus["creditor"] == world.creditor_id
    view = await stack.billecta("get_unhandled_payment", unhandled_payment_public_id=unhandled_id)
    assert view["UnhandledPaymentType"] == "OverPayment"
    assert view["State"] == "Unhandled"

    response = await world.gateway.post(
        "/billecta/match-payment/",
        json={"payment_billecta_id": unhandled_id, "invoice_id": second.invoice_id},
        headers={"x-lime-user": "e2e.operator"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"status_code": 200, "status": "The match was successful"}
    matches = await stack.billecta_requests("match_payments")
    assert len(matches) == 1
    assert matches[0]["body"][0]["UnhandledPaymentPublicId"] == unhandled_id
    assert matches[0]["body"][0]["ActionPublicId"] == second.action_public_id

    invoice = await world.wait_invoice(
        second.action_public_id,
        lambda i: i["invoicestatus"] == "subpaid" and money(i["invoice_balance"]) == 750,
        what="to be subpaid by the overpayment",
    )
    assert money(invoice["paid_amount"]) == Decimal("500.00")
    used = await world.wait_object(
        "payment",
        surplus["_id"],
        lambda p: p["paymentstatus"] == "usedoninvoice",
        what="to be used on the second invoice",
    )
    assert used["used_on_invoice"] == second.invoice_id
    assert used["billecta_error_message"] is None
    action = await stack.invoice_action(second.action_public_id)
    assert minor(action["CurrentAmount"]) == 75_000
    view = await stack.billecta("get_unhandled_payment", unhandled_payment_public_id=unhandled_id)
    assert view["State"] == "UsedOnInvoice"
    assert view["OverpaymentDetails"]["UsedOnActionPublicId"] == second.action_public_id

    await world.settle()
    first_payments = await world.payments_of(first.invoice_id)
    assert [money(p["amount"]) for p in first_payments if p["paymenttype"] == "payment"] == [
        Decimal("1250.00")
    ]
    second_payments = [
        p for p in await world.payments_of(second.invoice_id) if p["paymenttype"] == "payment"
    ]
    assert [money(p["amount"]) for p in second_payments] == [Decimal("500.00")]
    assert (await world.get("invoice", first.invoice_id))["invoicestatus"] == "paid"
    assert (await world.get("order", second.order_id))["orderstatus"] == "attested"


async def test_order_completes_when_a_refresh_saw_the_payment_before_the_webhook(
    world: World,
) -> None:
    """Deterministically what happens by chance when the payment webhook's refresh job runs
    before the state webhook is processed: the gateway reads the paid invoice back from
    Billecta first (here through an operation that reads it back), then the webhooks arrive."""
    stack = world.stack
    invoiced = await world.new_invoice()
    receiver = (await stack.control("GET", "/webhooks/settings"))["url"]
    await stack.control("PUT", "/webhooks/settings", {"url": None})  # Billecta holds them
    await world.pay(invoiced.ocr)
    response = await world.gateway.put(
        "/billecta/cancel-disputed-invoice", json={"invoice_id": invoiced.invoice_id}
    )
    assert response.status_code == 200, response.text
    assert (await world.get("invoice", invoiced.invoice_id))["invoicestatus"] == "paid"

    await stack.control("PUT", "/webhooks/settings", {"url": receiver})
    await world.settle()
    assert [p["paymenttype"] for p in await world.payments_of(invoiced.invoice_id)] == ["payment"]
    order = await world.get("order", invoiced.order_id)
    assert order["orderstatus"] == "completed"


def _has(feed: dict[str, Any], object_id: int, field: str, value: str) -> bool:
    """The feed carries the object with that value."""
    return any(o["_id"] == object_id and o[field] == value for o in feed["objects"])
