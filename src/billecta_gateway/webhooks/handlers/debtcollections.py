"""Debt collection events: `DebtCollectionActionStateChanged` and the case events of the spec's
DebtCollectionWebhookEventHandler. Each carries the case (DebtCollectionActionView) and upserts
the mirrored debtcollection by its ActionPublicId."""

from __future__ import annotations

from typing import Any

from billecta_gateway.db import next_gateway_id
from billecta_gateway.invoices.state import local_date
from billecta_gateway.models import DebtCollection, Order
from billecta_gateway.webhooks.handlers.common import (
    assign,
    by_column,
    clipped,
    creditordebtor_by_public_id,
    currency,
    delivery_method,
    invoice_by_action,
    is_older,
    lock,
    money,
    require_creditor,
)
from billecta_gateway.webhooks.payloads import DebtCollectionPayload
from billecta_gateway.webhooks.registry import HandlerContext, registry

DEBT_COLLECTION_EVENTS = (
    "DebtCollectionActionStateChanged",
    "DebtCollectionCaseCreated",
    "DebtCollectionEventOccurred",
    "DebtCollectionCaseResolved",
    "DebtCollectionPaymentReceived",
)


async def _links(ctx: HandlerContext, payload: DebtCollectionPayload) -> dict[str, Any]:
    """Invoice, debtor and contract of the case, as far as the mirror knows them."""
    links: dict[str, Any] = {}
    invoice = await invoice_by_action(ctx.session, payload.invoice_source_public_id)
    if invoice is not None:
        links["invoice"] = invoice.id
        contract = invoice.contract
        if contract is None and invoice.order is not None:
            order = await ctx.session.get(Order, invoice.order)
            contract = order.contract if order else None
        if contract is not None:
            links["contract"] = contract
        if invoice.debtor is not None:
            links["debtor"] = invoice.debtor
    debtor_public_id = payload.debtor.debtor_public_id if payload.debtor else None
    link = await creditordebtor_by_public_id(ctx.session, debtor_public_id)
    if link is not None and link.debtor is not None:
        links["debtor"] = link.debtor
    return links


@registry.on(*DEBT_COLLECTION_EVENTS, payload=DebtCollectionPayload)
async def upsert_debtcollection(ctx: HandlerContext, payload: DebtCollectionPayload) -> None:
    """Create or update the debtcollection: status, amounts, interest, next event, links.

    Waits while the creditor is unknown; an event older than the last one applied changes
    nothing.
    """
    creditor = await require_creditor(ctx, payload.creditor_public_id)
    await lock(ctx.session, "debtcollection", payload.action_public_id)
    case = await by_column(ctx.session, DebtCollection, "actionpublicid", payload.action_public_id)
    if case is not None and is_older(case.billecta_event_at, ctx.created):
        ctx.touch("debtcollection", case.id)
        ctx.note(f"debtcollection {case.id}: older than the state applied, nothing changed")
        return
    state = payload.state
    tz = ctx.settings.timezone
    values: dict[str, Any] = {
        "actionpublicid": payload.action_public_id,
        "creditor": creditor.id,
        "status": state.stage if state and state.stage else None,
        "debt_amount": money(payload.debt_amount),
        "current_amount": money(payload.current_amount),
        "interest_amount": money(payload.interest_amount),
        "fees_amount": money(payload.fee_amount),
        "currency": currency(payload.debt_amount, payload.current_amount, payload.original_amount),
        "interest_percentage": payload.interest_percentage,
        "interest_type": payload.interest_type,
        "interest_start_days": payload.interest_start_in_days_after_due_date,
        "next_event": state.next_event if state else None,
        "next_event_date": local_date(state.next_event_date, tz) if state else None,
        "deliverymethod": delivery_method(payload.delivery_method),
        "billecta_event_at": ctx.created,
        "billecta_error_message": None,
    }
    values |= await _links(ctx, payload)
    if case is None:
        case = DebtCollection(
            id=await next_gateway_id(ctx.session), **clipped(DebtCollection, values)
        )
        ctx.session.add(case)
        await ctx.session.flush()
        ctx.created_objects = True
        verb = "created"
    else:
        assign(case, values)
        verb = "updated"
    ctx.touch("debtcollection", case.id)
    if case.invoice is not None:
        ctx.touch("invoice", case.invoice)
    ctx.note(f"debtcollection {case.id} {verb} ({case.status or 'no stage'})")
