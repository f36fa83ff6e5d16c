"""Payments: registered and incoming payments, write-offs, credits, unhandled payments.

A payment is used on what the invoice still owes; what exceeds it becomes an overpayment (an
unhandled payment of type ``OverPayment``), and a payment whose reference matches nothing is an
``UnmatchedPayment``. Both can later be matched to an invoice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from billecta_gateway.sandbox.invoices import add_event, changed
from billecta_gateway.sandbox.state import (
    DebtCollection,
    Invoice,
    SandboxError,
    Store,
    Unhandled,
    bad_request,
)
from billecta_gateway.sandbox.views import amount, iso, unhandled_view
from billecta_gateway.sandbox.wire import Call, handles, minor, parse_when

OVERSHOOT_MODES = frozenset({"None", "AsCurrencyDifference", "AsOverPayments"})


def payment_view(
    store: Store,
    invoice: Invoice,
    value: int,
    *,
    when: datetime,
    reference_id: str,
    mean_code: str,
    ocr: str | None = None,
    external_reference: str | None = None,
    is_reminder: bool = False,
) -> dict[str, Any]:
    """IncomingPaymentView: the content of payment, write-off and credit webhooks."""
    debtor = store.debtors.get(invoice.debtor_id)
    return {
        "CreditorPublicId": invoice.creditor_id,
        "InvoiceNumber": invoice.invoice_number,
        "ActionPublicId": invoice.public_id,
        "ActionType": invoice.action_type,
        "DebtorPublicId": invoice.debtor_id,
        "DebtorName": debtor.view.get("Name") if debtor else None,
        "Amount": amount(value, invoice.currency),
        "CreatedDate": iso(store.clock.now()),
        "PaymentDate": iso(when),
        "PaymentMeanCode": mean_code,
        "File": None,
        "PaymentReferenceId": reference_id,
        "ExternalReference": external_reference,
        "OCR": ocr or invoice.ocr,
        "CreatedBy": "Billecta",
        "IsReminderPayment": is_reminder,
    }


def _close_if_settled(store: Store, invoice: Invoice, title: str) -> None:
    if invoice.is_open and invoice.current <= 0 and invoice.action_type != "CreditInvoiceAction":
        store.close_invoice(invoice, "Completed")
        add_event(store, invoice, "Completed", title)
        changed(store, invoice)
        changed(store, invoice, "InvoiceActionPaid")


def _payable(invoice: Invoice) -> None:
    if not invoice.is_attested:
        raise bad_request(
            f"Invoice action {invoice.public_id} is not attested; payments can only be "
            "registered on attested invoices."
        )
    if invoice.stage == "Cancelled":
        raise bad_request(f"Invoice action {invoice.public_id} is cancelled.")


def apply_payment(
    store: Store,
    invoice: Invoice,
    value: int,
    *,
    when: datetime,
    mean_code: str,
    overshoot: str = "AsOverPayments",
    ocr: str | None = None,
    reference_text: str | None = None,
    is_reminder: bool = False,
    sender_name: str | None = None,
) -> dict[str, Any]:
    """Use ``value`` on the invoice; the excess per ``overshoot``. Returns what happened."""
    _payable(invoice)
    owed = max(invoice.current, 0) if invoice.is_open else 0
    applied = min(value, owed)
    excess = value - applied
    if excess > 0 and overshoot == "None":
        raise bad_request(
            f"The payment exceeds the remaining amount of invoice {invoice.invoice_number} "
            f"({owed} minor units); choose an OvershootingAmountHandling."
        )
    result: dict[str, Any] = {"action_public_id": invoice.public_id, "applied": applied}
    if applied > 0:
        reference = store.ids.new("payment")
        invoice.paid += applied
        view = payment_view(
            store,
            invoice,
            applied,
            when=when,
            reference_id=reference,
            mean_code=mean_code,
            ocr=ocr,
            external_reference=reference_text,
            is_reminder=is_reminder,
        )
        store.add_incoming_payment(invoice.creditor_id, view, when)
        add_event(store, invoice, "Paid", "Betalning mottagen")
        store.emit("InvoicePaymentReceived", invoice.creditor_id, view)
        result["payment_reference_id"] = reference
        _close_if_settled(store, invoice, "Faktura betald")
    if excess > 0 and overshoot == "AsOverPayments":
        overpayment = Unhandled(
            public_id=store.ids.new("unhandled"),
            creditor_id=invoice.creditor_id,
            amount=excess,
            currency=invoice.currency,
            payment_date=when,
            kind="OverPayment",
            reference=ocr or invoice.ocr,
            sender_name=sender_name,
            debtor_id=invoice.debtor_id,
            overpayment_details={
                "ActionType": invoice.action_type,
                "ActionPublicId": invoice.public_id,
                "InvoiceNumber": invoice.invoice_number,
                "UsedOnActionPublicId": None,
            },
        )
        store.add_unhandled(overpayment)
        add_event(store, invoice, "OverPayment", "Överbetalning")
        store.emit("Overpayment", invoice.creditor_id, unhandled_view(store, overpayment))
        result["unhandled_payment_public_id"] = overpayment.public_id
        result["overpaid"] = excess
    return result


def write_off(store: Store, invoice: Invoice, value: int, *, when: datetime) -> str:
    """Write off part of what is owed: ``AmountWrittenOffOnInvoice``."""
    reference = store.ids.new("payment")
    invoice.written_off += value
    view = payment_view(store, invoice, value, when=when, reference_id=reference, mean_code="WO")
    add_event(store, invoice, "WrittenOff", "Belopp avskrivet")
    store.emit("AmountWrittenOffOnInvoice", invoice.creditor_id, view)
    _close_if_settled(store, invoice, "Faktura avskriven")
    return reference


def pay_debt_collection(
    store: Store, dc: DebtCollection, value: int, when: datetime
) -> dict[str, Any]:
    """A payment on a debt collection's OCR; completes the case (and its invoice) when paid."""
    from billecta_gateway.sandbox.debtcollection import dc_changed, dc_event, set_dc_stage

    applied = min(value, max(dc.current, 0))
    dc.paid += applied
    dc_event(store, dc, "Paid", "Betalning mottagen")
    dc_changed(store, dc, "DebtCollectionPaymentReceived")
    if dc.current <= 0 and dc.is_open:
        set_dc_stage(store, dc, "Completed")
    return {"action_public_id": dc.public_id, "applied": applied, "overpaid": value - applied}


@handles("register_payment")
def register_payment(call: Call) -> None:
    store, data = call.store, call.wire
    invoice = store.invoice(data["ActionPublicId"])
    _payable(invoice)
    if not invoice.is_open:
        raise bad_request(f"Invoice action {invoice.public_id} is closed.")
    paid = minor(data.get("Amount"))
    written = minor(data.get("WriteOff"))
    if paid < 0 or written < 0 or paid + written == 0:
        raise bad_request("The request is invalid: Amount or WriteOff must be a positive amount.")
    for key in ("Amount", "WriteOff"):
        code = (data.get(key) or {}).get("CurrencyCode")
        if code and code != invoice.currency:
            raise bad_request(f"{key} is in {code}, the invoice in {invoice.currency}.")
    overshoot = data.get("OvershootingAmountHandling") or "None"
    if written and written > invoice.current - paid:
        raise bad_request("The write-off exceeds the remaining amount of the invoice.")
    when = parse_when(data["Date"], store, "Date")
    if paid:
        apply_payment(
            store,
            invoice,
            paid,
            when=when,
            mean_code=data.get("PaymentMeanCode") or "MANUAL",
            overshoot=overshoot,
            reference_text=data.get("PaymentReferenceText"),
        )
    if written:
        write_off(store, invoice, written, when=when)


def _credit_note(store: Store, data: dict[str, Any], value: int) -> Invoice | None:
    """The credit note whose credit a payment creditation uses; refused when spent."""
    source_id = data.get("CreditInvoiceActionPublicId")
    if not source_id:
        return None
    credit_note = store.invoice(str(source_id), status=400)
    if credit_note.action_type != "CreditInvoiceAction":
        raise bad_request(f"Invoice action {source_id} is not a credit invoice.")
    if value > -credit_note.current:
        raise bad_request(
            f"Credit invoice {credit_note.invoice_number} has {max(-credit_note.current, 0)} "
            "minor units of credit left."
        )
    return credit_note


@handles("credit_amount")
def credit_amount(call: Call) -> None:
    store, data = call.store, call.wire
    invoice = store.invoice(data["ActionPublicId"])
    _payable(invoice)
    value = minor(data.get("Value"))
    if value <= 0:
        raise bad_request("The request is invalid: Value must be a positive amount.")
    if not invoice.is_open or value > invoice.current:
        raise bad_request(
            f"The credit exceeds the remaining amount of invoice {invoice.invoice_number} "
            f"({max(invoice.current, 0)} minor units)."
        )
    credit_note = _credit_note(store, data, value)
    when = parse_when(data.get("PaymentDate") or store.clock.now(), store, "PaymentDate")
    invoice.credited += value
    if credit_note is not None:
        # The credit is used: the credit note's balance moves towards 0 (closed at 0).
        credit_note.credited -= value
        if credit_note.is_open and credit_note.current == 0:
            store.close_invoice(credit_note, "Completed")
            add_event(store, credit_note, "Completed", "Kreditfaktura avräknad")
    view = payment_view(
        store, invoice, value, when=when, reference_id=store.ids.new("payment"), mean_code="CREDIT"
    )
    add_event(store, invoice, "Credited", data.get("Comment") or "Belopp krediterat")
    store.emit("AmountCreditedOnInvoice", invoice.creditor_id, view)
    _close_if_settled(store, invoice, "Faktura krediterad")


@handles("get_incoming_payments")
def get_incoming_payments(call: Call) -> list[dict[str, Any]]:
    store, data = call.store, call.wire
    store.creditor(data["CreditorPublicId"])
    start = parse_when(data["From"], store, "From")
    start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    end = parse_when(data["To"], store, "To").replace(hour=0, minute=0, second=0, microsecond=0)
    payments = store.payments_between(data["CreditorPublicId"], start, end + timedelta(days=1))
    actions = set(data.get("ActionPublicIdFilter") or ())
    means = set(data.get("PaymentMeanCodeFilter") or ())
    return [
        dict(view)
        for view in payments
        if (not actions or view["ActionPublicId"] in actions)
        and (not means or view["PaymentMeanCode"] in means)
    ]


@handles("get_unhandled_payments")
def get_unhandled_payments(call: Call) -> list[dict[str, Any]]:
    store = call.store
    creditor = store.creditor(call.param("creditor_public_id"))
    ids = store.open_unhandled_by_creditor.get(creditor.public_id, {})
    return [unhandled_view(store, store.unhandled[i]) for i in ids]


def _unhandled(store: Store, public_id: str) -> Unhandled:
    found = store.unhandled.get(public_id)
    if found is None:
        raise SandboxError(404, f"Unhandled payment {public_id} was not found")
    return found


@handles("get_unhandled_payment")
def get_unhandled_payment(call: Call) -> dict[str, Any]:
    store = call.store
    return unhandled_view(store, _unhandled(store, call.param("unhandled_payment_public_id")))


@handles("delete_unhandled_payment")
def delete_unhandled_payment(call: Call) -> None:
    store = call.store
    payment = _unhandled(store, call.param("unhandled_payment_public_id"))
    call.query_value("bookkeepingaccount")
    call.query_when("transactiondate")
    if payment.state != "Unhandled":
        raise bad_request(f"Unhandled payment {payment.public_id} is already {payment.state}.")
    store.settle_unhandled(payment, "Deleted")


def match_one(store: Store, creditor_id: str, match: dict[str, Any]) -> dict[str, Any]:
    """Use one unhandled payment on an invoice: PaymentMatchResultView."""
    payment_id = match["UnhandledPaymentPublicId"]
    result: dict[str, Any] = {"UnhandledPaymentPublicId": payment_id, "Successfull": False}
    payment = store.unhandled.get(payment_id)
    invoice = store.invoices.get(match["ActionPublicId"])
    if payment is None or payment.creditor_id != creditor_id:
        return result | {"ResponseMessage": f"Unhandled payment {payment_id} was not found"}
    if payment.state != "Unhandled":
        return result | {"ResponseMessage": f"The payment is already {payment.state}"}
    if invoice is None or invoice.creditor_id != creditor_id:
        return result | {
            "ResponseMessage": f"Invoice action {match['ActionPublicId']} was not found"
        }
    if not invoice.is_attested or not invoice.is_open or invoice.current <= 0:
        return result | {"ResponseMessage": "The invoice is not open for payments"}
    when = parse_when(match.get("PaymentDate") or payment.payment_date, store, "PaymentDate")
    store.settle_unhandled(payment, "UsedOnInvoice")
    if payment.overpayment_details is not None:
        payment.overpayment_details["UsedOnActionPublicId"] = invoice.public_id
    if payment.debtor_id is None:
        payment.debtor_id = invoice.debtor_id
    if payment.kind == "OverPayment":
        store.emit("OverpaymentMatchedToInvoice", creditor_id, unhandled_view(store, payment))
    apply_payment(
        store,
        invoice,
        payment.amount,
        when=when,
        mean_code="OP" if payment.kind == "OverPayment" else "BG",
        ocr=payment.reference if payment.reference == invoice.ocr else None,
        reference_text=payment.reference,
        sender_name=payment.sender_name,
    )
    return result | {"Successfull": True, "ResponseMessage": None}


@handles("match_payments")
def match_payments(call: Call) -> list[dict[str, Any]]:
    store = call.store
    creditor = store.creditor(call.param("creditor_public_id"))
    return [match_one(store, creditor.public_id, match) for match in call.wire]


def add_unmatched(
    store: Store,
    creditor_id: str,
    value: int,
    *,
    when: datetime,
    reference: str | None,
    sender_name: str | None,
    currency: str | None = None,
) -> Unhandled:
    """A payment Billecta could not match to anything: ``UnmatchedPayment``."""
    creditor = store.creditor(creditor_id)
    payment = Unhandled(
        public_id=store.ids.new("unhandled"),
        creditor_id=creditor.public_id,
        amount=value,
        currency=currency or str(creditor.config.get("CurrencyCode") or store.config.currency),
        payment_date=when,
        kind="UnmatchedPayment",
        reference=reference,
        sender_name=sender_name,
    )
    store.add_unhandled(payment)
    store.emit("UnmatchedPayment", creditor.public_id, unhandled_view(store, payment))
    return payment


def incoming_by_ocr(
    store: Store,
    ocr: str,
    value: int | None,
    *,
    when: datetime,
    creditor_id: str | None,
    sender_name: str | None,
    mean_code: str = "BG",
) -> dict[str, Any]:
    """A bank payment arrives with an OCR: used on the invoice, reminder or debt collection it
    names (``None`` pays what is owed); unknown references become unmatched payments."""
    target = store.by_ocr.get(ocr)
    if target is None:
        if not creditor_id:
            raise SandboxError(422, f"No invoice has OCR {ocr}; give creditor_public_id")
        if value is None or value <= 0:
            raise SandboxError(422, "amount is required for an unmatched payment")
        payment = add_unmatched(
            store, creditor_id, value, when=when, reference=ocr, sender_name=sender_name
        )
        return {"kind": "unmatched", "unhandled_payment_public_id": payment.public_id}
    kind, ident = target
    if kind == "dc":
        dc = store.debt_collections[ident]
        result = pay_debt_collection(store, dc, dc.current if value is None else value, when)
        return {"kind": "debtcollection"} | result
    invoice = store.invoices[ident if kind == "invoice" else store.reminders[ident].source_id]
    if value is None:
        value = invoice.current
        if value <= 0:
            raise SandboxError(409, f"Invoice {invoice.invoice_number} owes nothing")
    result = apply_payment(
        store,
        invoice,
        value,
        when=when,
        mean_code=mean_code,
        ocr=ocr,
        is_reminder=kind == "reminder",
        sender_name=sender_name,
    )
    result["kind"] = (
        "overpayment"
        if result.get("overpaid")
        else ("payment" if invoice.current <= 0 else "partial")
    )
    return result
