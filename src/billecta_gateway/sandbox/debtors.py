"""Debtors: create, replace, look up by external id, anonymize, events, Autogiro mandates."""

from __future__ import annotations

from typing import Any

from billecta_gateway.sandbox.state import Debtor, SandboxError, Store, bad_request, not_found
from billecta_gateway.sandbox.views import iso
from billecta_gateway.sandbox.wire import Call, handles

AUTOGIRO_STAGES = ("Pending", "Approved", "Failed", "Removed", "Migration")
_ANONYMIZED = (
    "OrgNo", "Attention", "CareOf", "Address", "Address2", "ZipCode", "City", "Phone", "Email",
    "ContactName", "ContactEmail", "VatNumber", "GLN", "Notes",
)  # fmt: skip


# Every DebtorView field (billecta-api.md §4.4): Billecta answers with all of them.
_EMPTY_VIEW: dict[str, Any] = dict.fromkeys(
    (
        "DebtorExternalId", "OrgNo", "Name", "Attention", "CareOf", "Address", "Address2",
        "ZipCode", "City", "CitizenshipCountryCode", "Phone", "Email", "ContactName",
        "ContactEmail", "VatNumber", "DebtorNo", "GLN", "Intermediator", "EInvoiceBank", "Notes",
        "DebtorSelfInvoiceInfo", "DefaultActionConfig", "Autogiro",
    )
) | {
    "IsActive": True,
    "ProtectedIdentity": False,
    "UseProtectedMailDelivery": False,
    "DebtorType": "Private",
    "CountryCode": "SE",
    "CreditCards": [],
}  # fmt: skip


def _stored_view(debtor_id: str, data: dict[str, Any], created: str | None) -> dict[str, Any]:
    return _EMPTY_VIEW | data | {"DebtorPublicId": debtor_id, "Created": created}


@handles("create_debtor")
def create_debtor(call: Call) -> dict[str, Any]:
    store, data = call.store, dict(call.wire)
    creditor = store.creditor(data["CreditorPublicId"], status=400)
    debtor_id = store.ids.new("debtor")
    now = store.clock.now()
    debtor = Debtor(debtor_id, creditor.public_id, _stored_view(debtor_id, data, iso(now)), now)
    debtor.events.append(store.event("Created", "Kund skapad"))
    store.debtors[debtor_id] = debtor
    store.index_add(
        store.debtor_by_external,
        (creditor.public_id, data.get("DebtorExternalId") or ""),
        debtor_id,
    )
    return {"PublicId": debtor_id}


@handles("update_debtor")
def update_debtor(call: Call) -> None:
    store, data = call.store, dict(call.wire)
    debtor_id = data.get("DebtorPublicId")
    if not debtor_id:
        raise bad_request("The request is invalid: DebtorPublicId is required to update a debtor.")
    debtor = store.debtor(debtor_id)
    if data["CreditorPublicId"] != debtor.creditor_id:
        raise bad_request(
            f"Debtor {debtor_id} does not belong to creditor {data['CreditorPublicId']}"
        )
    old_external = debtor.view.get("DebtorExternalId") or ""
    debtor.view = _stored_view(debtor_id, data, iso(debtor.created))
    new_external = debtor.view.get("DebtorExternalId") or ""
    if new_external != old_external:
        store.index_remove(store.debtor_by_external, (debtor.creditor_id, old_external), debtor_id)
        store.index_add(store.debtor_by_external, (debtor.creditor_id, new_external), debtor_id)
    debtor.events.append(store.event("Updated", "Kund uppdaterad"))
    store.emit("DebtorUpdated", debtor.creditor_id, dict(debtor.view))


@handles("get_debtor")
def get_debtor(call: Call) -> dict[str, Any]:
    return dict(call.store.debtor(call.param("debtor_public_id")).view)


@handles("get_debtor_by_external_id")
def get_debtor_by_external_id(call: Call) -> dict[str, Any]:
    store = call.store
    creditor_id = call.param("creditor_public_id")
    external_id = call.query_value("externalid") or ""
    store.creditor(creditor_id)
    found = store.debtor_by_external.get((creditor_id, external_id), [])
    if not found:
        raise not_found(f"No debtor with external id {external_id} was found")
    if len(found) > 1:
        raise bad_request(
            f"More than one debtor has the external id {external_id}; the external id is not unique"
        )
    return dict(store.debtors[found[0]].view)


@handles("anonymize_debtor")
def anonymize_debtor(call: Call) -> None:
    store = call.store
    debtor = store.debtor(call.param("debtor_public_id"))
    for key in _ANONYMIZED:
        debtor.view[key] = None
    debtor.view["Name"] = "Anonymiserad"
    debtor.view["IsActive"] = False
    debtor.events = [store.event("Updated", "Kund anonymiserad")]
    store.emit("DebtorUpdated", debtor.creditor_id, dict(debtor.view))


@handles("get_debtor_events")
def get_debtor_events(call: Call) -> list[dict[str, Any]]:
    return [dict(event) for event in call.store.debtor(call.param("debtor_public_id")).events]


def set_autogiro(store: Store, debtor_id: str, stage: str, *, active: bool | None = None) -> Debtor:
    """An Autogiro mandate changed at the bank: ``AutogiroApprovalChanged`` (or ``...Failed``)."""
    if stage not in AUTOGIRO_STAGES:
        raise SandboxError(422, f"stage must be one of {', '.join(AUTOGIRO_STAGES)}")
    debtor = store.debtor(debtor_id)
    current = dict(debtor.view.get("Autogiro") or {})
    is_active = stage == "Approved" if active is None else active
    current |= {
        "Active": is_active,
        "Stage": stage,
        "AccountNo": current.get("AccountNo") or "1234567",
        "ClearingNo": current.get("ClearingNo") or "8327",
        "PayerNumber": current.get("PayerNumber")
        or "".join(ch for ch in debtor.public_id if ch.isdigit())[:10],
        "PaymentServiceSupplier": current.get("PaymentServiceSupplier") or "Bankgirot",
    }
    debtor.view["Autogiro"] = current
    titles = {
        "Approved": ("AutogiroApprovalAdded", "Autogiromedgivande godkänt"),
        "Removed": ("AutogiroApprovalRemoved", "Autogiromedgivande borttaget"),
    }
    event_type, title = titles.get(stage, ("AutogiroApprovalChanged", f"Autogiro: {stage}"))
    debtor.events.append(store.event(event_type, title))
    webhook = "AutogiroApprovalFailed" if stage == "Failed" else "AutogiroApprovalChanged"
    store.emit(webhook, debtor.creditor_id, dict(debtor.view))
    return debtor
