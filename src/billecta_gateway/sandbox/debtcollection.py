"""Debt collection: hand an invoice over, then cancel, postpone, escalate, complete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from billecta_gateway.sandbox.invoices import CREDIT_INVOICE, add_event, changed
from billecta_gateway.sandbox.state import (
    DebtCollection,
    Invoice,
    SandboxError,
    Store,
    bad_request,
    make_ocr,
)
from billecta_gateway.sandbox.views import BAILIFF_READY, dc_view
from billecta_gateway.sandbox.wire import Call, handles

# Swedish statutory collection fee (inkassoavgift), in öre.
COLLECTION_FEE_SEK = 18_000
DC_STAGES = frozenset(
    {
        "None", "Created", "ReminderInvoiceSent", "DebtCollectionInvoiceSent", "SentToBailiff",
        "Manual", "Completed", "Cancelled", "ForeignManual", "AwaitingFeePayment", "Attested",
        "DebtCollectionClaimDue", "LatePaymentInvoiceSent", "DebtCollectionClaimResponseRequested",
        "ReadyForBailiff", "LongTermSurveilance", "VerdictObtained", "SentToBailiffEnforcement",
        "ForeignDebtorLetterSent", "ForeignCreditorLetterSent", "EnforcementResponseRequested",
        "ReadyForEnforcement", "ForeignSentToLocalRepresentative",
        "ForeignMakeReadyForLocalRepresentative", "ReadyForAttest", "ReadyForAssistance",
        "ReadyForAssistanceWithBailiff", "Assisted", "AssistedWithBailiff",
    }
)  # fmt: skip


def dc_event(store: Store, dc: DebtCollection, event_type: str, title: str) -> None:
    dc.events.append(
        store.event(
            event_type,
            title,
            creditor_id=dc.creditor_id,
            action_id=dc.public_id,
            action_type="DebtCollectionAction",
        )
    )


def dc_changed(
    store: Store, dc: DebtCollection, event_type: str = "DebtCollectionActionStateChanged"
) -> None:
    """Queue a webhook carrying the case's DebtCollectionActionView as it is now."""
    store.emit(event_type, dc.creditor_id, dc_view(store, dc))


def set_dc_stage(store: Store, dc: DebtCollection, stage: str) -> None:
    """Move a case to ``stage``; closing it as ``Completed`` also closes its invoice."""
    if stage not in DC_STAGES:
        raise SandboxError(422, f"{stage} is not a DebtCollectionActionStageType")
    now = store.clock.now()
    dc.stage = stage
    if stage in ("Completed", "Cancelled"):
        dc.closed_at = now
        dc.next_event = None
        dc.next_event_date = None
    if stage in ("SentToBailiff", "AssistedWithBailiff", "SentToBailiffEnforcement"):
        dc.sent_to_bailiff_at = dc.sent_to_bailiff_at or now
    dc_event(store, dc, _EVENT_OF_STAGE.get(stage, "Updated"), f"Ärendet har status {stage}")
    dc_changed(store, dc)
    if not dc.is_open:
        dc_changed(store, dc, "DebtCollectionCaseResolved")
    source = store.invoices.get(dc.source_id)
    if stage == "Completed" and source is not None and source.is_open:
        store.close_invoice(source, "Completed")
        add_event(store, source, "Completed", "Betald via inkasso")
        changed(store, source)


_EVENT_OF_STAGE = {
    "Completed": "Completed",
    "Cancelled": "Cancelled",
    "SentToBailiff": "SentToBailiff",
    "AssistedWithBailiff": "SentToBailiff",
    "LongTermSurveilance": "LongTermSurveilance",
    "SentToBailiffEnforcement": "SentToBailiffExecution",
    "VerdictObtained": "VerdictNumberObtained",
}


@handles("send_invoice_to_debt_collection")
def send_invoice_to_debt_collection(call: Call) -> dict[str, Any]:
    store, data = call.store, dict(call.wire)
    invoice = store.invoice(data["SourcePublicId"], status=400)
    return {"PublicId": hand_over(store, invoice, data).public_id}


def hand_over(store: Store, invoice: Invoice, data: dict[str, Any]) -> DebtCollection:
    """Create a debt collection case for what the invoice still owes (plus the fee)."""
    if not invoice.is_attested or not invoice.is_open or invoice.current <= 0:
        raise bad_request(f"Invoice action {invoice.public_id} has no open claim to collect.")
    if invoice.action_type == CREDIT_INVOICE:
        raise bad_request("A credit invoice can not be sent to debt collection.")
    if invoice.dc_id is not None:
        raise bad_request(
            f"Invoice action {invoice.public_id} is already in debt collection ({invoice.dc_id})."
        )
    creditor = store.creditors[invoice.creditor_id]
    now = store.clock.now()
    terms = int(
        data.get("PaymentTermsInDays")
        or creditor.config.get("DebtCollectionPaymentTermsInDays")
        or 10
    )
    dc_id = store.ids.action()
    invoice_number = store.next_invoice_number(creditor)
    dc = DebtCollection(
        public_id=dc_id,
        creditor_id=invoice.creditor_id,
        debtor_id=invoice.debtor_id,
        source_id=invoice.public_id,
        entry=data,
        created=now,
        currency=invoice.currency,
        debt=invoice.current,
        fee=COLLECTION_FEE_SEK if invoice.currency == "SEK" else 0,
        invoice_number=invoice_number,
        ocr=make_ocr(invoice_number),
        file_id=store.add_file("dc", dc_id, f"Inkassokrav_{invoice_number}.pdf"),
        due_date=now + timedelta(days=terms),
        attested_at=now,
        invoice_sent_at=now,
        next_event="Claim due",
    )
    dc.next_event_date = dc.due_date
    store.debt_collections[dc_id] = dc
    store.dc_by_creditor.setdefault(dc.creditor_id, {})[dc_id] = None
    store.register_number(dc.creditor_id, invoice_number, dc.ocr, "dc", dc_id)
    dc_event(store, dc, "Created", "Inkassoärende skapat")
    dc_event(store, dc, "DebtCollectionSent", "Inkassokrav skickat")
    invoice.stage = "SentToDebtCollection"
    invoice.dc_id = dc_id
    invoice.sent_to_dc_at = now
    invoice.next_event = None
    invoice.next_event_date = None
    add_event(store, invoice, "SentToDebtCollection", "Skickad till inkasso")
    changed(store, invoice)
    dc_changed(store, dc, "DebtCollectionCaseCreated")
    return dc


@handles("get_debt_collection_action")
def get_debt_collection_action(call: Call) -> dict[str, Any]:
    store = call.store
    return dc_view(store, store.debt_collection(call.param("action_public_id")))


def _open_case(call: Call) -> DebtCollection:
    dc = call.store.debt_collection(call.param("action_public_id"))
    if not dc.is_open:
        raise bad_request(f"Debt collection action {dc.public_id} is closed ({dc.stage}).")
    return dc


@handles("cancel_debt_collection")
def cancel_debt_collection(call: Call) -> None:
    set_dc_stage(call.store, _open_case(call), "Cancelled")


@handles("postpone_debt_collection")
def postpone_debt_collection(call: Call) -> None:
    store = call.store
    dc = _open_case(call)
    when = call.query_when("date")
    if when.date() < store.clock.today():
        raise bad_request("The new date of the next event must not be in the past.")
    dc.next_event_date = when
    dc.next_event = dc.next_event or "Claim due"
    dc_event(store, dc, "Updated", f"Nästa händelse flyttad till {when.date().isoformat()}")
    dc_changed(store, dc, "DebtCollectionEventOccurred")


@handles("send_to_bailiff")
def send_to_bailiff(call: Call) -> None:
    dc = _open_case(call)
    if dc.stage not in BAILIFF_READY:
        raise bad_request(
            f"Debt collection action {dc.public_id} can not be sent to the bailiff in stage "
            f"{dc.stage}."
        )
    set_dc_stage(call.store, dc, "SentToBailiff")


@handles("send_to_assistance_with_bailiff")
def send_to_assistance_with_bailiff(call: Call) -> None:
    dc = _open_case(call)
    if dc.stage in ("AssistedWithBailiff", "SentToBailiff", "LongTermSurveilance"):
        raise bad_request(
            f"Debt collection action {dc.public_id} can not be sent to assistance with bailiff "
            f"in stage {dc.stage}."
        )
    set_dc_stage(call.store, dc, "AssistedWithBailiff")


@handles("send_to_long_term_surveillance")
def send_to_long_term_surveillance(call: Call) -> None:
    dc = _open_case(call)
    if dc.stage == "LongTermSurveilance":
        raise bad_request(f"Debt collection action {dc.public_id} is already in surveillance.")
    set_dc_stage(call.store, dc, "LongTermSurveilance")


@handles("get_debt_collection_events")
def get_debt_collection_events(call: Call) -> list[dict[str, Any]]:
    dc = call.store.debt_collection(call.param("action_public_id"))
    return [dict(event) for event in dc.events]
