"""Payments: incoming by OCR (full, partial, over), registered payments and write-offs, credits,
credit invoices, unmatched payments and overpayments matched to invoices."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from billecta_gateway.billecta import BillectaApiBadRequestException, BillectaClient
from billecta_gateway.billecta import schemas as s
from tests.sandbox.conftest import (
    CID,
    Receiver,
    billecta_today,
    entry_model,
    flush,
    new_debtor,
    sek,
    sent_invoice,
)


async def pay(control: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await control.post("/_sandbox/payments/incoming", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_full_payment_by_ocr_completes_the_invoice(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    ocr = (invoice.invoices or [])[0].ocr
    result = await pay(control, ocr=ocr, amount="1250.00")
    assert result["kind"] == "payment"
    paid = await billecta.get_invoice_action(str(invoice.action_public_id))
    assert paid.state is not None and paid.state.stage == "Completed"
    assert paid.state.closed_date is not None
    assert paid.paid_amount == sek("1250.00")
    assert paid.current_amount == sek("0")
    await flush(control)
    assert receiver.types()[-3:] == [
        "InvoicePaymentReceived",
        "InvoiceActionStateChanged",
        "InvoiceActionPaid",
    ]
    payment = receiver.received[-3]["Data"]
    assert payment["ActionPublicId"] == invoice.action_public_id
    assert payment["OCR"] == ocr
    assert payment["Amount"] == {"CurrencyCode": "SEK", "Value": 125000, "ValueForView": 1250.0}
    assert payment["PaymentReferenceId"] == result["payment_reference_id"]
    assert receiver.received[-2]["Data"]["State"]["Stage"] == "Completed"
    assert receiver.received[-1]["Data"]["State"]["Stage"] == "Completed"


async def test_a_partial_payment_leaves_the_rest_owed(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    result = await pay(control, action_public_id=invoice.action_public_id, amount="250")
    assert result["kind"] == "partial"
    partly = await billecta.get_invoice_action(str(invoice.action_public_id))
    assert partly.state is not None and partly.state.stage == "InvoiceSent"
    assert partly.paid_amount == sek("250") and partly.current_amount == sek("1000")
    await flush(control)
    assert receiver.types()[-1] == "InvoicePaymentReceived"


async def test_an_overpayment_pays_the_invoice_and_keeps_the_excess_unhandled(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    result = await pay(control, action_public_id=action_id, amount="1300.00", sender_name="Anna")
    assert result["kind"] == "overpayment" and result["overpaid"] == 5000
    overpayment = await billecta.get_unhandled_payment(result["unhandled_payment_public_id"])
    assert overpayment.unhandled_payment_type == "OverPayment"
    assert overpayment.amount == sek("50.00")
    assert overpayment.state == "Unhandled"
    assert overpayment.overpayment_details == {
        "ActionType": "InvoiceAction",
        "ActionPublicId": action_id,
        "InvoiceNumber": invoice.invoice_number,
        "UsedOnActionPublicId": None,
    }
    assert (await billecta.get_invoice_action(action_id)).paid_amount == sek("1250.00")
    await flush(control)
    assert receiver.types()[-4:] == [
        "InvoicePaymentReceived",
        "InvoiceActionStateChanged",
        "InvoiceActionPaid",
        "Overpayment",
    ]

    # The overpayment is then used on the debtor's next invoice.
    debtor_id = str(invoice.debtor.debtor_public_id)  # type: ignore[union-attr]
    other = await sent_invoice(billecta, debtor_id)
    results = await billecta.match_payments(
        CID,
        [
            s.BillectaPaymentMatch(
                unhandled_payment_public_id=str(overpayment.unhandled_payment_public_id),
                action_public_id=str(other.action_public_id),
            )
        ],
    )
    assert results[0].successfull is True
    used = await billecta.get_unhandled_payment(str(overpayment.unhandled_payment_public_id))
    assert used.state == "UsedOnInvoice"
    assert used.overpayment_details["UsedOnActionPublicId"] == other.action_public_id  # type: ignore[index]
    assert await billecta.get_unhandled_payments(CID) == []
    target = await billecta.get_invoice_action(str(other.action_public_id))
    assert target.paid_amount == sek("50.00") and target.current_amount == sek("1200.00")
    await flush(control)
    matched = receiver.of_type("OverpaymentMatchedToInvoice")[0]["Data"]
    assert matched["OverpaymentDetails"]["UsedOnActionPublicId"] == other.action_public_id
    assert receiver.types()[-1] == "InvoicePaymentReceived"

    again = await billecta.match_payments(
        CID,
        [
            s.BillectaPaymentMatch(
                unhandled_payment_public_id=str(overpayment.unhandled_payment_public_id),
                action_public_id=str(other.action_public_id),
            )
        ],
    )
    assert again[0].successfull is False
    assert "already UsedOnInvoice" in str(again[0].response_message)


async def test_a_payment_with_an_unknown_ocr_is_unmatched(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    result = await pay(control, ocr="99999999", amount="450", creditor_public_id=CID)
    assert result["kind"] == "unmatched"
    unmatched = await billecta.get_unhandled_payment(result["unhandled_payment_public_id"])
    assert unmatched.unhandled_payment_type == "UnmatchedPayment"
    assert unmatched.reference == "99999999"
    await flush(control)
    assert receiver.types() == ["UnmatchedPayment"]


async def test_an_unmatched_payment_can_be_matched_or_deleted(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    invoice = await sent_invoice(billecta)
    first = await control.post(
        "/_sandbox/payments/unmatched",
        json={"creditor_public_id": CID, "amount": "1250", "reference": "HYRA", "sender_name": "A"},
    )
    second = await control.post(
        "/_sandbox/payments/unmatched", json={"creditor_public_id": CID, "amount": "10"}
    )
    first_id = first.json()["UnhandledPaymentPublicId"]
    second_id = second.json()["UnhandledPaymentPublicId"]
    listed = await billecta.get_unhandled_payments(CID)
    assert [p.unhandled_payment_public_id for p in listed] == [first_id, second_id]
    await billecta.match_payments(
        CID,
        [
            s.BillectaPaymentMatch(
                unhandled_payment_public_id=first_id,
                action_public_id=str(invoice.action_public_id),
            )
        ],
    )
    paid = await billecta.get_invoice_action(str(invoice.action_public_id))
    assert paid.state is not None and paid.state.stage == "Completed"
    await billecta.delete_unhandled_payment(second_id, 1501, billecta_today())
    assert (await billecta.get_unhandled_payment(second_id)).state == "Deleted"
    assert await billecta.get_unhandled_payments(CID) == []
    with pytest.raises(BillectaApiBadRequestException, match="already Deleted"):
        await billecta.delete_unhandled_payment(second_id, 1501, billecta_today())


async def test_registered_payment_and_write_off_settle_the_invoice(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    await billecta.register_payment(
        s.BillectaRegisterPayment(
            action_public_id=action_id,
            amount=sek("1200"),
            write_off=sek("50"),
            payment_date=billecta_today(),
            payment_mean_code="MANUAL",
        )
    )
    settled = await billecta.get_invoice_action(action_id)
    assert settled.paid_amount == sek("1200") and settled.write_off_amount == sek("50")
    assert settled.state is not None and settled.state.stage == "Completed"
    await flush(control)
    assert receiver.types()[-4:] == [
        "InvoicePaymentReceived",
        "AmountWrittenOffOnInvoice",
        "InvoiceActionStateChanged",
        "InvoiceActionPaid",
    ]
    write_off = receiver.of_type("AmountWrittenOffOnInvoice")[0]["Data"]
    assert write_off["Amount"]["Value"] == 5000


async def test_a_registered_overpayment_needs_an_overshooting_rule(
    billecta: BillectaClient,
) -> None:
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    payment = s.BillectaRegisterPayment(
        action_public_id=action_id, amount=sek("2000"), payment_date=billecta_today()
    )
    with pytest.raises(BillectaApiBadRequestException, match="OvershootingAmountHandling"):
        await billecta.register_payment(payment)
    assert (await billecta.get_invoice_action(action_id)).paid_amount == sek("0")
    await billecta.register_payment(
        payment.model_copy(update={"overshooting_amount_handling": "AsOverPayments"})
    )
    overpayments = await billecta.get_unhandled_payments(CID)
    assert [p.amount for p in overpayments] == [sek("750")]


async def test_payments_need_an_attested_invoice(billecta: BillectaClient) -> None:
    debtor_id = await new_debtor(billecta)
    draft = await billecta.create_invoice_action(entry_model(debtor_id))
    with pytest.raises(BillectaApiBadRequestException, match="not attested"):
        await billecta.register_payment(
            s.BillectaRegisterPayment(
                action_public_id=draft, amount=sek("1"), payment_date=billecta_today()
            )
        )


async def test_crediting_an_amount_reduces_what_is_owed(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    action_id = str(invoice.action_public_id)
    await billecta.credit_amount(
        s.BillectaCreditAction(action_public_id=action_id, value=sek("250"))
    )
    credited = await billecta.get_invoice_action(action_id)
    assert credited.credited_amount == sek("250") and credited.current_amount == sek("1000")
    with pytest.raises(BillectaApiBadRequestException, match="exceeds the remaining amount"):
        await billecta.credit_amount(
            s.BillectaCreditAction(action_public_id=action_id, value=sek("1000.01"))
        )
    await flush(control)
    assert receiver.of_type("AmountCreditedOnInvoice")[0]["Data"]["Amount"]["Value"] == 25000


async def test_a_credit_invoice_credits_its_source_and_fires_for_both_sides(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await sent_invoice(billecta)
    source_id = str(invoice.action_public_id)
    debtor_id = str(invoice.debtor.debtor_public_id)  # type: ignore[union-attr]
    credit = entry_model(
        debtor_id,
        quantity="-1",
        action_type="CreditInvoiceAction",
        crediting_invoice_public_id=source_id,
        external_reference="credit-17",
    )
    credit_id = await billecta.create_invoice_action(credit)
    await billecta.attest_invoice_action(credit_id)

    source = await billecta.get_invoice_action(source_id)
    assert source.credited_amount == sek("1250") and source.current_amount == sek("0")
    assert source.state is not None and source.state.stage == "Completed"
    credit_view = await billecta.get_invoice_action(credit_id)
    assert credit_view.action_type == "CreditInvoiceAction"
    assert credit_view.crediting_invoice == {
        "SourcePublicId": source_id,
        "SourceInvoiceId": invoice.invoice_number,
    }
    assert credit_view.invoiced_amount == sek("-1250")
    assert credit_view.current_amount == sek("0")
    assert credit_view.state is not None and credit_view.state.stage == "Completed"

    await flush(control)
    credits = receiver.of_type("AmountCreditedOnInvoice")
    assert [c["Data"]["ActionPublicId"] for c in credits] == [source_id, credit_id]
    assert [c["Data"]["Amount"]["Value"] for c in credits] == [125000, -125000]
    assert credits[0]["Data"]["PaymentReferenceId"] == credits[1]["Data"]["PaymentReferenceId"]
    attested = receiver.of_type("InvoiceActionAttested")[-1]["Data"]
    assert attested["ActionType"] == "CreditInvoiceAction"
    assert attested["CreditingInvoice"]["SourcePublicId"] == source_id


async def test_a_credit_invoice_larger_than_the_source_is_refused(
    billecta: BillectaClient,
) -> None:
    invoice = await sent_invoice(billecta)
    debtor_id = str(invoice.debtor.debtor_public_id)  # type: ignore[union-attr]
    too_big = entry_model(
        debtor_id, quantity="-2", crediting_invoice_public_id=str(invoice.action_public_id)
    )
    with pytest.raises(BillectaApiBadRequestException, match="exceeds what is left to credit"):
        await billecta.create_invoice_action(too_big)


async def test_incoming_payments_are_listed_by_payment_date(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    today = billecta_today()
    first = await sent_invoice(billecta)
    second = await sent_invoice(billecta)
    await pay(control, action_public_id=first.action_public_id, amount="100")
    await pay(
        control,
        action_public_id=second.action_public_id,
        amount="200",
        payment_date=(today - timedelta(days=3)).isoformat(),
    )
    assert [p.amount for p in await billecta.get_incoming_payments(CID, today, today)] == [
        sek("100")
    ]
    listed = await billecta.get_incoming_payments(CID, today - timedelta(days=5), today)
    assert [p.action_public_id for p in listed] == [second.action_public_id, first.action_public_id]
    filtered = await billecta.get_incoming_payments(
        CID, today - timedelta(days=5), today, action_public_ids=[str(first.action_public_id)]
    )
    assert [p.amount.to_decimal() for p in filtered] == [Decimal("100")]  # type: ignore[union-attr]


async def test_a_credit_note_spent_on_one_invoice_cannot_be_spent_on_another(
    billecta: BillectaClient, control: httpx.AsyncClient
) -> None:
    # A credit note on a paid invoice keeps its whole credit: -1,250 SEK to use elsewhere.
    paid = await sent_invoice(billecta)
    debtor_id = str(paid.debtor.debtor_public_id)  # type: ignore[union-attr]
    await pay(control, action_public_id=paid.action_public_id, amount="1250")
    credit = entry_model(
        debtor_id,
        quantity="-1",
        action_type="CreditInvoiceAction",
        crediting_invoice_public_id=str(paid.action_public_id),
    )
    credit_id = await billecta.create_invoice_action(credit)
    await billecta.attest_invoice_action(credit_id)
    first = await sent_invoice(billecta, debtor_id)
    second = await sent_invoice(billecta, debtor_id)

    def use_on(target: s.BillectaInvoiceAction) -> s.BillectaCreditAction:
        return s.BillectaCreditAction(
            action_public_id=str(target.action_public_id),
            value=sek("1250"),
            is_payment_creditation=True,
            credit_invoice_action_public_id=credit_id,
        )

    await billecta.credit_amount(use_on(first))
    spent = await billecta.get_invoice_action(credit_id)
    assert spent.current_amount == sek("0")
    assert spent.state is not None and spent.state.stage == "Completed"
    with pytest.raises(BillectaApiBadRequestException, match="0 minor units of credit left"):
        await billecta.credit_amount(use_on(second))
    untouched = await billecta.get_invoice_action(str(second.action_public_id))
    assert untouched.current_amount == sek("1250") and untouched.credited_amount == sek("0")
