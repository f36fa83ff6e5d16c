"""Billecta events beyond the spec's list, sent by the sandbox in Billecta's body: a draft deleted
in Billecta returns its order to `created`, and an undelivered invoice is noted until delivered."""

from __future__ import annotations

import pytest

from tests.e2e.support import World

pytestmark = pytest.mark.e2e


async def test_draft_deleted_in_billecta_returns_the_order_to_created(world: World) -> None:
    order_id = await world.push_order(unitprice="500.00", quantity=1)
    await world.run_task_ok("upsert-orders-in-billecta", [order_id], "Upsert orders in Billecta")
    order = await world.get("order", order_id)
    assert order["orderstatus"] == "upserted"
    action_public_id = order["actionpublicid"]

    # Someone deletes the draft in Billecta's portal; Billecta sends InvoiceActionDeleted.
    await world.stack.billecta("delete_invoice_action", action_public_id=action_public_id)

    async def back_to_created() -> dict[str, object] | None:
        current = await world.get("order", order_id)
        return current if current["actionpublicid"] is None else None

    order = await world.eventually(back_to_created, within=30, what="the order to lose its action")
    assert order["orderstatus"] == "created"
    assert str(order["billecta_error_message"]).startswith("Deleted in Billecta on ")
    await world.settle()
    deleted = await world.inbox(event_type="InvoiceActionDeleted")
    assert [e["status"] for e in deleted] == ["processed"]
    detail = await world.gateway.get(f"/webhook-events/{deleted[0]['id']}")
    assert detail.json()["payload"]["Data"] == action_public_id


async def test_undelivered_invoice_is_noted_on_the_invoice(world: World) -> None:
    invoiced = await world.new_invoice()
    await world.stack.control(
        "POST",
        "/webhooks/emit",
        {
            "event_type": "UndeliveredInvoice",
            "public_id": invoiced.action_public_id,
            "delivered": False,
            "reason": "Mailbox full",
        },
    )

    async def noted() -> dict[str, object] | None:
        invoice = await world.get("invoice", invoiced.invoice_id)
        return invoice if invoice["billecta_error_message"] else None

    invoice = await world.eventually(noted, within=30, what="the undelivered note")
    assert invoice["billecta_error_message"] == "Not delivered by Email: Mailbox full"
