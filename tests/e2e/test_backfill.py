"""A creditor that already has invoices in Billecta when it is first pushed to the gateway: the
backfill task reads them (and their payments) into the mirror."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.support import World, money

pytestmark = pytest.mark.e2e
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _entry(world: World, debtor_public_id: str, price_ore: int, reference: str) -> dict[str, Any]:
    # Billecta's clock (the sandbox's): Stockholm midnight.
    today = datetime.now(STOCKHOLM).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "CreditorPublicId": world.creditor_public_id,
        "DebtorPublicId": debtor_public_id,
        "InvoiceDate": today.isoformat(),
        "DueDate": (today + timedelta(days=30)).isoformat(),
        "DeliveryMethod": "Email",
        "CommunicationLanguage": "SV",
        "ExternalReference": reference,
        "Records": [
            {
                "RecordType": "Standard",
                "ArticleDescription": "Hyra",
                "Quantity": 1,
                "UnitPrice": {"CurrencyCode": "SEK", "Value": price_ore},
                "VAT": 25,
            }
        ],
    }


async def _invoices_made_outside_the_gateway(world: World) -> tuple[str, dict[str, str]]:
    """A debtor and three sent invoices made in Billecta directly: one paid, one partly paid,
    one open. Their webhooks are held (the gateway does not know the creditor yet)."""
    stack = world.stack
    debtor = await stack.billecta(
        "create_debtor",
        {
            "CreditorPublicId": world.creditor_public_id,
            # The id the gateway gives the debtor: it was synced before (another installation).
            "DebtorExternalId": str(world.debtor_id),
            "Name": "Bo Berg",
            "DebtorType": "Private",
            "OrgNo": "19700101-1234",
            "Email": "bo@example.com",
        },
    )
    actions: dict[str, str] = {}
    for name, price in (("paid", 80_000), ("subpaid", 160_000), ("sent", 40_000)):
        created = await stack.billecta(
            "create_invoice_action", _entry(world, debtor["PublicId"], price, f"portal-{name}")
        )
        await stack.billecta("attest_invoice_action", action_public_id=created["PublicId"])
        actions[name] = created["PublicId"]
    for name, amount in (("paid", None), ("subpaid", "500.00")):
        view = await stack.invoice_action(actions[name])
        await world.pay(view["Invoices"][-1]["OCR"], amount)
    return debtor["PublicId"], actions


async def test_backfill_fills_the_mirror_with_existing_invoices(unpushed_world: World) -> None:
    world, stack = unpushed_world, unpushed_world.stack
    receiver = (await stack.control("GET", "/webhooks/settings"))["url"]
    await stack.control("PUT", "/webhooks/settings", {"url": None})
    debtor_public_id, actions = await _invoices_made_outside_the_gateway(world)
    held = await stack.control("GET", "/webhooks", status="held")
    assert held["deliveries"], "the sandbox held the webhooks"

    # Lime pushes the creditor and the debtor; syncing the debtor finds it in Billecta.
    await world.push_parties()
    await world.run_task_ok(
        "upsert-debtors-in-billecta", [world.debtor_id], "Upsert debtors in Billecta"
    )
    relation = await world.get("creditordebtor", world.creditordebtor_id)
    assert relation["debtorpublicid"] == debtor_public_id
    assert len(await stack.billecta_requests("create_debtor")) == 1  # ours, made above
    assert await world.find_by("invoice", "creditor", world.creditor_id) == []
    feed_start = (await world.feed("invoice"))["last_change_no"]

    batch = await world.run_task_ok(
        "backfill-from-billecta",
        [world.creditor_id],
        "Backfill",
        body={"creditor_id": world.creditor_id},
        within=60,  # everything since 2000, read in 31-day windows
    )
    assert batch["task"] == "backfill_from_billecta"
    await world.settle()

    mirrored = {
        i["actionpublicid"]: i
        for i in await world.find_by("invoice", "creditor", world.creditor_id)
    }
    assert set(mirrored) == set(actions.values())
    expected = {
        "paid": (Decimal("1000.00"), Decimal("0.00")),
        "subpaid": (Decimal("2000.00"), Decimal("1500.00")),
        "sent": (Decimal("500.00"), Decimal("500.00")),
    }
    for status, action_public_id in actions.items():
        invoice = mirrored[action_public_id]
        view = await stack.invoice_action(action_public_id)
        assert invoice["invoicestatus"] == status, invoice
        assert (money(invoice["invoice_amount"]), money(invoice["invoice_balance"])) == (
            expected[status]
        )
        assert invoice["invoicenumber"] == view["InvoiceNumber"]
        assert invoice["ocr"] == view["Invoices"][-1]["OCR"]
        assert invoice["debtor"] == world.debtor_id
        assert invoice["creditordebtor"] == world.creditordebtor_id
        assert invoice["order"] is None  # made in Billecta, not from a Lime order
    payments = {
        p["actionpublicid"]: money(p["amount"])
        for p in await world.find_by("payment", "creditor", world.creditor_id)
    }
    assert payments == {
        actions["paid"]: Decimal("1000.00"),
        actions["subpaid"]: Decimal("500.00"),
    }
    feed = await world.feed(
        "invoice",
        feed_start,
        until=lambda f: {o["actionpublicid"] for o in f["objects"]} >= set(actions.values()),
    )
    assert {o["actionpublicid"] for o in feed["objects"]} == set(actions.values())

    # The webhooks Billecta held arrive late: they change nothing and create nothing.
    snapshot = {i["_id"]: (i["invoicestatus"], i["invoice_balance"]) for i in mirrored.values()}
    await stack.control("PUT", "/webhooks/settings", {"url": receiver})
    await world.settle()
    after = await world.find_by("invoice", "creditor", world.creditor_id)
    assert {i["_id"]: (i["invoicestatus"], i["invoice_balance"]) for i in after} == snapshot
    assert len(await world.find_by("payment", "creditor", world.creditor_id)) == 2
    assert {e["status"] for e in await world.inbox()} == {"processed"}
