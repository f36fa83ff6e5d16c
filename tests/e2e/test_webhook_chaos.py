"""The order-to-payment flows end in the same state whether the sandbox delivers its webhooks
once and in order, or duplicated, delayed and reordered."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.support import World, money

pytestmark = pytest.mark.e2e

DELIVERY = {
    "in order": {},
    "duplicated": {"duplicate": 1.0},
    "delayed": {"delay_ms": 400},
    "reordered": {"reorder": True, "reorder_window_ms": 300},
    "duplicated, delayed and reordered": {
        "duplicate": 1.0,
        "delay_ms": 150,
        "reorder": True,
        "reorder_window_ms": 300,
    },
}

EXPECTED = {
    "invoices": [
        # (order, status, amount, balance, paid)
        ("paid in full", "paid", Decimal("1250.00"), Decimal("0.00"), Decimal("1250.00")),
        ("paid in part", "subpaid", Decimal("2500.00"), Decimal("1700.00"), Decimal("800.00")),
    ],
    "orders": [("paid in full", "completed"), ("paid in part", "attested")],
    "payments": [
        ("paid in full", "payment", Decimal("1250.00")),
        ("paid in part", "payment", Decimal("800.00")),
    ],
    "invoices in the change feed": 2,
    "inbox": {"processed"},
}


async def _snapshot(world: World, orders: dict[int, str]) -> dict[str, Any]:
    """Both invoices, orders and payments of the world, named by their order."""
    invoices = await world.find_by("invoice", "creditor", world.creditor_id)
    by_id = {i["_id"]: orders[i["order"]] for i in invoices}
    payments = [p for invoice_id in by_id for p in await world.payments_of(invoice_id)]
    feed = await world.feed(
        "invoice", until=lambda f: {o["_id"] for o in f["objects"]} >= set(by_id)
    )
    statuses = [
        (name, (await world.get("order", oid))["orderstatus"]) for oid, name in orders.items()
    ]
    return {
        "invoices": sorted(
            (
                orders[i["order"]],
                i["invoicestatus"],
                money(i["invoice_amount"]),
                money(i["invoice_balance"]),
                money(i["paid_amount"]),
            )
            for i in invoices
        ),
        "orders": sorted(statuses),
        "payments": sorted(
            (by_id[p["invoice"]], p["paymenttype"], money(p["amount"])) for p in payments
        ),
        "invoices in the change feed": len(feed["objects"]),
        "inbox": {e["status"] for e in await world.inbox()},
    }


@pytest.mark.parametrize("delivery", list(DELIVERY))
async def test_flows_end_in_the_same_state_however_webhooks_arrive(
    world: World, delivery: str
) -> None:
    stack = world.stack
    settings = await stack.control("PUT", "/webhooks/settings", DELIVERY[delivery])
    for key, value in DELIVERY[delivery].items():
        assert settings[key] == value

    full_order = await world.push_order(unitprice="1000.00")
    part_order = await world.push_order(unitprice="1000.00", quantity=2)
    orders = {full_order: "paid in full", part_order: "paid in part"}
    full = await world.invoice_order(full_order)
    part = await world.invoice_order(part_order)

    assert (await world.pay(full.ocr))["kind"] == "payment"
    assert (await world.pay(part.ocr, "800.00"))["kind"] == "partial"
    await world.wait_status(full.action_public_id, "paid")
    await world.wait_invoice(
        part.action_public_id,
        lambda i: i["invoicestatus"] == "subpaid" and money(i["invoice_balance"]) == 1700,
        what="to be subpaid",
    )
    await world.completed_order(full)

    assert await _snapshot(world, orders) == EXPECTED

    # Every delivery reached the gateway; each event was stored once, whatever its copies.
    deliveries = (await stack.control("GET", "/webhooks", limit=10_000))["deliveries"]
    ours = [d for d in deliveries if d["creditor_public_id"] == world.creditor_public_id]
    assert ours
    assert {d["status"] for d in ours} == {"delivered"}
    event_ids = {d["event_id"] for d in ours}
    copies = sum(1 for d in ours if d["duplicate_of"] is not None)
    assert copies == (len(event_ids) if DELIVERY[delivery].get("duplicate") else 0)
    inbox = await world.inbox()
    # Billecta's body has no event id: the inbox holds one event per original delivery (its
    # copies are byte-identical and deduplicated by the body's hash).
    originals = [d for d in ours if d["duplicate_of"] is None]
    assert len(originals) == len(event_ids)
    assert sorted(e["event_type"] for e in inbox) == sorted(d["event_type"] for d in originals)
    assert all(e["event_id"] is None for e in inbox)
    # Billecta's state agrees with the mirror.
    assert (await stack.invoice_action(full.action_public_id))["State"]["Stage"] == "Completed"
    part_view = await stack.invoice_action(part.action_public_id)
    assert part_view["CurrentAmount"]["Value"] == 170_000
