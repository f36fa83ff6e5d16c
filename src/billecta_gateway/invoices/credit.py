"""Credit invoices in Billecta (the spec's CreditInvoicesHandler and its per-invoice task).

The job creates the credit invoice of an attested invoice (`CreditingInvoicePublicId` = the
original, every row negated), attests it and records its id on the original
(`credit_invoice_actionpublicid`). It writes no invoice rows: the credit invoice's webhook
creates its row and sets the original and its order `credited` (DESIGN §3.8). Creation is
guarded like every create: the ("invoice", id) advisory lock, the client-generated
`ExternalReference` `credit-<id>`, a lookup before creating, and the new id committed before
the attest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta.errors import (
    BillectaApiNotFoundException,
    BillectaApiRequestException,
)
from billecta_gateway.billecta.schemas import BillectaInvoiceAction, BillectaInvoiceActionEntry
from billecta_gateway.models import Creditor, CreditorDebtor, Invoice
from billecta_gateway.orders import actions
from billecta_gateway.tasks.contract import (
    Outcome,
    TaskContext,
    TaskFailed,
    TaskKind,
    register_kind,
)
from billecta_gateway.tasks.locks import advisory_lock
from billecta_gateway.tasks.runner import run_object_task
from billecta_gateway.tasks.sync import billecta_problem

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

LOCK = "invoice"
CREDIT_ACTION_TYPE = "CreditInvoiceAction"
# Entry fields of the original that a credit invoice must not copy. Its invoice and freight
# fees are copied negated: a full credit credits everything Billecta charged on the invoice
# (reminder fees and interest are separate actions, credited on their own).
_NOT_COPIED = frozenset(
    {
        "InvoiceNumber",
        "ExternalReference",
        "Autogiro",
        "CreditCard",
        "InvoicePDF",
        "IsLocked",
        "PaymentOverride",
        "DebtCollectionDetails",
        "ReminderInvoiceDetails",
        "Appendixes",
        "Attachments",
        "InvoiceSendDateOverride",
        "UseDebtorBalance",
    }
)
# Totals Billecta computes itself.
_TOTALS = frozenset({"TotalIncVAT", "TotalExclVATNoDiscount", "TotalExclVAT"})
_FEES = ("InvoiceFee", "FreightFee")


def _refusal(invoice: Invoice) -> str | None:
    """Why the gateway's copy says this invoice cannot be credited (None when it can)."""
    if invoice.is_credit_invoice:
        return f"Invoice {invoice.id} is a credit invoice and cannot be credited"
    if not invoice.actionpublicid:
        return f"Invoice {invoice.id} has no actionpublicid: it is not in Billecta"
    if invoice.invoicestatus in ("credited", "cancelled") and not (
        invoice.credit_invoice_actionpublicid
    ):
        return f"Invoice {invoice.id} is already {invoice.invoicestatus}"
    return None


def _billecta_refusal(invoice: Invoice, original: BillectaInvoiceAction) -> str | None:
    if actions.is_draft(original):
        return (
            f"Invoice {invoice.id} is not attested in Billecta: delete its order instead of "
            "crediting it"
        )
    if (original.model_extra or {}).get("CanCreateCreditInvoice") is False:
        return (
            f"Billecta does not allow a credit invoice for invoice {invoice.id} (it may be "
            "credited already, or handed over to debt collection)"
        )
    return None


def _negated_amount(value: Any) -> Any:
    """An AmountView with its sign flipped (anything else unchanged)."""
    if not isinstance(value, dict) or not isinstance(value.get("Value"), int):
        return value
    negated = {**value, "Value": -value["Value"]}
    if isinstance(value.get("ValueForView"), int | float):
        negated["ValueForView"] = -value["ValueForView"]
    return negated


def _negated(record: dict[str, Any]) -> dict[str, Any]:
    """A row crediting ``record``: quantity negated, and an amount discount with it, so the
    row's total is exactly the original's negated."""
    credit = {k: v for k, v in record.items() if k not in _TOTALS}
    quantity = credit.get("Quantity")
    if credit.get("RecordType") != "Message" and isinstance(quantity, int | float):
        credit["Quantity"] = -quantity
        if "DiscountAmount" in credit:
            credit["DiscountAmount"] = _negated_amount(credit["DiscountAmount"])
    return credit


def credit_entry(
    original: BillectaInvoiceAction,
    *,
    invoice_id: int,
    creditor_public_id: str,
    debtor_public_id: str,
) -> BillectaInvoiceActionEntry:
    """The credit invoice of `original`: its rows, discounts, invoice and freight fees
    negated, dated today, crediting it; its total is the original's invoiced amount negated
    (Billecta's cent rounding of the negated total mirrors the original's).
    """
    wire = {k: v for k, v in actions.entry_from_view(original).items() if k not in _NOT_COPIED}
    for fee in _FEES:
        if fee in wire:
            wire[fee] = _negated_amount(wire[fee])
    today = datetime.now(UTC).date().isoformat()
    wire.update(
        {
            "ActionType": CREDIT_ACTION_TYPE,
            "CreditorPublicId": creditor_public_id,
            "DebtorPublicId": debtor_public_id,
            "CreditingInvoicePublicId": original.action_public_id,
            "ExternalReference": actions.credit_reference(invoice_id),
            "InvoiceDate": today,
            "DueDate": today,
            "Records": [_negated(r) for r in wire.get("Records") or []],
        }
    )
    return BillectaInvoiceActionEntry.model_validate(wire)


async def _parties(
    session: AsyncSession, invoice: Invoice, original: BillectaInvoiceAction
) -> tuple[str | None, str | None]:
    """The creditor's and debtor's Billecta ids: from Billecta's invoice, else the mirror."""
    creditor_id = original.creditor_public_id
    if not creditor_id and invoice.creditor is not None:
        creditor_id = await session.scalar(
            select(Creditor.creditorpublicid).where(Creditor.id == invoice.creditor)
        )
    debtor_id = original.debtor.debtor_public_id if original.debtor is not None else None
    if not debtor_id:
        condition = (
            CreditorDebtor.id == invoice.creditordebtor
            if invoice.creditordebtor is not None
            else (CreditorDebtor.creditor == invoice.creditor)
            & (CreditorDebtor.debtor == invoice.debtor)
        )
        debtor_id = await session.scalar(select(CreditorDebtor.debtorpublicid).where(condition))
    return creditor_id, debtor_id


def _failed(invoice: Invoice, message: str) -> Outcome:
    invoice.billecta_error_message = message
    return Outcome(ok=False, message=message)


async def _create_credit(run: TaskContext, invoice: Invoice) -> str | Outcome:
    """Find or create the credit invoice; its id, or the Outcome of a refusal."""
    assert invoice.actionpublicid is not None
    try:
        original = await run.billecta.get_invoice_action(invoice.actionpublicid)
    except BillectaApiNotFoundException:
        return _failed(invoice, f"Billecta has no invoice {invoice.actionpublicid}")
    refusal = _billecta_refusal(invoice, original)
    if refusal:
        return _failed(invoice, refusal)
    creditor_id, debtor_id = await _parties(run.session, invoice, original)
    if not creditor_id or not debtor_id:
        return _failed(invoice, f"Invoice {invoice.id}: its creditor or debtor is not in Billecta")
    reference = actions.credit_reference(invoice.id)
    existing = await actions.find_action_by_reference(run.billecta, debtor_id, reference)
    if existing is not None and existing.action_public_id:
        return existing.action_public_id
    entry = credit_entry(
        original, invoice_id=invoice.id, creditor_public_id=creditor_id, debtor_public_id=debtor_id
    )
    return await run.billecta.create_invoice_action(entry)


async def credit_invoice_in_billecta(run: TaskContext, invoice_id: int) -> Outcome:
    """Create and attest the credit invoice of one invoice; record its id on the original.

    A credit invoice already recorded is only attested (if needed), so running it twice
    credits once.
    """
    session = run.session
    await advisory_lock(session, LOCK, invoice_id)
    invoice = await session.get(Invoice, invoice_id, populate_existing=True)
    if invoice is None:
        raise TaskFailed(f"invoice {invoice_id} does not exist")
    refusal = _refusal(invoice)
    if refusal:
        return _failed(invoice, refusal)
    credit_id = invoice.credit_invoice_actionpublicid
    try:
        if not credit_id:
            result = await _create_credit(run, invoice)
            if isinstance(result, Outcome):
                return result
            credit_id = invoice.credit_invoice_actionpublicid = result
            invoice.billecta_error_message = None
            # The credit invoice's id is kept even if attesting it fails.
            await session.commit()
            await advisory_lock(session, LOCK, invoice_id)
        run.phase = "attest"
        await actions.attest(run.billecta, credit_id)
    except BillectaApiRequestException as exc:
        if exc.retryable:
            raise
        return _failed(invoice, f"Invoice {invoice_id}: {billecta_problem(exc)}")
    invoice.billecta_error_message = None
    await session.flush()
    return Outcome(ok=True, message=f"Credit invoice {credit_id} created and attested")


async def record_invoice_failure(
    session: AsyncSession, invoice_id: int, message: str, phase: str
) -> None:
    """Write a job's failure on the invoice's `billecta_error_message`."""
    await session.execute(
        update(Invoice).where(Invoice.id == invoice_id).values(billecta_error_message=message)
    )


CREDIT_INVOICE = register_kind(
    TaskKind(
        job="credit_invoice",
        task="credit_invoices_in_billecta",
        limetype="invoice",
        title="Credit invoices in Billecta",
        handler=credit_invoice_in_billecta,
        on_failure=record_invoice_failure,
        timeout=90,
        max_tries=5,
    )
)


async def credit_invoice(ctx: WorkerContext, log_id: int, invoice_id: int) -> str:
    """Create and attest one invoice's credit invoice in Billecta.

    Idempotent: the credit invoice is looked up by its ExternalReference before it is created.
    """
    return await run_object_task(ctx, CREDIT_INVOICE, log_id, invoice_id)
