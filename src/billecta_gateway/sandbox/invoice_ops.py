"""Operations on attested invoices: dispute, pause, postpone, reminders, due dates, Autogiro."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from billecta_gateway.sandbox.invoices import CREDIT_INVOICE, add_event, changed
from billecta_gateway.sandbox.state import (
    Invoice,
    Reminder,
    SandboxError,
    Store,
    bad_request,
    make_ocr,
)
from billecta_gateway.sandbox.views import reminder_view
from billecta_gateway.sandbox.wire import Call, handles, minor, start_of


def _attested_open(call: Call) -> Invoice:
    invoice = call.store.invoice(call.param("action_public_id"))
    if not invoice.is_attested:
        raise bad_request(f"Invoice action {invoice.public_id} is not attested.")
    if not invoice.is_open:
        raise bad_request(f"Invoice action {invoice.public_id} is closed ({invoice.stage}).")
    return invoice


@handles("dispute_invoice")
def dispute_invoice(call: Call) -> None:
    store, invoice = call.store, _attested_open(call)
    if invoice.disputed_at is not None:
        return
    invoice.disputed_at = store.clock.now()
    add_event(store, invoice, "Disputed", "Faktura bestridd")
    changed(store, invoice)


@handles("undispute_invoice")
def undispute_invoice(call: Call) -> None:
    store = call.store
    invoice = store.invoice(call.param("action_public_id"))
    if invoice.disputed_at is None:
        return
    invoice.disputed_at = None
    add_event(store, invoice, "UnDisputed", "Bestridande borttaget")
    changed(store, invoice)


@handles("pause_invoice")
def pause_invoice(call: Call) -> None:
    store, invoice = call.store, _attested_open(call)
    if invoice.paused:
        return
    invoice.paused = True
    add_event(store, invoice, "Paused", "Faktura pausad")
    changed(store, invoice)


@handles("resume_invoice")
def resume_invoice(call: Call) -> None:
    store, invoice = call.store, _attested_open(call)
    if not invoice.paused:
        return
    invoice.paused = False
    add_event(store, invoice, "Resumed", "Faktura återupptagen")
    changed(store, invoice)


@handles("postpone_invoice")
def postpone_invoice(call: Call) -> None:
    store, invoice = call.store, _attested_open(call)
    when = call.query_when("date")
    if when.date() < store.clock.today():
        raise bad_request("The new date of the next event must not be in the past.")
    if invoice.dc_id is not None:
        raise bad_request("An invoice in debt collection is postponed through its case.")
    invoice.next_event_date = when
    invoice.next_event = invoice.next_event or "Invoice due"
    add_event(store, invoice, "Updated", f"Nästa händelse flyttad till {when.date().isoformat()}")
    changed(store, invoice)


def send_reminder(
    store: Store,
    invoice: Invoice,
    *,
    fee: int,
    delivery_method: str | None,
    payment_terms: int | None,
) -> Reminder:
    """Create and send a reminder invoice; its fee is added to what the invoice owes."""
    if not invoice.is_attested or not invoice.is_open or invoice.current <= 0:
        raise bad_request(f"Invoice action {invoice.public_id} has nothing left to remind about.")
    if invoice.action_type == CREDIT_INVOICE:
        raise bad_request("A credit invoice can not be reminded.")
    if invoice.dc_id is not None:
        raise bad_request(f"Invoice action {invoice.public_id} is in debt collection.")
    if invoice.disputed_at is not None or invoice.paused:
        raise bad_request(f"Invoice action {invoice.public_id} is disputed or paused.")
    if fee < 0:
        raise bad_request("The reminder fee must not be negative.")
    creditor = store.creditors[invoice.creditor_id]
    now = store.clock.now()
    terms = payment_terms
    if terms is None:
        terms = int(creditor.config.get("ReminderInvoicePaymentTermsInDays") or 10)
    reminder_id = store.ids.action()
    invoice_number = store.next_invoice_number(creditor)
    reminder = Reminder(
        public_id=reminder_id,
        source_id=invoice.public_id,
        creditor_id=invoice.creditor_id,
        created=now,
        fee=fee,
        delivery_method=delivery_method or invoice.entry.get("DeliveryMethod"),
        invoice_number=invoice_number,
        ocr=make_ocr(invoice_number),
        file_id=store.add_file("reminder", reminder_id, f"Paminnelse_{invoice_number}.pdf"),
        invoice_date=now,
        due_date=now + timedelta(days=terms),
        payment_terms=terms,
    )
    store.reminders[reminder_id] = reminder
    store.register_number(
        invoice.creditor_id, invoice_number, reminder.ocr, "reminder", reminder_id
    )
    invoice.fees += fee
    invoice.reminder_ids.append(reminder_id)
    invoice.reminder_sent_at = now
    invoice.stage = "ReminderInvoiceSent"
    invoice.next_event = "Reminder due"
    invoice.next_event_date = reminder.due_date
    add_event(store, invoice, "ReminderInvoiceSent", f"Påminnelse {invoice_number} skickad")
    store.emit("ReminderInvoiceActionCreated", invoice.creditor_id, reminder_view(store, reminder))
    changed(store, invoice)
    return reminder


@handles("create_reminder_invoice")
def create_reminder_invoice(call: Call) -> dict[str, Any]:
    store, data = call.store, call.wire
    invoice = store.invoice(data["InvoiceActionPublicId"], status=400)
    fee_view = data.get("ReminderFee")
    creditor = store.creditors[invoice.creditor_id]
    if fee_view is None:
        fee = round(float(creditor.config.get("ReminderInvoiceFee") or 0) * 100)
    else:
        fee = minor(fee_view)
        code = fee_view.get("CurrencyCode")
        if code and code != invoice.currency:
            raise bad_request(f"ReminderFee is in {code}, the invoice in {invoice.currency}.")
    reminder = send_reminder(
        store,
        invoice,
        fee=fee,
        delivery_method=data.get("DeliveryMethod"),
        payment_terms=data.get("PaymentTermsInDays"),
    )
    return {"PublicId": reminder.public_id}


def mark_due(store: Store, invoice: Invoice) -> None:
    """The due date has passed with money owed: event, next event, state webhook."""
    invoice.due_marked = True
    add_event(store, invoice, "InvoiceDue", "Fakturan har förfallit")
    if invoice.dc_id is None and not invoice.paused and invoice.disputed_at is None:
        creditor = store.creditors[invoice.creditor_id]
        details = invoice.entry.get("ReminderInvoiceDetails") or {}
        delay = int(
            details.get("DaysDelayAfterDueDate")
            or creditor.config.get("SendReminderInvoiceDaysAfterDueDate")
            or 10
        )
        invoice.next_event = "Reminder will be sent"
        invoice.next_event_date = invoice.due_date + timedelta(days=delay)
    changed(store, invoice)


def expire_invoice(store: Store, invoice: Invoice, *, days_overdue: int = 1) -> None:
    """Simulate the passing of the due date: the due date moves ``days_overdue`` into the past."""
    if not invoice.is_attested or not invoice.is_open:
        raise SandboxError(409, f"Invoice action {invoice.public_id} is not an open invoice")
    if days_overdue < 1:
        raise SandboxError(422, "days_overdue must be at least 1")
    invoice.due_date = start_of(store.clock.today() - timedelta(days=days_overdue), store)
    mark_due(store, invoice)


def advance_clock(store: Store, days: int) -> dict[str, int]:
    """Move Billecta's clock forward: due dates pass, and automatic reminders and hand-overs
    configured on the invoices (``ReminderInvoiceDetails``, ``DebtCollectionDetails``) run."""
    from billecta_gateway.sandbox.debtcollection import hand_over

    if days < 0:
        raise SandboxError(422, "the clock only moves forward")
    store.clock.offset += timedelta(days=days)
    now = store.clock.now()
    counts = {"due": 0, "reminders": 0, "debt_collections": 0}
    for creditor_open in list(store.open_by_creditor.values()):
        for action_id in list(creditor_open):
            invoice = store.invoices[action_id]
            if not invoice.is_attested or invoice.current <= 0 or invoice.due_date >= now:
                continue
            if invoice.action_type == CREDIT_INVOICE:
                continue
            if not invoice.due_marked:
                mark_due(store, invoice)
                counts["due"] += 1
            blocked = invoice.paused or invoice.disputed_at is not None or invoice.dc_id
            if blocked:
                continue
            overdue = (now - invoice.due_date).days
            reminder = invoice.entry.get("ReminderInvoiceDetails") or {}
            if (
                reminder.get("SendReminderInvoice")
                and not invoice.reminder_ids
                and overdue >= int(reminder.get("DaysDelayAfterDueDate") or 0)
            ):
                send_reminder(store, invoice, fee=0, delivery_method=None, payment_terms=None)
                counts["reminders"] += 1
            collection = invoice.entry.get("DebtCollectionDetails") or {}
            if (
                collection.get("SendToDebtCollection")
                and invoice.dc_id is None
                and overdue >= int(collection.get("DaysDelayAfterDueDate") or 0)
            ):
                hand_over(store, invoice, dict(collection))
                counts["debt_collections"] += 1
    return counts


def autogiro_withdrawal(store: Store, invoice: Invoice, *, renewed: bool) -> None:
    """An Autogiro withdrawal on the invoice failed (and is retried tomorrow when ``renewed``)."""
    if not invoice.is_attested or not invoice.is_open:
        raise SandboxError(409, f"Invoice action {invoice.public_id} is not an open invoice")
    if renewed:
        invoice.next_event = "Autogiro withdrawal"
        invoice.next_event_date = store.clock.now() + timedelta(days=1)
        add_event(store, invoice, "AutogiroPaymentPostponed", "Autogirodragning görs om i morgon")
        changed(store, invoice, "AutogiroWithdrawalRenewedOnInvoice")
    else:
        add_event(store, invoice, "AutogiroCancelledWithdrawal", "Autogirodragning misslyckades")
        changed(store, invoice, "AutogiroWithdrawalFailedOnInvoice")
