"""Crediting an invoice: the task creates and attests the credit invoice in Billecta, and its
webhooks bring the credit invoice into the mirror, linked to the original, which becomes
`credited` with its order."""

from __future__ import annotations

from decimal import Decimal

import pytest

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
