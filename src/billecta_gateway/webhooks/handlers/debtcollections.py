"""Debt collection events: `DebtCollectionActionStateChanged` and the case events of the spec's
DebtCollectionWebhookEventHandler. Each carries the case (DebtCollectionActionView) and upserts
the mirrored debtcollection by its ActionPublicId."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

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


# Stored field → (payload field, or State's field when prefixed "State.") it is read from.
_SOURCES: dict[str, str] = {
    "debt_amount": "debt_amount",
    "current_amount": "current_amount",
    "interest_amount": "interest_amount",
    "fees_amount": "fee_amount",
    "interest_percentage": "interest_percentage",
    "interest_type": "interest_type",
    "interest_start_days": "interest_start_in_days_after_due_date",
    "deliverymethod": "delivery_method",
    "status": "State.stage",
    "next_event": "State.next_event",
    "next_event_date": "State.next_event_date",
}
_AMOUNTS = ("debt_amount", "current_amount", "original_amount")


def _carried_values(payload: DebtCollectionPayload, *, tz: ZoneInfo) -> dict[str, Any]:
    """The case's fields that this payload carries: a sparse payload (the spec's case events
    send only part of the view) leaves the others as stored."""
    state = payload.state
    state_sent = state.model_fields_set if state is not None else set()
    converters: dict[str, Callable[[Any], Any]] = {
        "debt_amount": money,
        "current_amount": money,
        "interest_amount": money,
        "fees_amount": money,
        "deliverymethod": delivery_method,
        "status": lambda stage: stage or None,
        "next_event_date": lambda value: local_date(value, tz),
    }
    values: dict[str, Any] = {}
    for target, source in _SOURCES.items():
        if source.startswith("State."):
            name = source.removeprefix("State.")
            if name not in state_sent:
                continue
            value = getattr(state, name)
        elif source in payload.model_fields_set:
            value = getattr(payload, source)
        else:
            continue
        convert = converters.get(target)
        values[target] = convert(value) if convert else value
    if any(name in payload.model_fields_set for name in _AMOUNTS):
        values["currency"] = currency(*(getattr(payload, name) for name in _AMOUNTS))
    return values


@registry.on(*DEBT_COLLECTION_EVENTS, payload=DebtCollectionPayload)
async def upsert_debtcollection(ctx: HandlerContext, payload: DebtCollectionPayload) -> None:
    """Create or update the debtcollection: status, amounts, interest, next event, links.

    Only the fields the payload carries are written. Waits while the creditor is unknown; an
    event older than the last one applied changes nothing.
    """
    creditor = await require_creditor(ctx, payload.creditor_public_id)
    await lock(ctx.session, "debtcollection", payload.action_public_id)
    case = await by_column(ctx.session, DebtCollection, "actionpublicid", payload.action_public_id)
    if case is not None and is_older(case.billecta_event_at, ctx.created):
        ctx.touch("debtcollection", case.id)
        ctx.note(f"debtcollection {case.id}: older than the state applied, nothing changed")
        return
    values = _carried_values(payload, tz=ctx.settings.timezone) | {
        "actionpublicid": payload.action_public_id,
        "creditor": creditor.id,
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
