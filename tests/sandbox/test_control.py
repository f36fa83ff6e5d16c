"""Control endpoints: reset, deterministic ids, the clock and due dates, Autogiro, the request
log, configuration."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.sandbox import SandboxConfig, create_sandbox_app
from tests.sandbox.conftest import (
    AUTH,
    CID,
    CID2,
    Receiver,
    billecta_today,
    debtor_model,
    entry_model,
    flush,
    make_config,
    new_debtor,
    sent_invoice,
)


async def test_reset_forgets_everything_but_the_seeded_creditors(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    first = await new_debtor(billecta)
    await control.put("/_sandbox/faults/get_debtor", json={"kind": "error"})
    response = await control.post("/_sandbox/reset")
    assert response.json() == {"status": "reset", "creditors": [CID, CID2]}
    state = (await control.get("/_sandbox/state")).json()
    assert state["debtors"] == 0 and state["creditors"] == 2
    assert (await control.get("/_sandbox/faults")).json()["rules"] == {}
    assert (await control.get("/_sandbox/requests/summary")).json()["total"] == 0
    assert (await control.get("/_sandbox/webhooks")).json()["deliveries"] == []
    # ids start over, so a test can predict them
    assert await new_debtor(billecta) == first


async def test_ids_are_deterministic_for_a_seed_and_random_without_one() -> None:
    async def first_ids(config: SandboxConfig) -> tuple[str, str]:
        app = create_sandbox_app(config)
        transport = httpx.ASGITransport(app=app)
        async with BillectaClient(
            base_url="http://sandbox", authentication=AUTH, transport=transport
        ) as client:
            debtor_id = await new_debtor(client)
            action_id = await client.create_invoice_action(entry_model(debtor_id))
        await app.state.sandbox.aclose()
        return debtor_id, action_id

    seeded = make_config(webhook_url=None)
    assert await first_ids(seeded) == await first_ids(seeded)
    other_seed = await first_ids(make_config(webhook_url=None, seed="other"))
    assert other_seed != await first_ids(seeded)
    unseeded = make_config(webhook_url=None, seed=None)
    assert await first_ids(unseeded) != await first_ids(unseeded)


async def test_a_creditor_can_be_added_with_a_fixed_id(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    response = await control.post(
        "/_sandbox/creditors", json={"public_id": "fixed-creditor", "name": "Nya AB"}
    )
    assert response.status_code == 201
    assert (await billecta.get_creditor("fixed-creditor")).name == "Nya AB"
    again = await control.post("/_sandbox/creditors", json={"public_id": "fixed-creditor"})
    assert again.status_code == 400


async def test_expiring_an_invoice_moves_its_due_date_into_the_past(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    response = await control.post(
        f"/_sandbox/invoices/{action_id}/expire", json={"days_overdue": 3}
    )
    assert response.status_code == 200
    expired = await billecta.get_invoice_action(action_id)
    assert expired.due_date is not None
    assert expired.due_date.date() == billecta_today() - timedelta(days=3)
    assert expired.state is not None and expired.state.next_event == "Reminder will be sent"
    assert [e.event_type for e in expired.events or []][-1] == "InvoiceDue"
    await flush(control)
    last = receiver.received[-1]
    assert last["Event"] == "InvoiceActionStateChanged"
    assert last["Data"]["DueDate"].startswith((billecta_today() - timedelta(days=3)).isoformat())


async def test_advancing_the_clock_passes_due_dates_and_runs_automatic_steps(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    debtor_id = await new_debtor(billecta)
    plain = await sent_invoice(billecta, debtor_id)
    automatic = await sent_invoice(
        billecta,
        debtor_id,
        reminder_invoice_details={"SendReminderInvoice": True, "DaysDelayAfterDueDate": 5},
        debt_collection_details={"SendToDebtCollection": True, "DaysDelayAfterDueDate": 20},
    )
    response = await control.post("/_sandbox/clock/advance", json={"days": 55})
    assert response.json()["due"] == 2
    assert response.json()["reminders"] == 1 and response.json()["debt_collections"] == 1
    plain_now = await billecta.get_invoice_action(str(plain.action_public_id))
    assert plain_now.state is not None and plain_now.state.stage == "InvoiceSent"
    auto_now = await billecta.get_invoice_action(str(automatic.action_public_id))
    assert auto_now.state is not None and auto_now.state.stage == "SentToDebtCollection"
    assert auto_now.reminder_invoice_action_public_id is not None
    assert auto_now.debt_collection_action_public_id is not None
    state = (await control.get("/_sandbox/state")).json()
    assert state["clock_offset_days"] == 55
    again = await control.post("/_sandbox/clock/advance", json={"days": 1})
    assert again.json()["due"] == 0


async def test_autogiro_mandates_change_at_the_bank(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    debtor_id = await new_debtor(billecta)
    approved = await control.post(
        f"/_sandbox/debtors/{debtor_id}/autogiro", json={"stage": "Approved"}
    )
    assert approved.json()["Autogiro"]["Active"] is True
    assert (await billecta.get_debtor(debtor_id)).autogiro["Stage"] == "Approved"  # type: ignore[index]
    await control.post(
        f"/_sandbox/debtors/{debtor_id}/autogiro",
        json={"stage": "Failed", "reason": "Konto stängt"},
    )
    await flush(control)
    assert receiver.types() == ["AutogiroApprovalChanged", "AutogiroApprovalFailed"]
    assert receiver.received[-1]["AdditionalData"] == "Konto stängt"
    assert receiver.received[-1]["Data"]["Autogiro"]["Stage"] == "Failed"


async def test_an_autogiro_withdrawal_fails_on_an_invoice(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    response = await control.post(
        f"/_sandbox/invoices/{action_id}/autogiro-withdrawal",
        json={"result": "failed", "reason": "Täckning saknas"},
    )
    assert response.status_code == 200
    await flush(control)
    last = receiver.received[-1]
    assert last["Event"] == "AutogiroWithdrawalFailedOnInvoice"
    assert last["AdditionalData"] == "Täckning saknas"
    assert last["Data"]["ActionPublicId"] == action_id


async def test_the_request_log_counts_what_was_asked_of_billecta(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    await billecta.get_debtor_by_external_id(CID, "nobody")
    debtor_id = await billecta.create_debtor(debtor_model("someone"))
    log = (await control.get("/_sandbox/requests")).json()
    assert log["total"] == 2
    assert log["by_route"] == {"create_debtor": 1, "get_debtor_by_external_id": 1}
    assert log["by_status"] == {"200": 1, "404": 1}
    lookup, create = log["requests"]
    assert lookup["method"] == "GET" and lookup["query"] == "externalid=nobody"
    assert lookup["path"] == f"/v1/debtors/debtorbyexternalid/{CID}"
    assert create["route"] == "create_debtor"
    assert create["body"]["DebtorExternalId"] == "someone"
    later = (await control.get("/_sandbox/requests", params={"since": lookup["seq"]})).json()
    assert [r["route"] for r in later["requests"]] == ["create_debtor"]
    await control.delete("/_sandbox/requests")
    assert (await control.get("/_sandbox/requests/summary")).json()["total"] == 0
    assert debtor_id


async def test_unknown_paths_are_logged_without_a_route(control: httpx.AsyncClient) -> None:
    await control.get("/v1/nothing/here", headers={"Authorization": AUTH})
    log = (await control.get("/_sandbox/requests")).json()
    assert log["requests"][0]["route"] is None and log["requests"][0]["status"] == 404


def test_configuration_is_read_from_the_environment() -> None:
    config = SandboxConfig.from_env(
        {
            "SANDBOX_AUTHENTICATION": "Basic dTpw",
            "SANDBOX_CREDITORS": "c-1, c-2",
            "SANDBOX_WEBHOOK_URL": "http://127.0.0.1:8000/hook",
            "SANDBOX_WEBHOOK_API_KEY": "k",
            "SANDBOX_LATENCY_MS": "25",
            "SANDBOX_SEED": "random",
        }
    )
    assert config.authentication == "Basic dTpw"
    assert [c.public_id for c in config.creditors] == ["c-1", "c-2"]
    assert config.webhook_header_value == "k" and config.latency_ms == 25
    assert config.seed is None
    as_json = SandboxConfig.from_env(
        {"SANDBOX_CREDITORS": '[{"public_id": "c-9", "name": "Nio AB"}]'}
    )
    assert as_json.creditors[0].name == "Nio AB"
    with pytest.raises(ValueError, match="Basic"):
        SandboxConfig(authentication="token-without-scheme")
