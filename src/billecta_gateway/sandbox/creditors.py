"""Creditors and their default action configuration."""

from __future__ import annotations

from typing import Any

from billecta_gateway.sandbox.state import bad_request
from billecta_gateway.sandbox.wire import Call, handles


@handles("list_creditors")
def list_creditors(call: Call) -> list[dict[str, Any]]:
    try:
        offset = int(call.query.get("offset") or 0)
        limit = int(call.query["limit"]) if call.query.get("limit") else None
    except ValueError:
        raise bad_request("The request is invalid: offset and limit must be integers.") from None
    creditors = [dict(c.view) for c in call.store.creditors.values()]
    return creditors[offset : offset + limit] if limit is not None else creditors[offset:]


@handles("get_creditor")
def get_creditor(call: Call) -> dict[str, Any]:
    return dict(call.store.creditor(call.param("creditor_public_id")).view)


@handles("update_creditor")
def update_creditor(call: Call) -> None:
    data: dict[str, Any] = call.wire
    creditor = call.store.creditor(data["CreditorPublicId"])
    # A PUT replaces the view; what Billecta owns (the invoice number series) is kept.
    creditor.view = data | {"NextInvoiceNumber": creditor.next_number}


@handles("get_default_action_config")
def get_default_action_config(call: Call) -> dict[str, Any]:
    return dict(call.store.creditor(call.param("creditor_public_id")).config)


@handles("update_default_action_config")
def update_default_action_config(call: Call) -> None:
    data: dict[str, Any] = call.wire
    creditor = call.store.creditor(data["CreditorPublicId"])
    terms = data.get("PaymentTermsInDays")
    if terms is not None and terms < 0:
        raise bad_request("PaymentTermsInDays must not be negative.")
    creditor.config = creditor.config | data
