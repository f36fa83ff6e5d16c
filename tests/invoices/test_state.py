"""The one InvoiceActionView → invoice mapping (pure function)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from billecta_gateway.billecta.schemas import BillectaInvoiceAction
from billecta_gateway.invoices.state import (
    InvoiceState,
    apply_invoice_state,
    invoice_state,
    local_date,
    open_status,
)
from billecta_gateway.models import Invoice
from tests.invoices.factories import invoice_action

TZ = ZoneInfo("Europe/Stockholm")
BEFORE_DUE = date(2025, 1, 15)
AFTER_DUE = date(2025, 2, 1)


def _state(today: date = BEFORE_DUE, **kwargs: Any) -> InvoiceState:
    return invoice_state(
        BillectaInvoiceAction.model_validate(invoice_action(**kwargs)), today=today, tz=TZ
    )


def test_attested_invoice_is_attested() -> None:
    assert _state(stage="Attested", sent=None).status == "attested"


def test_sent_unpaid_invoice_before_due_date_is_sent() -> None:
    state = _state(stage="InvoiceSent")
    assert state.status == "sent"
    assert state.invoice_balance == Decimal("1000.00")
    assert state.invoice_expires == date(2025, 1, 31)


def test_unpaid_invoice_past_due_date_is_expired() -> None:
    assert _state(AFTER_DUE, stage="InvoiceSent").status == "expired"


def test_invoice_is_not_expired_on_its_due_date() -> None:
    assert _state(date(2025, 1, 31), stage="InvoiceSent").status == "sent"


@pytest.mark.parametrize("stage", ["ReminderInvoiceSent", "SentToDebtCollection", "Manual"])
def test_other_open_stages_are_sent_or_expired(stage: str) -> None:
    assert _state(stage=stage).status == "sent"
    assert _state(AFTER_DUE, stage=stage).status == "expired"


def test_partly_paid_invoice_is_subpaid_then_expired_after_due_date() -> None:
    assert _state(stage="InvoiceSent", paid=40_000).status == "subpaid"
    assert _state(AFTER_DUE, stage="InvoiceSent", paid=40_000).status == "expired"


def test_completed_invoice_is_paid_on_its_closed_date() -> None:
    state = _state(
        AFTER_DUE, stage="Completed", paid=100_000, closed="2025-01-20T10:00:00", current=0
    )
    assert state.status == "paid"
    assert state.paid_date == date(2025, 1, 20)
    assert state.invoice_balance == Decimal("0.00")


def test_invoice_closed_by_a_credit_note_is_credited() -> None:
    assert _state(stage="Completed", credited=100_000, current=0).status == "credited"


def test_fully_credited_invoice_is_credited_whatever_its_stage() -> None:
    assert _state(AFTER_DUE, stage="InvoiceSent", credited=100_000).status == "credited"


def test_cancelled_invoice_is_cancelled() -> None:
    assert _state(stage="Cancelled").status == "cancelled"


def test_credit_invoice_is_credited_and_names_its_original() -> None:
    state = _state(
        AFTER_DUE,
        stage="InvoiceSent",
        action_type="CreditInvoiceAction",
        invoiced=-50_000,
        crediting_source="orig-act-1",
    )
    assert state.status == "credited"
    assert state.is_credit_invoice is True
    assert state.credited_source_public_id == "orig-act-1"
    assert state.invoice_balance == Decimal("-500.00")


def test_unattested_action_gives_no_status_and_keeps_the_stored_one() -> None:
    state = _state(stage="Created")
    assert state.status is None
    invoice = Invoice(id=1, invoicestatus="sent")
    apply_invoice_state(invoice, state)
    assert invoice.invoicestatus == "sent"


def test_amounts_are_exact_decimals_from_minor_units() -> None:
    state = _state(invoiced=30, paid=10, credited=0, written_off=0)
    assert state.invoice_amount == Decimal("0.30")
    assert state.paid_amount == Decimal("0.10")
    assert state.invoice_balance == Decimal("0.20")
    assert state.vat_amount == Decimal("0.06")
    assert state.currency == "SEK"


def test_flags_next_event_and_delivery_method() -> None:
    state = _state(
        disputed="2025-01-10T09:00:00",
        paused=True,
        next_event="Reminder will be sent",
        next_event_date="2025-02-05T00:00:00",
        delivery_method="Manually",
    )
    assert state.disputed is True
    assert state.paused is True
    assert state.next_event == "Reminder will be sent"
    assert state.next_event_date == date(2025, 2, 5)
    assert state.deliverymethod == "manual"
    assert _state().disputed is False


def test_offset_date_times_are_read_in_the_business_time_zone() -> None:
    from datetime import datetime

    late_utc = datetime.fromisoformat("2025-01-30T23:30:00+00:00")
    assert local_date(late_utc, TZ) == date(2025, 1, 31)
    assert local_date(datetime(2025, 1, 30, 23, 30), TZ) == date(2025, 1, 30)
    state = _state(AFTER_DUE, due="2025-01-30T23:30:00Z")
    assert state.invoice_expires == date(2025, 1, 31)


def test_open_status_rule_is_shared_with_the_expiry_cron() -> None:
    assert open_status(balance=Decimal(1), paid=None, invoice_expires=None, today=AFTER_DUE) == (
        "sent"
    )
    assert (
        open_status(
            balance=Decimal(0), paid=Decimal(5), invoice_expires=date(2025, 1, 1), today=AFTER_DUE
        )
        == "sent"
    )


def test_apply_writes_state_and_reports_changed_columns() -> None:
    invoice = Invoice(id=1, invoicestatus="sent", invoicenumber="old", ocr="999")
    changed = apply_invoice_state(invoice, _state(AFTER_DUE))
    assert invoice.invoicestatus == "expired"
    assert invoice.invoicenumber == "10023"
    assert invoice.ocr == "100230"
    assert invoice.invoice_amount == Decimal("1000.00")
    assert {"invoicestatus", "invoicenumber", "ocr", "invoice_amount"} <= set(changed)
    assert apply_invoice_state(invoice, _state(AFTER_DUE)) == []


def test_apply_keeps_identifiers_billecta_left_out() -> None:
    action = BillectaInvoiceAction.model_validate(
        {"ActionPublicId": "a", "State": {"Stage": "Attested"}}
    )
    invoice = Invoice(
        id=1, invoicenumber="10023", currency="SEK", invoice_expires=date(2025, 1, 31)
    )
    apply_invoice_state(invoice, invoice_state(action, today=BEFORE_DUE, tz=TZ))
    assert invoice.invoicestatus == "attested"
    assert invoice.invoicenumber == "10023"
    assert invoice.currency == "SEK"
    assert invoice.invoice_expires == date(2025, 1, 31)


def test_invoice_whose_balance_credits_brought_to_zero_is_credited_after_its_due_date() -> None:
    # Credited short of the invoiced amount (e.g. a fee written off), nothing paid, nothing owed.
    state = _state(
        AFTER_DUE, stage="InvoiceSent", invoiced=104_900, credited=100_000, written_off=4_900
    )
    assert state.invoice_balance == Decimal(0)
    assert state.status == "credited"
    assert _state(AFTER_DUE, stage="InvoiceSent", invoiced=104_900, credited=100_000).status == (
        "expired"
    )
