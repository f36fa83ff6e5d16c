"""Debt collection cases from invoices, their escalation; Swish payment requests."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from billecta_gateway.billecta import (
    BillectaApiBadRequestException,
    BillectaApiNotFoundException,
    BillectaClient,
)
from billecta_gateway.billecta import schemas as s
from tests.sandbox.conftest import CID, Receiver, flush, sek, sent_invoice


async def collect(billecta: BillectaClient) -> tuple[s.BillectaInvoiceAction, str]:
    invoice = await sent_invoice(billecta)
    case_id = await billecta.send_invoice_to_debt_collection(
        s.BillectaDebtCollectionFromInvoiceEntry(
            source_public_id=str(invoice.action_public_id), payment_terms_in_days=10
        )
    )
    assert case_id is not None
    return invoice, case_id


async def test_sending_an_invoice_to_debt_collection_opens_a_case(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice, case_id = await collect(billecta)
    action_id = str(invoice.action_public_id)
    case = await billecta.get_debt_collection_action(case_id)
    assert case.invoice_source_public_id == action_id
    assert case.state is not None and case.state.stage == "DebtCollectionInvoiceSent"
    assert case.debt_amount == sek("1250") and case.fee_amount == sek("180")
    assert case.current_amount == sek("1430")
    assert case.can_send_to_bailiff is True
    source = await billecta.get_invoice_action(action_id)
    assert source.state is not None and source.state.stage == "SentToDebtCollection"
    assert source.debt_collection_action_public_id == case_id
    with pytest.raises(BillectaApiBadRequestException, match="already in debt collection"):
        await billecta.send_invoice_to_debt_collection(
            s.BillectaDebtCollectionFromInvoiceEntry(source_public_id=action_id)
        )
    search = await billecta.search_actions(
        s.BillectaSearch(creditor_public_id=CID, types=["DebtCollectionAction"])
    )
    assert [c.action_public_id for c in search.debt_collection_actions or []] == [case_id]
    await flush(control)
    assert receiver.types()[-2:] == ["InvoiceActionStateChanged", "DebtCollectionCaseCreated"]


async def test_a_case_escalates_to_the_bailiff_and_can_then_be_cancelled(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    _, case_id = await collect(billecta)
    await billecta.postpone_debt_collection(case_id, date.today() + timedelta(days=14))
    await billecta.send_to_bailiff(case_id)
    case = await billecta.get_debt_collection_action(case_id)
    assert case.state is not None and case.state.stage == "SentToBailiff"
    assert case.state.sent_to_bailiff_date is not None
    with pytest.raises(BillectaApiBadRequestException, match="can not be sent to the bailiff"):
        await billecta.send_to_bailiff(case_id)
    await billecta.cancel_debt_collection(case_id)
    cancelled = await billecta.get_debt_collection_action(case_id)
    assert cancelled.state is not None and cancelled.state.stage == "Cancelled"
    assert cancelled.can_cancel is False
    with pytest.raises(BillectaApiBadRequestException, match="is closed"):
        await billecta.send_to_long_term_surveillance(case_id)
    kinds = [e.event_type for e in await billecta.get_debt_collection_events(case_id)]
    assert kinds == ["Created", "DebtCollectionSent", "Updated", "SentToBailiff", "Cancelled"]
    await flush(control)
    assert receiver.types()[-5:] == [
        "DebtCollectionCaseCreated",
        "DebtCollectionEventOccurred",
        "DebtCollectionActionStateChanged",
        "DebtCollectionActionStateChanged",
        "DebtCollectionCaseResolved",
    ]
    states = [
        b["Data"]["State"]["Stage"] for b in receiver.of_type("DebtCollectionActionStateChanged")
    ]
    assert states == ["SentToBailiff", "Cancelled"]


async def test_assistance_with_bailiff_and_long_term_surveillance(
    billecta: BillectaClient,
) -> None:
    _, first = await collect(billecta)
    await billecta.send_to_assistance_with_bailiff(first)
    assert (await billecta.get_debt_collection_action(first)).state.stage == "AssistedWithBailiff"  # type: ignore[union-attr]
    _, second = await collect(billecta)
    await billecta.send_to_long_term_surveillance(second)
    case = await billecta.get_debt_collection_action(second)
    assert case.state is not None and case.state.stage == "LongTermSurveilance"
    assert case.can_send_to_long_term_surveilance is False


async def test_paying_a_case_by_its_ocr_completes_it_and_its_invoice(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice, case_id = await collect(billecta)
    case = await billecta.get_debt_collection_action(case_id)
    ocr = case.model_extra["Invoices"][0]["OCR"]  # type: ignore[index]
    response = await control.post("/_sandbox/payments/incoming", json={"ocr": ocr})
    assert response.json()["kind"] == "debtcollection"
    done = await billecta.get_debt_collection_action(case_id)
    assert done.state is not None and done.state.stage == "Completed"
    assert done.current_amount == sek("0")
    source = await billecta.get_invoice_action(str(invoice.action_public_id))
    assert source.state is not None and source.state.stage == "Completed"
    await flush(control)
    assert "DebtCollectionPaymentReceived" in receiver.types()
    assert receiver.types()[-1] == "InvoiceActionStateChanged"


async def test_a_case_stage_changes_from_outside(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    _, case_id = await collect(billecta)
    response = await control.post(
        f"/_sandbox/debtcollections/{case_id}/stage", json={"stage": "VerdictObtained"}
    )
    assert response.json()["State"]["Stage"] == "VerdictObtained"
    bad = await control.post(f"/_sandbox/debtcollections/{case_id}/stage", json={"stage": "Nope"})
    assert bad.status_code == 422
    await flush(control)
    changed = receiver.of_type("DebtCollectionActionStateChanged")[-1]["Data"]
    assert changed["ActionPublicId"] == case_id
    assert changed["State"]["Stage"] == "VerdictObtained"


async def test_a_swish_request_is_created_then_paid(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    token = await billecta.create_swish_request(action_id, "+46701234567", "Hyra mars")
    assert len(token) == 32
    status = await billecta.get_swish_status(token)
    assert status.status == "Created" and status.amount == sek("1250")
    linked = await billecta.get_invoice_action(action_id)
    assert linked.state is not None
    assert linked.state.model_extra["SwishPaymentPublicId"] == token  # type: ignore[index]
    response = await control.post(f"/_sandbox/swish/{token}", json={"status": "Paid"})
    assert response.json()["Status"] == "Paid"
    paid = await billecta.get_swish_status(token)
    assert paid.status == "Paid" and paid.paid_date is not None
    invoice_after = await billecta.get_invoice_action(action_id)
    assert invoice_after.state is not None and invoice_after.state.stage == "Completed"
    again = await control.post(f"/_sandbox/swish/{token}", json={"status": "Declined"})
    assert again.status_code == 409
    await flush(control)
    payment = receiver.of_type("InvoicePaymentReceived")[-1]["Data"]
    assert payment["PaymentMeanCode"] == "SWISH"


async def test_a_declined_swish_request_changes_nothing_else(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    invoice = await sent_invoice(billecta)
    token = await billecta.create_swish_request(str(invoice.action_public_id), "0701234567")
    await control.post(f"/_sandbox/swish/{token}", json={"status": "Declined"})
    status = await billecta.get_swish_status(token)
    assert status.status == "Declined" and status.error_code == "RF07"
    still = await billecta.get_invoice_action(str(invoice.action_public_id))
    assert still.current_amount == sek("1250")


async def test_swish_checks_phone_message_and_invoice(billecta: BillectaClient) -> None:
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    with pytest.raises(BillectaApiBadRequestException, match="not a valid Swish number"):
        await billecta.create_swish_request(action_id, "call me")
    with pytest.raises(BillectaApiBadRequestException, match="at most 50"):
        await billecta.create_swish_request(action_id, "0701234567", "x" * 51)
    with pytest.raises(BillectaApiNotFoundException):
        await billecta.get_swish_status("0" * 32)
