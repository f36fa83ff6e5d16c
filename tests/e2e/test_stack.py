"""The stack itself: both servers answer over TCP, the gateway guards its endpoints, and a
creditor pushed with the seeded sandbox creditor's public id syncs with Billecta."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import SEED_CREDITOR_PUBLIC_ID, Stack, World

pytestmark = pytest.mark.e2e


async def test_gateway_and_sandbox_answer_over_http(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url) as anonymous:
        ready = await anonymous.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {
            "postgres": "ok",
            "migrations": "ok",
            "receiver_pool": "ok",
            "redis": "ok",
        }
        refused = await anonymous.get("/limepkg-billecta-integration/limeobjects/invoice")
        assert refused.status_code == 401
        forged = await anonymous.post(
            "/limepkg-billecta-integration/billecta-webhook-receiver",
            json={"Event": "InvoicePaymentReceived"},
            headers={"x-api-key": "not-the-key"},
        )
        assert forged.status_code == 401
    listed = await stack.gateway.get("/limeobjects/invoice")
    assert listed.status_code == 200
    creditor = await stack.billecta("get_creditor", creditor_public_id=SEED_CREDITOR_PUBLIC_ID)
    assert creditor["CreditorPublicId"] == SEED_CREDITOR_PUBLIC_ID
    unauthorized = await stack.sandbox.get(f"/v1/creditors/creditor/{SEED_CREDITOR_PUBLIC_ID}")
    assert unauthorized.status_code == 401


async def test_seeded_creditor_is_updated_in_billecta(unpushed_world: World) -> None:
    world, stack = unpushed_world, unpushed_world.stack
    world.creditor_public_id = SEED_CREDITOR_PUBLIC_ID
    await world.put(
        "creditor",
        world.creditor_id,
        {
            "name": "Seeded Fastigheter AB",
            "orgno": "556677-8899",
            "email": "ekonomi@seeded.example",
            "creditorpublicid": SEED_CREDITOR_PUBLIC_ID,
        },
    )
    await world.run_task_ok(
        "update-creditor-in-billecta",
        [world.creditor_id],
        "Update creditor in Billecta",
        body={"creditor_id": world.creditor_id},
    )

    updates = await stack.billecta_requests("update_creditor")
    assert len(updates) == 1
    assert updates[0]["body"]["CreditorPublicId"] == SEED_CREDITOR_PUBLIC_ID
    view = await stack.billecta("get_creditor", creditor_public_id=SEED_CREDITOR_PUBLIC_ID)
    assert view["Name"] == "Seeded Fastigheter AB"
    assert view["CreditorInvoiceAddress"]["Email"] == "ekonomi@seeded.example"
    creditor = await world.get("creditor", world.creditor_id)
    assert creditor["billecta_error_message"] is None
    assert creditor["default_currency"] == "SEK"
    assert creditor["default_paymentterms"] is not None
