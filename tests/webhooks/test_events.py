"""Every supported event: its fixture posted to the receiver, processed by the job, and the rows
it wrote; a second delivery (and a replay) changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.invoices.refresh import REFRESH_JOB
from billecta_gateway.models import (
    GATEWAY_ID_START,
    CreditorDebtor,
    DebtCollection,
    Debtor,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    Invoice,
    Order,
    Payment,
    WebhookEventObject,
)
from billecta_gateway.webhooks.fixtures import IDS, list_fixtures, load_fixture
from billecta_gateway.webhooks.registry import registry
from billecta_gateway.webhooks.service import MONITOR_TITLE
from tests.webhooks.support import (
    CREDITOR_ID,
    CREDITORDEBTOR_ID,
    DEBTOR_ID,
    INVOICE_ID,
    ORDER_ID,
    deliver,
    due_in,
    event_row,
    mirror_snapshot,
    seed_debtor,
    seed_invoice,
    seed_order,
)

Ctx = Any  # a worker context (see tests.webhooks.support.job_context)


async def one(session: AsyncSession, model: type[Any], **where: Any) -> Any:
    stmt = select(model).filter_by(**where).execution_options(populate_existing=True)
    rows = list((await session.scalars(stmt)).all())
    assert len(rows) == 1, rows
    return rows[0]


async def touched(session: AsyncSession, event_id: int) -> set[tuple[str, int]]:
    rows = await session.execute(
        select(WebhookEventObject.limetype, WebhookEventObject.object_id).where(
            WebhookEventObject.event_id == event_id
        )
    )
    return {(str(t), int(i)) for t, i in rows}


async def refreshes_queued(ctx: Ctx) -> list[int]:
    """The invoices whose refresh from Billecta is queued."""
    return sorted(
        int(job.args[0]) for job in await ctx["redis"].queued_jobs() if job.function == REFRESH_JOB
    )


def test_every_supported_event_has_a_fixture() -> None:
    with_fixture = {event_type for event_type, _ in list_fixtures()}
    assert set(registry.event_types()) == with_fixture
    # The spec's 14, DebtCollectionActionStateChanged, the spec's four debt-collection names,
    # and the real events of Billecta's catalogue that change what the mirror holds.
    assert set(registry.event_types()) == {
        "InvoiceActionAttested",
        "InvoiceActionStateChanged",
        "InvoicePaymentReceived",
        "AmountCreditedOnInvoice",
        "AmountWrittenOffOnInvoice",
        "ReminderInvoiceActionCreated",
        "UnmatchedPayment",
        "Overpayment",
        "OverpaymentMatchedToInvoice",
        "DebtorUpdated",
        "AutogiroApprovalChanged",
        "AutogiroApprovalFailed",
        "AutogiroWithdrawalFailedOnInvoice",
        "AutogiroWithdrawalRenewedOnInvoice",
        "DebtCollectionActionStateChanged",
        "DebtCollectionCaseCreated",
        "DebtCollectionEventOccurred",
        "DebtCollectionCaseResolved",
        "DebtCollectionPaymentReceived",
        "InvoiceActionDeleted",
        "InvoiceActionPaid",
        "InvoiceActionCreated",
        "InvoiceActionUpdated",
        "InvoiceActionReceived",
        "InvoiceActionOpened",
        "InvoiceActionViewed",
        "DebtorDeleted",
        "UndeliveredInvoice",
    }


async def test_debtor_updated_writes_billecta_data_on_the_debtor(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_debtor(session, address="Old street 1")
    body = load_fixture("DebtorUpdated")
    event_id = await deliver(hook, ctx, body)

    debtor = await one(session, Debtor, id=DEBTOR_ID)
    assert debtor.email == "anna.s@example.com"
    assert debtor.phone == "+46709876543"
    assert debtor.address == "Kungsgatan 12"
    assert debtor.zipcode == "111 43"
    assert debtor.careof == "c/o Berg"
    assert debtor.debtornumber == "D-1001"
    assert debtor.debtortype == "private"
    # "2026-03-02T08:15:00" in Billecta's clock (Stockholm, UTC+1 in March).
    assert debtor.billecta_event_at == datetime(2026, 3, 2, 7, 15, tzinfo=UTC)
    event = await event_row(session, event_id)
    assert event.status == "processed"
    assert event.attempts == 1
    assert await touched(session, event_id) == {("debtor", DEBTOR_ID), ("creditordebtor", 2001)}


async def test_debtor_updated_writes_no_personal_data_on_an_anonymized_debtor(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_debtor(session, name="Anonymized", email=None, anonymized=True)
    event_id = await deliver(hook, ctx, load_fixture("DebtorUpdated"))
    debtor = await one(session, Debtor, id=DEBTOR_ID)
    assert (debtor.name, debtor.email, debtor.address) == ("Anonymized", None, None)
    assert (await event_row(session, event_id)).status == "processed"


async def test_invoice_attested_creates_the_invoice_linked_to_its_order(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_order(session)
    event_id = await deliver(hook, ctx, load_fixture("InvoiceActionAttested"))

    invoice = await one(session, Invoice, actionpublicid=IDS["invoice"])
    assert invoice.id >= GATEWAY_ID_START
    assert invoice.invoicestatus == "attested"
    assert invoice.order == ORDER_ID
    assert (invoice.creditor, invoice.debtor, invoice.creditordebtor) == (
        CREDITOR_ID,
        DEBTOR_ID,
        CREDITORDEBTOR_ID,
    )
    assert invoice.invoicenumber == "10231"
    assert invoice.ocr == IDS["invoice_ocr"]
    assert invoice.invoice_amount == Decimal("1250.00")
    assert invoice.currency == "SEK"
    assert ("invoice", invoice.id) in await touched(session, event_id)


async def test_invoice_sent_sets_status_and_sent_date(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_debtor(session)
    await deliver(hook, ctx, due_in(load_fixture("InvoiceActionStateChanged"), 20))
    invoice = await one(session, Invoice, actionpublicid=IDS["invoice"])
    assert invoice.invoicestatus == "sent"
    assert invoice.invoice_sent_date == date(2026, 3, 1)
    assert invoice.billecta_stage == "InvoiceSent"


@pytest.mark.parametrize(
    ("event", "variant"), [("InvoiceActionStateChanged", "paid"), ("InvoiceActionPaid", None)]
)
async def test_invoice_paid_completes_the_invoice_and_its_order(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession, event: str, variant: str | None
) -> None:
    await seed_invoice(session, with_order=True)
    await deliver(hook, ctx, load_fixture(event, variant=variant))
    invoice = await one(session, Invoice, id=INVOICE_ID)
    assert invoice.invoicestatus == "paid"
    assert invoice.paid_date == date(2026, 3, 20)
    assert invoice.invoice_balance == Decimal("0.00")
    order = await one(session, Order, id=ORDER_ID)
    assert order.orderstatus == "completed"


async def test_older_state_change_after_a_newer_one_changes_nothing(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session, with_order=True)
    await deliver(hook, ctx, load_fixture("InvoiceActionStateChanged", variant="paid"))
    before = await mirror_snapshot(session)

    older = await deliver(hook, ctx, load_fixture("InvoiceActionStateChanged"))

    assert await mirror_snapshot(session) == before
    event = await event_row(session, older)
    assert event.status == "processed"
    assert (await one(session, Invoice, id=INVOICE_ID)).invoicestatus == "paid"


async def test_state_change_older_than_a_refresh_still_completes_the_order(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    """A refresh applied the paid state before the order was linked; the Completed webhook that
    arrives afterwards is older than that state but still completes the order."""
    applied_at = datetime(2099, 1, 1, tzinfo=UTC)
    await seed_invoice(
        session,
        with_order=True,
        invoicestatus="paid",
        invoice_balance=0,
        billecta_event_at=applied_at,
    )
    event_id = await deliver(hook, ctx, load_fixture("InvoiceActionStateChanged", variant="paid"))

    assert (await event_row(session, event_id)).status == "processed"
    invoice = await one(session, Invoice, id=INVOICE_ID)
    assert (invoice.invoicestatus, invoice.billecta_event_at) == ("paid", applied_at)
    assert (await one(session, Order, id=ORDER_ID)).orderstatus == "completed"
    assert ("order", ORDER_ID) in await touched(session, event_id)


async def test_credit_invoice_is_linked_and_credits_the_original_and_its_order(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session, with_order=True)
    await deliver(hook, ctx, load_fixture("InvoiceActionAttested", variant="credit_invoice"))

    credit = await one(session, Invoice, actionpublicid=IDS["credit_invoice"])
    assert credit.is_credit_invoice
    assert credit.credited_invoice == INVOICE_ID
    assert credit.invoicestatus == "credited"
    assert credit.invoice_amount == Decimal("-1250.00")
    original = await one(session, Invoice, id=INVOICE_ID)
    assert original.invoicestatus == "credited"
    assert original.credit_invoice_actionpublicid == IDS["credit_invoice"]
    assert (await one(session, Order, id=ORDER_ID)).orderstatus == "credited"


async def test_credit_invoice_waits_for_its_unknown_original(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_debtor(session)
    event_id = await deliver(
        hook, ctx, load_fixture("InvoiceActionAttested", variant="credit_invoice")
    )
    event = await event_row(session, event_id)
    assert event.status == "pending"
    assert event.next_attempt_at is not None
    assert IDS["invoice"] in (event.last_error or "")
    assert await session.scalar(select(Invoice.id)) is None


async def test_invoice_payment_is_recorded_and_the_invoice_refresh_queued(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session)
    body = load_fixture("InvoicePaymentReceived")
    event_id = await deliver(hook, ctx, body)

    payment = await one(session, Payment, paymentreferenceid=IDS["payment_reference"])
    assert payment.id >= GATEWAY_ID_START
    assert payment.actionpublicid == IDS["invoice"]
    assert payment.invoice == INVOICE_ID
    assert payment.creditor == CREDITOR_ID
    assert payment.creditordebtor == CREDITORDEBTOR_ID
    assert payment.paymenttype == "payment"
    assert payment.paymentstatus == "received"
    assert payment.amount == Decimal("500.00")
    assert payment.currency == "SEK"
    assert payment.paymentdate == date(2026, 3, 10)
    assert payment.paymentmeancode == "BG"
    assert payment.ocr == IDS["invoice_ocr"]
    assert await touched(session, event_id) == {("payment", payment.id), ("invoice", INVOICE_ID)}
    assert await refreshes_queued(ctx) == [INVOICE_ID]


async def test_payment_without_action_id_is_linked_by_ocr(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session)
    body = load_fixture("InvoicePaymentReceived")
    body["Data"]["ActionPublicId"] = None
    await deliver(hook, ctx, body)
    payment = await one(session, Payment, paymentreferenceid=IDS["payment_reference"])
    assert payment.invoice == INVOICE_ID
    assert payment.actionpublicid == IDS["invoice"]


async def test_write_off_is_recorded_as_a_writeoff(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session)
    await deliver(hook, ctx, load_fixture("AmountWrittenOffOnInvoice"))
    payment = await one(session, Payment, paymentreferenceid=IDS["writeoff_reference"])
    assert (payment.paymenttype, payment.amount, payment.invoice) == (
        "writeoff",
        Decimal("25.00"),
        INVOICE_ID,
    )


async def test_credit_on_debit_and_credit_invoice_writes_two_rows_once_each(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session)
    await seed_invoice(session, id=INVOICE_ID + 1, actionpublicid=IDS["credit_invoice"])
    debit = load_fixture("AmountCreditedOnInvoice")
    credit = load_fixture("AmountCreditedOnInvoice", variant="credit_invoice")
    for body in (debit, credit, debit, credit):
        await deliver(hook, ctx, body)

    rows = (
        await session.scalars(
            select(Payment)
            .where(Payment.paymentreferenceid == IDS["credit_reference"])
            .order_by(Payment.amount)
        )
    ).all()
    assert [(p.actionpublicid, p.invoice, p.amount, p.paymenttype) for p in rows] == [
        (IDS["credit_invoice"], INVOICE_ID + 1, Decimal("-1250.00"), "credit"),
        (IDS["invoice"], INVOICE_ID, Decimal("1250.00"), "credit"),
    ]


async def test_reminder_invoice_is_linked_to_its_source(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session)
    body = load_fixture("ReminderInvoiceActionCreated")
    body["Data"]["ReminderInvoices"][0]["DueDate"] = "2099-04-18T00:00:00+02:00"
    await deliver(hook, ctx, body)
    reminder = await one(session, Invoice, actionpublicid=IDS["reminder_invoice"])
    assert reminder.is_reminder_invoice
    assert reminder.source_invoice == INVOICE_ID
    assert (reminder.creditor, reminder.debtor) == (CREDITOR_ID, DEBTOR_ID)
    assert reminder.invoicenumber == "10231-P1"
    assert reminder.ocr == "75457691206"
    assert reminder.invoice_amount == Decimal("1310.00")
    assert reminder.invoice_balance == Decimal("1310.00")
    assert reminder.invoicestatus == "sent"
    assert reminder.invoice_expires == date(2099, 4, 18)


async def test_reminder_for_an_unknown_source_waits(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_debtor(session)
    event_id = await deliver(hook, ctx, load_fixture("ReminderInvoiceActionCreated"))
    event = await event_row(session, event_id)
    assert (event.status, event.attempts) == ("pending", 1)
    assert "7545769088" in (event.last_error or "")


async def test_overpayment_is_recorded_and_linked_to_the_overpaid_invoice(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session)
    await deliver(hook, ctx, load_fixture("Overpayment"))
    payment = await one(session, Payment, unhandledpaymentpublicid=IDS["overpayment"])
    assert (payment.paymenttype, payment.paymentstatus) == ("overpayment", "overpayment")
    assert payment.invoice == INVOICE_ID
    assert payment.amount == Decimal("100.00")
    assert payment.creditor == CREDITOR_ID
    assert payment.creditordebtor == CREDITORDEBTOR_ID


async def test_overpayment_matched_to_invoice_is_used_on_the_new_invoice(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session)
    await seed_invoice(session, id=INVOICE_ID + 2, actionpublicid=IDS["other_invoice"])
    await deliver(hook, ctx, load_fixture("Overpayment"))
    await deliver(hook, ctx, load_fixture("OverpaymentMatchedToInvoice"))
    payment = await one(session, Payment, unhandledpaymentpublicid=IDS["overpayment"])
    assert payment.paymentstatus == "usedoninvoice"
    assert payment.used_on_invoice == INVOICE_ID + 2
    assert payment.invoice == INVOICE_ID
    assert await refreshes_queued(ctx) == [INVOICE_ID + 2]


async def test_unmatched_payment_is_recorded_with_creditor_and_creditordebtor(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_debtor(session)
    await deliver(hook, ctx, load_fixture("UnmatchedPayment"))
    payment = await one(session, Payment, unhandledpaymentpublicid=IDS["unmatched_payment"])
    assert (payment.paymenttype, payment.paymentstatus) == ("unmatched", "unmatched")
    assert (payment.creditor, payment.creditordebtor) == (CREDITOR_ID, CREDITORDEBTOR_ID)
    assert payment.invoice is None
    assert payment.amount == Decimal("450.00")
    assert payment.reference == "HYRA APRIL"
    assert payment.sender_name == "Anna Svensson"


async def test_unmatched_payment_of_an_unknown_creditor_waits(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    event_id = await deliver(hook, ctx, load_fixture("UnmatchedPayment"))
    event = await event_row(session, event_id)
    assert event.status == "pending"
    assert "Creditor" in (event.last_error or "")


async def test_autogiro_approval_changed_updates_the_creditordebtor(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_debtor(session)
    await deliver(hook, ctx, load_fixture("AutogiroApprovalChanged"))
    link = await one(session, CreditorDebtor, id=CREDITORDEBTOR_ID)
    assert (link.autogiro_active, link.autogiro_stage) == (True, "approved")
    assert link.autogiro_payernumber == "1001"
    assert link.autogiro_message is None


async def test_autogiro_approval_failed_records_the_reason(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_debtor(session)
    await deliver(hook, ctx, load_fixture("AutogiroApprovalFailed"))
    link = await one(session, CreditorDebtor, id=CREDITORDEBTOR_ID)
    assert (link.autogiro_active, link.autogiro_stage) == (False, "failed")
    assert link.autogiro_message == "The payer's bank rejected the mandate (account closed)"


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("AutogiroWithdrawalFailedOnInvoice", "failed"),
        ("AutogiroWithdrawalRenewedOnInvoice", "renewed"),
    ],
)
async def test_autogiro_withdrawal_events_update_the_invoice(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession, event_type: str, status: str
) -> None:
    await seed_invoice(session)
    body = load_fixture(event_type)
    await deliver(hook, ctx, body)
    invoice = await one(session, Invoice, id=INVOICE_ID)
    assert invoice.autogiro_withdrawal_status == status
    assert invoice.autogiro_withdrawal_message == body["AdditionalData"]


async def test_debt_collection_events_upsert_one_debtcollection(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session, with_order=True)
    await deliver(hook, ctx, load_fixture("DebtCollectionCaseCreated"))
    case = await one(session, DebtCollection, actionpublicid=IDS["debt_collection"])
    assert case.id >= GATEWAY_ID_START
    assert case.status == "Created"
    assert (case.invoice, case.debtor, case.creditor) == (INVOICE_ID, DEBTOR_ID, CREDITOR_ID)

    for event_type in (
        "DebtCollectionEventOccurred",
        "DebtCollectionActionStateChanged",
        "DebtCollectionPaymentReceived",
    ):
        await deliver(hook, ctx, load_fixture(event_type))
    case = await one(session, DebtCollection, actionpublicid=IDS["debt_collection"])
    assert case.status == "ReadyForBailiff"
    assert case.debt_amount == Decimal("1250.00")
    assert case.current_amount == Decimal("451.50")
    assert case.interest_amount == Decimal("21.50")
    assert case.fees_amount == Decimal("180.00")
    assert case.interest_percentage == Decimal("10.5")
    assert case.interest_type == "AboveEffectiveReference"
    assert case.next_event == "Skickas till Kronofogden"
    assert case.next_event_date == date(2026, 6, 1)
    assert case.deliverymethod == "mail"

    await deliver(hook, ctx, load_fixture("DebtCollectionCaseResolved"))
    case = await one(session, DebtCollection, actionpublicid=IDS["debt_collection"])
    assert (case.status, case.current_amount, case.next_event) == (
        "Completed",
        Decimal("0.00"),
        None,
    )


async def test_debt_collection_is_linked_to_the_contract_of_its_invoice(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    from billecta_gateway.models import Contract

    await seed_debtor(session)
    session.add(Contract(id=7001, name="Lgh 1102", contractnumber="K-1102", debtor=DEBTOR_ID))
    await session.flush()
    await seed_invoice(session, contract=7001)
    await deliver(hook, ctx, load_fixture("DebtCollectionActionStateChanged"))
    case = await one(session, DebtCollection, actionpublicid=IDS["debt_collection"])
    assert case.contract == 7001


async def test_processed_events_are_logged_in_the_daily_webhook_batch(
    hook: httpx.AsyncClient, ctx: Ctx, session: AsyncSession
) -> None:
    await seed_invoice(session)
    await deliver(hook, ctx, load_fixture("InvoicePaymentReceived"))
    await deliver(hook, ctx, load_fixture("AmountWrittenOffOnInvoice"))
    batch = await one(session, IntegrationMonitorBatch, title=MONITOR_TITLE)
    logs = (
        await session.scalars(
            select(IntegrationMonitorLog)
            .where(IntegrationMonitorLog.batch_id == batch.id)
            .order_by(IntegrationMonitorLog.id)
        )
    ).all()
    assert [(log.limetype, log.status) for log in logs] == [("payment", "ok"), ("payment", "ok")]
    assert "InvoicePaymentReceived" in (logs[0].message or "")
    assert batch.done == 2
