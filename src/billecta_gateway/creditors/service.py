"""Updating a creditor in Billecta (the spec's UpdateCreditorHandler).

Billecta owns creditors (they are created in its portal): the gateway validates that the
creditor exists there, copies Billecta's default settings into the mirror, then sends the
mapped Lime fields as two read-modify-write updates: the creditor and its default action
configuration. Bank details and every other field the mapping does not cover survive.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta.errors import (
    BillectaApiNotFoundException,
    BillectaApiRequestException,
)
from billecta_gateway.billecta.schemas import BillectaCreditor, BillectaDefaultActionConfig
from billecta_gateway.errors import NotFound
from billecta_gateway.lime.mappings import ENUMS, MappingValueError
from billecta_gateway.models import Creditor
from billecta_gateway.tasks.contract import Outcome, TaskContext, TaskFailed
from billecta_gateway.tasks.locks import advisory_lock
from billecta_gateway.tasks.sync import billecta_problem, creditor_label
from billecta_gateway.tasks.values import MappedValues, ObjectLoader, overlay

LOCK = "creditor"
_DELIVERY_OPTIONS = {billecta: lime for lime, billecta in ENUMS["deliverymethod"].items()}


async def check_creditor(session: AsyncSession, creditor_id: int) -> Creditor:
    """The creditor a task may update; NotFound (404) for an unknown creditor or one without
    a `creditorpublicid` (DESIGN §3.3: an object missing or lacking its Billecta id)."""
    creditor = await session.get(Creditor, creditor_id)
    if creditor is None:
        raise NotFound(f"No creditor with id {creditor_id}")
    if not creditor.creditorpublicid:
        raise NotFound(
            f"{creditor_label(creditor, creditor_id)} has no creditorpublicid: set it to the "
            "creditor's id in Billecta first"
        )
    return creditor


def _money(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return None


def apply_billecta_defaults(creditor: Creditor, defaults: BillectaDefaultActionConfig) -> None:
    """Copy Billecta's default settings (Billecta-owned) into the mirrored creditor."""
    extra = defaults.model_extra or {}
    creditor.billecta_settings = defaults.to_wire()
    creditor.default_deliverymethod = _DELIVERY_OPTIONS.get(defaults.delivery_method or "")
    terms = extra.get("InvoicePaymentTermsInDays", defaults.payment_terms_in_days)
    creditor.default_paymentterms = int(terms) if isinstance(terms, int) else None
    creditor.default_invoicefee = _money(defaults.invoice_fee)
    creditor.default_reminderfee = _money(defaults.reminder_invoice_fee)
    currency = extra.get("CurrencyCode")
    creditor.default_currency = currency[:3] if isinstance(currency, str) and currency else None


async def update_creditor(run: TaskContext, creditor_id: int) -> Outcome:
    """Validate the creditor in Billecta, fetch its settings, then send the two updates.

    Failures are written on the creditor's `billecta_error_message` (cleared on success).
    """
    session = run.session
    await advisory_lock(session, LOCK, creditor_id)
    creditor = await session.get(Creditor, creditor_id, populate_existing=True)
    if creditor is None:
        raise TaskFailed(f"creditor {creditor_id} does not exist")
    public_id = creditor.creditorpublicid
    label = creditor_label(creditor, creditor_id)
    if not public_id:
        message = f"{label} has no creditorpublicid"
        creditor.billecta_error_message = message
        return Outcome(ok=False, message=message)
    billecta = run.billecta
    try:
        try:
            current = await billecta.get_creditor(public_id)
        except BillectaApiNotFoundException:
            message = f"{label}: Billecta has no creditor {public_id}"
            creditor.billecta_error_message = message
            return Outcome(ok=False, message=message)
        defaults = await billecta.get_default_action_config(public_id)
        apply_billecta_defaults(creditor, defaults)
        loader = ObjectLoader(session, run.schema)
        loader.remember("creditor", creditor)
        mapped = await MappedValues.collect(run.mappings["creditor"], loader, creditor)
        wire = overlay(current.to_wire(), mapped.values)
        wire["CreditorPublicId"] = public_id
        await billecta.update_creditor(BillectaCreditor.model_validate(wire))
        mapped_defaults = await MappedValues.collect(
            run.mappings["creditordefaults"],
            loader,
            creditor,
            currency=creditor.default_currency or "SEK",
        )
        config = overlay(defaults.to_wire(), mapped_defaults.values)
        config["CreditorPublicId"] = public_id
        await billecta.update_default_action_config(
            BillectaDefaultActionConfig.model_validate(config)
        )
    except MappingValueError as exc:
        message = f"{label}: {exc}"
    except BillectaApiRequestException as exc:
        if exc.retryable:
            raise
        message = f"{label}: {billecta_problem(exc)}"
    else:
        creditor.billecta_error_message = None
        await session.flush()
        return Outcome(ok=True)
    creditor.billecta_error_message = message
    await session.flush()
    return Outcome(ok=False, message=message)


async def record_creditor_failure(
    session: AsyncSession, creditor_id: int, message: str, phase: str
) -> None:
    """Write a job's failure on the creditor's `billecta_error_message`."""
    await session.execute(
        update(Creditor).where(Creditor.id == creditor_id).values(billecta_error_message=message)
    )
