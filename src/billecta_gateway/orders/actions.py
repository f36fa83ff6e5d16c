"""Billecta invoice actions as the order and credit jobs use them.

An un-attested invoice action is an order; attesting books, locks and (with a delivery method)
sends it. Actions the gateway creates carry a client-generated `ExternalReference`, so after a
crash between Billecta's answer and our commit the action is found instead of created again.
"""

from __future__ import annotations

from typing import Any

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta.errors import (
    BillectaApiNotFoundException,
    BillectaApiRequestException,
)
from billecta_gateway.billecta.schemas import BillectaInvoiceAction

# The fields of InvoiceActionEntryView (billecta-api.md §4.6): what an update may send back.
ENTRY_FIELDS = frozenset(
    {
        "ActionType",
        "CreditorPublicId",
        "DebtorPublicId",
        "InvoiceDate",
        "DueDate",
        "DeliveryDate",
        "Records",
        "InterestPercentage",
        "ReasonForHigherInterest",
        "InterestStartInDaysAfterDueDate",
        "InterestType",
        "OurReference",
        "YourReference",
        "DeliveryMethod",
        "CommunicationLanguage",
        "Message",
        "InvoiceNumber",
        "InvoiceFee",
        "FreightFee",
        "VatIsIncluded",
        "SendByMailIfEmailNotViewedInDays",
        "DeliveryAddressOverride",
        "DebtCollectionDetails",
        "ReminderInvoiceDetails",
        "ReverseVATDetails",
        "RotRutDetails",
        "PaymentOverride",
        "Appendixes",
        "Attachments",
        "Autogiro",
        "CreditCard",
        "InvoicePDF",
        "CreditingInvoicePublicId",
        "ExternalReference",
        "IsLocked",
        "UseDebtorBalance",
        "InvoiceSendDateOverride",
    }
)
# Stages of an action that is still a draft (not attested).
DRAFT_STAGES = frozenset({None, "", "None", "Created"})
# How many unlabelled drafts of a debtor are opened to find our reference.
MAX_CANDIDATES = 25


def order_reference(order_id: int) -> str:
    """The `ExternalReference` of an order's invoice action."""
    return f"order-{order_id}"


def credit_reference(invoice_id: int) -> str:
    """The `ExternalReference` of the credit invoice of an invoice."""
    return f"credit-{invoice_id}"


def stage_of(action: BillectaInvoiceAction) -> str | None:
    return action.state.stage if action.state is not None else None


def is_draft(action: BillectaInvoiceAction) -> bool:
    """True while the action is not attested (it can still be changed or deleted)."""
    attested = action.state is not None and action.state.attested_date is not None
    return stage_of(action) in DRAFT_STAGES and not attested


def entry_from_view(action: BillectaInvoiceAction) -> dict[str, Any]:
    """The InvoiceActionEntryView fields of a fetched action: the base of a read-modify-write."""
    return {k: v for k, v in action.to_wire().items() if k in ENTRY_FIELDS}


async def find_action_by_reference(
    billecta: BillectaClient, debtor_public_id: str, reference: str
) -> BillectaInvoiceAction | None:
    """The debtor's open action carrying `reference` (a create whose answer was lost)."""
    try:
        subs = await billecta.get_open_invoices_by_debtor(debtor_public_id)
    except BillectaApiNotFoundException:
        return None
    candidates = []
    for sub in subs:
        if not sub.action_public_id:
            continue
        listed = (sub.model_extra or {}).get("ExternalReference")
        if listed == reference:
            return await billecta.get_invoice_action(sub.action_public_id)
        if listed is None and sub.stage in DRAFT_STAGES:
            candidates.append(sub.action_public_id)
    for action_public_id in candidates[:MAX_CANDIDATES]:
        try:
            action = await billecta.get_invoice_action(action_public_id)
        except BillectaApiNotFoundException:
            continue
        if action.external_reference == reference:
            return action
    return None


async def attest(billecta: BillectaClient, action_public_id: str) -> None:
    """Attest an action; an action that is attested already counts as success.

    Billecta refuses a second attest, so a refusal is checked against the action's state
    before it is reported (a retry after a lost answer must not fail).
    """
    try:
        await billecta.attest_invoice_action(action_public_id)
    except BillectaApiRequestException as exc:
        if exc.retryable:
            raise
        try:
            action = await billecta.get_invoice_action(action_public_id)
        except BillectaApiRequestException:
            raise exc from None
        if is_draft(action):
            raise
