"""Crediting an invoice: the task creates and attests the credit invoice in Billecta, and its
webhooks bring the credit invoice into the mirror, linked to the original, which becomes
`credited` with its order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billecta_gateway.orders.actions import ENTRY_FIELDS
from tests.e2e.support import World, minor, money

pytestmark = pytest.mark.e2e


async def test_credit_invoice_is_linked_and_the_original_credited(world: World) -> None:
    stack = world.stack
    invoiced = await world.new_invoice(unitprice="1000.00")

    batch = await world.run_task_ok(
        "credit-invoices-in-billecta", [invoiced.invoice_id], "Credit invoices in Billecta"
    )
    assert batch["task"] == "credit_invoices_in_billecta"

    # Billecta: a credit invoice crediting the original, attested; the original is closed.
    created = await stack.billecta_requests("create_invoice_action")
    credit_entry = created[-1]["body"]
    assert credit_entry["CreditingInvoicePublicId"] == invoiced.action_public_id
    assert credit_entry["ExternalReference"] == f"credit-{invoiced.invoice_id}"
    assert [r["Quantity"] for r in credit_entry["Records"] if r["RecordType"] != "Message"] == [-1]
    original = await world.get("invoice", invoiced.invoice_id)
    credit_action_id = original["credit_invoice_actionpublicid"]
    assert credit_action_id
    credit_view = await stack.invoice_action(credit_action_id)
    assert credit_view["ActionType"] == "CreditInvoiceAction"
    assert credit_view["CreditingInvoice"]["SourcePublicId"] == invoiced.action_public_id
    assert minor(credit_view["InvoicedAmount"]) == -125_000
    source_view = await stack.invoice_action(invoiced.action_public_id)
    assert source_view["State"]["Stage"] == "Completed"
    assert minor(source_view["CreditedAmount"]) == 125_000
    assert minor(source_view["CurrentAmount"]) == 0

    # Gateway: the credit invoice row, linked; the original and its order credited.
    credit = await world.wait_invoice(
        credit_action_id,
        lambda i: i["invoicestatus"] == "credited" and i["credited_invoice"] is not None,
        what="to be mirrored as a linked credit invoice",
    )
    assert credit["is_credit_invoice"] is True
    assert credit["credited_invoice"] == invoiced.invoice_id
    assert money(credit["invoice_amount"]) == Decimal("-1250.00")
    assert credit["creditor"] == world.creditor_id
    assert credit["debtor"] == world.debtor_id
    original = await world.wait_invoice(
        invoiced.action_public_id,
        lambda i: i["invoicestatus"] == "credited" and money(i["invoice_balance"]) == 0,
        what="to be credited with nothing left to pay",
    )
    assert original["credit_invoice_actionpublicid"] == credit_action_id
    assert money(original["credited_amount"]) == Decimal("1250.00")
    assert original["paid_date"] is None
    await world.wait_object(
        "order", invoiced.order_id, lambda o: o["orderstatus"] == "credited", what="credited"
    )

    # One credit payment on each side (AmountCreditedOnInvoice fires for both invoices). The
    # credit invoice's may be processed while that invoice's own event is still creating the
    # row: it then waits for its quick retry, seconds later, not for the minute cron.
    async def credit_payments() -> list[dict[str, object]] | None:
        rows = [
            p
            for invoice_id in (invoiced.invoice_id, credit["_id"])
            for p in await world.payments_of(invoice_id)
        ]
        return rows if len(rows) == 2 else None

    rows = await world.eventually(credit_payments, 10.0, "a credit payment on both invoices")
    assert {r["paymenttype"] for r in rows} == {"credit"}
    assert len({r["paymentreferenceid"] for r in rows}) == 1
    assert sorted(money(r["amount"]) for r in rows) == [Decimal("-1250.00"), Decimal("1250.00")]

    await world.settle()
    events = await world.inbox()
    assert {e["status"] for e in events} == {"processed"}, [
        (e["event_type"], e["status"], e["last_error"])
        for e in events
        if e["status"] != "processed"
    ]
    mirrored = await world.find_by("invoice", "creditor", world.creditor_id)
    assert sorted(i["_id"] for i in mirrored) == sorted([invoiced.invoice_id, credit["_id"]])


async def test_a_full_credit_credits_fees_and_discounts_and_the_original_stays_credited(
    world: World,
) -> None:
    stack = world.stack
    order_id = await world.push_order(unitprice="1000.00")
    # A discount on the article row, then an invoice fee and a freight fee on the draft.
    rows = await world.find_by("orderrow", "order", order_id)
    standard = next(r for r in rows if r["rowtype"] == "standard")
    await world.put("orderrow", standard["_id"], {**_row_fields(standard), "discount": "100.00"})
    await world.run_task_ok("upsert-orders-in-billecta", [order_id], "Upsert orders in Billecta")
    action_public_id = (await world.get("order", order_id))["actionpublicid"]
    draft = await stack.invoice_action(action_public_id)
    entry = {k: v for k, v in draft.items() if k in ENTRY_FIELDS}
    entry["DebtorPublicId"] = draft["Debtor"]["DebtorPublicId"]
    entry["InvoiceFee"] = {"CurrencyCode": "SEK", "Value": 4900, "ValueForView": 49.0}
    entry["FreightFee"] = {"CurrencyCode": "SEK", "Value": 2500, "ValueForView": 25.0}
    await stack.billecta("update_invoice_action", entry, action_public_id=action_public_id)
    await world.run_task_ok("attest-orders-in-billecta", [order_id], "Attest orders in Billecta")
    invoiced = await world.wait_status(action_public_id, "sent")
    charged = minor((await stack.invoice_action(action_public_id))["InvoicedAmount"])
    assert charged == (100_000 - 10_000) * 125 // 100 + 4900 + 2500

    await world.run_task_ok(
        "credit-invoices-in-billecta", [invoiced["_id"]], "Credit invoices in Billecta"
    )

    credit_entry = (await stack.billecta_requests("create_invoice_action"))[-1]["body"]
    assert minor(credit_entry["InvoiceFee"]) == -4900
    assert minor(credit_entry["FreightFee"]) == -2500
    [credited_row] = [r for r in credit_entry["Records"] if r["RecordType"] != "Message"]
    assert credited_row["Quantity"] == -1
    assert minor(credited_row["DiscountAmount"]) == -10_000
    source = await stack.invoice_action(action_public_id)
    assert minor(source["CreditedAmount"]) == charged
    assert minor(source["CurrentAmount"]) == 0
    original = await world.wait_invoice(
        action_public_id,
        lambda i: i["invoicestatus"] == "credited" and money(i["invoice_balance"]) == 0,
        what="to be credited with nothing left to pay",
    )
    assert money(original["credited_amount"]) == Decimal(charged) / 100

    # Any number of later reads of Billecta's state leave it credited.
    for _ in range(2):
        await world.run_task_ok(
            "backfill-from-billecta",
            [world.creditor_id],
            "Backfill",
            body={"creditor_id": world.creditor_id, "since": date.today().isoformat()},
            within=60,
        )
        await world.settle()
        again = await world.invoice_by_action(action_public_id)
        assert again is not None
        assert again["invoicestatus"] == "credited"
        assert money(again["invoice_balance"]) == 0


def _row_fields(row: dict[str, Any]) -> dict[str, Any]:
    names = ("order", "article", "rowtype", "position", "quantity", "unitprice")
    return {name: row[name] for name in names}
