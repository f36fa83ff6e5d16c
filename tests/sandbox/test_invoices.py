"""Invoice actions: drafts, attest and send, locking, amounts, flags, reminders, lists, search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from billecta_gateway.billecta import BillectaApiBadRequestException, BillectaClient
from billecta_gateway.billecta import schemas as s
from billecta_gateway.sandbox.state import luhn_digit
from tests.sandbox.conftest import (
    CID,
    CID2,
    Receiver,
    billecta_today,
    debtor_model,
    entry_model,
    flush,
    new_debtor,
    sek,
    sent_invoice,
)


async def test_a_created_invoice_is_an_unattested_draft(billecta: BillectaClient) -> None:
    debtor_id = await new_debtor(billecta)
    action_id = await billecta.create_invoice_action(
        entry_model(debtor_id, external_reference="order-17")
    )
    invoice = await billecta.get_invoice_action(action_id)
    assert action_id.isdigit() and len(action_id) == 10
    assert invoice.state is not None
    assert invoice.state.stage == "Created"
    assert invoice.state.attested_date is None
    assert invoice.invoice_number is None and invoice.invoices == []
    assert invoice.external_reference == "order-17"
    assert invoice.debtor is not None and invoice.debtor.debtor_public_id == debtor_id
    assert invoice.invoiced_amount == sek("1250.00")
    assert invoice.current_amount == sek("1250.00")


async def test_attesting_numbers_sends_and_locks_the_invoice(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    assert invoice.state is not None
    assert invoice.state.stage == "InvoiceSent"
    assert invoice.state.attested_date is not None
    assert invoice.state.invoice_sent_date is not None
    assert invoice.state.next_event_date == invoice.due_date
    assert invoice.invoice_number == "1001"
    document = (invoice.invoices or [])[0]
    assert document.invoice_number == "1001"
    assert document.ocr is not None and document.ocr.startswith("1001")
    assert luhn_digit(document.ocr[:-1]) == document.ocr[-1]
    assert document.invoice_file is not None and document.invoice_file.file_public_id
    pdf = await billecta.get_file_bytes(document.invoice_file.file_public_id)
    assert pdf.startswith(b"%PDF-") and b"Faktura 1001" in pdf and document.ocr.encode() in pdf

    action_id = str(invoice.action_public_id)
    with pytest.raises(BillectaApiBadRequestException, match="can no longer be changed"):
        await billecta.update_invoice_action(
            action_id, entry_model(invoice.debtor.debtor_public_id)
        )  # type: ignore[union-attr]
    with pytest.raises(BillectaApiBadRequestException, match="already attested"):
        await billecta.attest_invoice_action(action_id)
    with pytest.raises(BillectaApiBadRequestException, match="only unattested"):
        await billecta.delete_invoice_action(action_id)

    await flush(control)
    assert receiver.types() == ["InvoiceActionAttested", "InvoiceActionStateChanged"]
    attested, sent = receiver.received
    assert attested["Data"]["State"]["Stage"] == "Attested"
    assert sent["Data"]["State"]["Stage"] == "InvoiceSent"
    assert sent["Data"]["Invoices"][0]["OCR"] == document.ocr
    assert attested["CreditorPublicId"] == CID


async def test_an_invoice_without_delivery_stays_attested(billecta: BillectaClient) -> None:
    invoice = await sent_invoice(billecta, delivery="Manually")
    assert invoice.state is not None and invoice.state.stage == "Attested"
    assert invoice.state.invoice_sent_date is None


async def test_invoice_numbers_follow_each_creditors_series(billecta: BillectaClient) -> None:
    first = await sent_invoice(billecta)
    second = await sent_invoice(billecta)
    other_debtor = await billecta.create_debtor(debtor_model(creditor_public_id=CID2))
    other = await billecta.create_invoice_action(entry_model(other_debtor, creditor_public_id=CID2))
    await billecta.attest_invoice_action(other)
    assert [first.invoice_number, second.invoice_number] == ["1001", "1002"]
    assert (await billecta.get_invoice_action(other)).invoice_number == "5001"
    assert (await billecta.get_creditor(CID)).model_extra["NextInvoiceNumber"] == 1003  # type: ignore[index]


async def test_amounts_follow_quantity_discount_vat_and_fee(billecta: BillectaClient) -> None:
    debtor_id = await new_debtor(billecta)
    entry = entry_model(debtor_id, price="100.00", quantity="3", vat="12")
    entry.records.append(
        s.BillectaInvoiceActionRecord(
            article_description="Städning",
            quantity=Decimal(2),
            unit_price=sek("200"),
            discount_type="Percentage",
            discount_percentage=Decimal(10),
            vat=Decimal(25),
        )
    )
    entry.records.append(
        s.BillectaInvoiceActionRecord(record_type="Message", article_description="Tack!")
    )
    entry.invoice_fee = sek("29")
    action_id = await billecta.create_invoice_action(entry)
    invoice = await billecta.get_invoice_action(action_id)
    # 3 x 100 x 1.12 = 336; 2 x 200 x 0.9 x 1.25 = 450; fee 29
    assert invoice.invoiced_amount == sek("815.00")
    assert invoice.model_extra["TotalVATAmount"]["Value"] == 3600 + 9000  # type: ignore[index]
    rows = invoice.records or []
    assert rows[1].model_extra["TotalIncVAT"]["Value"] == 45000  # type: ignore[index]
    assert rows[2].record_type == "Message"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"debtor_public_id": "missing"}, "Debtor missing was not found"),
        ({"records": []}, "at least one record"),
        ({"due_date": datetime(2000, 1, 1, tzinfo=UTC)}, "due date can not be earlier"),
        ({"delivery_method": "Pigeon"}, "DeliveryMethod"),
    ],
)
async def test_an_invalid_invoice_is_refused(
    billecta: BillectaClient, change: dict[str, object], message: str
) -> None:
    debtor_id = await new_debtor(billecta)
    entry = entry_model(debtor_id).model_copy(update=change)
    with pytest.raises(BillectaApiBadRequestException, match=message):
        await billecta.create_invoice_action(entry)


async def test_a_draft_can_be_changed_until_it_is_attested(billecta: BillectaClient) -> None:
    debtor_id = await new_debtor(billecta)
    action_id = await billecta.create_invoice_action(entry_model(debtor_id))
    await billecta.update_invoice_action(action_id, entry_model(debtor_id, price="80.00"))
    invoice = await billecta.get_invoice_action(action_id)
    assert invoice.invoiced_amount == sek("100.00")
    assert [e.event_type for e in invoice.events or []] == ["Created", "Updated"]


async def test_dispute_pause_and_postpone_change_state_and_send_state_changes(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    await billecta.dispute_invoice(action_id)
    await billecta.dispute_invoice(action_id)
    disputed = await billecta.get_invoice_action(action_id)
    assert disputed.state is not None and disputed.state.disputed_date is not None
    assert disputed.can_dispute is False and disputed.can_un_dispute is True
    await billecta.undispute_invoice(action_id)
    await billecta.pause_invoice(action_id)
    paused = await billecta.get_invoice_action(action_id)
    assert paused.state is not None and paused.state.is_paused is True
    assert paused.state.disputed_date is None
    assert paused.can_resume is True
    await billecta.resume_invoice(action_id)
    new_date = billecta_today() + timedelta(days=45)
    await billecta.postpone_invoice(action_id, new_date)
    final = await billecta.get_invoice_action(action_id)
    assert final.state is not None and final.state.is_paused is False
    assert final.state.next_event_date is not None
    assert final.state.next_event_date.date() == new_date
    with pytest.raises(BillectaApiBadRequestException, match="in the past"):
        await billecta.postpone_invoice(action_id, billecta_today() - timedelta(days=1))
    kinds = [e.event_type for e in await billecta.get_invoice_events(action_id)]
    assert kinds[-5:] == ["Disputed", "UnDisputed", "Paused", "Resumed", "Updated"]
    await flush(control)
    assert receiver.types().count("InvoiceActionStateChanged") == 1 + 5


async def test_flags_need_an_attested_invoice(billecta: BillectaClient) -> None:
    debtor_id = await new_debtor(billecta)
    draft = await billecta.create_invoice_action(entry_model(debtor_id))
    with pytest.raises(BillectaApiBadRequestException, match="not attested"):
        await billecta.dispute_invoice(draft)
    with pytest.raises(BillectaApiBadRequestException, match="not attested"):
        await billecta.pause_invoice(draft)


async def test_a_reminder_adds_its_fee_and_is_announced(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    reminder_id = await billecta.create_reminder_invoice(
        s.BillectaSendReminderInvoice(
            invoice_action_public_id=action_id, reminder_fee=sek("60"), payment_terms_in_days=10
        )
    )
    reminded = await billecta.get_invoice_action(action_id)
    assert reminded.state is not None and reminded.state.stage == "ReminderInvoiceSent"
    assert reminded.reminder_invoice_action_public_id == reminder_id
    assert reminded.current_amount == sek("1310.00")
    await flush(control)
    created = receiver.of_type("ReminderInvoiceActionCreated")[0]["Data"]
    assert created["ActionPublicId"] == reminder_id
    assert created["SourceActionPublicId"] == action_id
    assert created["ReminderFee"]["Value"] == 6000
    assert created["ReminderInvoices"][0]["OCR"] != invoice.invoices[0].ocr  # type: ignore[index]
    await billecta.dispute_invoice(action_id)
    with pytest.raises(BillectaApiBadRequestException, match="disputed or paused"):
        await billecta.create_reminder_invoice(
            s.BillectaSendReminderInvoice(invoice_action_public_id=action_id)
        )


async def test_lists_and_search_find_invoices_by_state_number_ocr_and_debtor(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    debtor_a = await new_debtor(billecta, "a")
    debtor_b = await new_debtor(billecta, "b")
    draft = await billecta.create_invoice_action(entry_model(debtor_a))
    sent = await sent_invoice(billecta, debtor_a)
    paid = await sent_invoice(billecta, debtor_b)
    await control.post(
        "/_sandbox/payments/incoming", json={"action_public_id": paid.action_public_id}
    )
    open_ids = [i.action_public_id for i in await billecta.get_open_invoices(CID)]
    assert open_ids == [draft, sent.action_public_id]
    by_debtor = await billecta.get_open_invoices_by_debtor(debtor_b)
    assert by_debtor == []
    closed = await billecta.get_closed_invoices(CID, billecta_today(), billecta_today())
    assert [i.action_public_id for i in closed] == [paid.action_public_id]
    assert closed[0].stage == "Completed" and closed[0].closed_date is not None
    yesterday = billecta_today() - timedelta(days=1)
    assert await billecta.get_closed_invoices(CID, yesterday, yesterday) == []

    async def search(**criteria: object) -> list[str | None]:
        result = await billecta.search_actions(s.BillectaSearch(creditor_public_id=CID, **criteria))  # type: ignore[arg-type]
        return [i.action_public_id for i in result.invoice_actions or []]

    assert await search(search_value=sent.invoice_number) == [sent.action_public_id]
    assert await search(search_value=(paid.invoices or [])[0].ocr) == [paid.action_public_id]
    assert await search(search_value="999999") == []
    assert await search(debtor_public_ids=[debtor_a]) == [draft, sent.action_public_id]
    assert await search(debtor_external_id="b") == [paid.action_public_id]
    assert await search(status=["Closed"]) == [paid.action_public_id]
    assert await search(status=["Open"], debtor_public_ids=[debtor_a]) == [
        draft,
        sent.action_public_id,
    ]
