"""`DebtorUpdated` and the Autogiro approval events: debtor data and mandates from Billecta."""

from __future__ import annotations

from typing import Any

from billecta_gateway.models import CreditorDebtor, Debtor
from billecta_gateway.models.lime import AUTOGIRO_STAGES
from billecta_gateway.webhooks.handlers.common import (
    assign,
    creditordebtor_by_public_id,
    is_older,
    text_of,
)
from billecta_gateway.webhooks.payloads import AutogiroPayload, DebtorPayload
from billecta_gateway.webhooks.registry import HandlerContext, NotReady, registry

# DebtorView field → debtor property (only fields present in the payload are written).
_DEBTOR_FIELDS: dict[str, str] = {
    "name": "name",
    "org_no": "orgno",
    "email": "email",
    "phone": "phone",
    "address": "address",
    "address2": "address2",
    "care_of": "careof",
    "zip_code": "zipcode",
    "city": "city",
    "country_code": "countrycode",
    "vat_number": "vatnumber",
    "contact_name": "contactname",
    "contact_email": "contactemail",
    "gln": "gln",
    "debtor_no": "debtornumber",
}
_DEBTOR_TYPES = {"Private": "private", "Company": "company"}


async def _creditordebtor(ctx: HandlerContext, debtor_public_id: str) -> CreditorDebtor:
    link = await creditordebtor_by_public_id(ctx.session, debtor_public_id)
    if link is None:
        raise NotReady(f"Debtor {debtor_public_id} is not linked to any creditordebtor yet")
    return link


def autogiro_values(
    autogiro: AutogiroPayload | None, *, stage: str | None = None
) -> dict[str, Any]:
    """The creditordebtor's Autogiro fields from a mandate (`stage` overrides Billecta's)."""
    values: dict[str, Any] = {}
    if autogiro is not None:
        if autogiro.active is not None:
            values["autogiro_active"] = autogiro.active
        if autogiro.payer_number is not None:
            values["autogiro_payernumber"] = autogiro.payer_number
    key = stage or (autogiro.stage.lower() if autogiro and autogiro.stage else None)
    if key in AUTOGIRO_STAGES:
        values["autogiro_stage"] = key
    return values


@registry.on("DebtorUpdated", payload=DebtorPayload)
async def update_debtor(ctx: HandlerContext, payload: DebtorPayload) -> None:
    """Write Billecta's debtor data onto the mirrored debtor (and its Autogiro mandate).

    Only the fields the payload carries are written; an anonymized debtor gets no personal data
    back; an event older than the last one applied changes nothing.
    """
    link = await _creditordebtor(ctx, payload.debtor_public_id)
    debtor = await ctx.session.get(Debtor, link.debtor) if link.debtor is not None else None
    if debtor is None:
        raise NotReady(f"Creditordebtor {link.id} has no debtor yet")
    ctx.touch("debtor", debtor.id)
    ctx.touch("creditordebtor", link.id)
    if is_older(debtor.billecta_event_at, ctx.created):
        ctx.note(f"debtor {debtor.id}: older than the state applied, nothing changed")
        return
    values: dict[str, Any] = {"billecta_event_at": ctx.created, "billecta_error_message": None}
    if not debtor.anonymized:
        sent = payload.model_fields_set
        values |= {prop: getattr(payload, f) for f, prop in _DEBTOR_FIELDS.items() if f in sent}
        if "debtor_type" in sent and payload.debtor_type in _DEBTOR_TYPES:
            values["debtortype"] = _DEBTOR_TYPES[payload.debtor_type]
    assign(debtor, values)
    if payload.autogiro is not None and not is_older(link.autogiro_updated_at, ctx.created):
        mandate = autogiro_values(payload.mandate)
        if mandate:
            assign(link, mandate | {"autogiro_updated_at": ctx.created})
    ctx.note(f"debtor {debtor.id} updated from Billecta")


@registry.on("AutogiroApprovalChanged", "AutogiroApprovalFailed", payload=DebtorPayload)
async def update_autogiro_approval(ctx: HandlerContext, payload: DebtorPayload) -> None:
    """Record an Autogiro mandate change (or failure) on the creditordebtor."""
    link = await _creditordebtor(ctx, payload.debtor_public_id)
    ctx.touch("creditordebtor", link.id)
    if link.debtor is not None:
        ctx.touch("debtor", link.debtor)
    if is_older(link.autogiro_updated_at, ctx.created):
        ctx.note(f"creditordebtor {link.id}: older than the mandate applied, nothing changed")
        return
    failed = ctx.event_type == "AutogiroApprovalFailed"
    values = autogiro_values(payload.mandate, stage="failed" if failed else None)
    if failed:
        values["autogiro_active"] = False
    message = text_of(ctx.additional_data)
    values["autogiro_message"] = message or ("Autogiro approval failed" if failed else None)
    values["autogiro_updated_at"] = ctx.created
    assign(link, values)
    stage = link.autogiro_stage or "unknown"
    ctx.note(f"creditordebtor {link.id}: Autogiro approval {stage}")
