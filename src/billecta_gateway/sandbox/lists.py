"""Invoice lists (open, closed, a debtor's open ones) and the action search."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from billecta_gateway.sandbox.state import DebtCollection, Invoice, Store
from billecta_gateway.sandbox.views import dc_sub_view, invoice_sub_view
from billecta_gateway.sandbox.wire import Call, handles, parse_when

_DATE_FILTERS: dict[str, Callable[[Invoice], datetime | None]] = {
    "InvoiceDate": lambda i: i.invoice_date,
    "DueDate": lambda i: i.due_date,
    "CreatedDate": lambda i: i.created,
    "AttestedDate": lambda i: i.attested_at,
    "ClosedDate": lambda i: i.closed_at,
}


@handles("get_open_invoices")
def get_open_invoices(call: Call) -> list[dict[str, Any]]:
    store = call.store
    creditor = store.creditor(call.param("creditor_public_id"))
    ids = store.open_by_creditor.get(creditor.public_id, {})
    return [invoice_sub_view(store, store.invoices[i]) for i in ids]


@handles("get_closed_invoices")
def get_closed_invoices(call: Call) -> list[dict[str, Any]]:
    store = call.store
    creditor = store.creditor(call.param("creditor_public_id"))
    start = _day_start(call.query_when("from"))
    end = _day_start(call.query_when("to")) + timedelta(days=1)
    ids = store.closed_between(creditor.public_id, start, end)
    return [invoice_sub_view(store, store.invoices[i]) for i in ids if i in store.invoices]


@handles("get_open_invoices_by_debtor")
def get_open_invoices_by_debtor(call: Call) -> list[dict[str, Any]]:
    store = call.store
    debtor = store.debtor(call.param("debtor_public_id"))
    ids = store.open_by_debtor.get(debtor.public_id, {})
    return [invoice_sub_view(store, store.invoices[i]) for i in ids]


def _day_start(value: datetime) -> datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def _candidates(store: Store, data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Invoice and debt collection ids to filter, from the most selective criterion given."""
    creditor_id = data["CreditorPublicId"]
    value = (data.get("SearchValue") or "").strip()
    if value:
        hit = store.by_number.get((creditor_id, value)) or store.by_ocr.get(value)
        if hit is None:
            return [], []
        kind, ident = hit
        if kind == "dc":
            return [], [ident]
        if kind == "reminder":
            ident = store.reminders[ident].source_id
        return [ident], []
    debtor_ids = list(data.get("DebtorPublicIds") or [])
    external = data.get("DebtorExternalId")
    if external:
        debtor_ids += store.debtor_by_external.get((creditor_id, external), [])
        if not debtor_ids:
            return [], []
    if debtor_ids:
        invoices = [i for d in debtor_ids for i in store.invoices_by_debtor.get(d, {})]
        cases = [
            inv.dc_id
            for inv in (store.invoices.get(i) for i in invoices)
            if inv is not None and inv.dc_id
        ]
        return invoices, cases
    return (
        list(store.invoices_by_creditor.get(creditor_id, {})),
        list(store.dc_by_creditor.get(creditor_id, {})),
    )


def _status_ok(is_open: bool, has_reminder: bool, statuses: Iterable[str]) -> bool:
    wanted = set(statuses)
    if not wanted or "All" in wanted:
        return True
    return (
        ("Open" in wanted and is_open)
        or ("Closed" in wanted and not is_open)
        or ("WithInvoiceReminder" in wanted and has_reminder)
        or ("WithoutInvoiceReminder" in wanted and not has_reminder)
    )


def _dates_ok(store: Store, invoice: Invoice, data: dict[str, Any]) -> bool:
    for name, getter in _DATE_FILTERS.items():
        value = getter(invoice)
        low, high = data.get(f"{name}From"), data.get(f"{name}To")
        if low is None and high is None:
            continue
        if value is None:
            return False
        day = store.clock.local_date(value)
        if low is not None and day < parse_when(low, store, f"{name}From").date():
            return False
        if high is not None and day > parse_when(high, store, f"{name}To").date():
            return False
    return True


@handles("search_actions")
def search_actions(call: Call) -> dict[str, Any]:
    store, data = call.store, call.wire
    creditor_id = data["CreditorPublicId"]
    store.creditor(creditor_id, status=400)
    types = set(data.get("Types") or ())
    statuses = data.get("Status") or ()
    invoice_ids, case_ids = _candidates(store, data)
    invoices: list[Invoice] = [
        inv
        for inv in (store.invoices.get(i) for i in dict.fromkeys(invoice_ids))
        if inv is not None
        and inv.creditor_id == creditor_id
        and (not types or inv.action_type in types)
        and _status_ok(inv.is_open, bool(inv.reminder_ids), statuses)
        and _dates_ok(store, inv, data)
    ]
    cases: list[DebtCollection] = []
    if not types or "DebtCollectionAction" in types:
        cases = [
            dc
            for dc in (store.debt_collections.get(i) for i in dict.fromkeys(case_ids))
            if dc is not None
            and dc.creditor_id == creditor_id
            and _status_ok(dc.is_open, False, statuses)
        ]
    return {
        "InvoiceActions": [invoice_sub_view(store, inv) for inv in invoices],
        "ReconciliationInvoiceActions": [],
        "SelfInvoiceActions": [],
        "DebtCollectionActions": [dc_sub_view(store, dc) for dc in cases],
        "InstallmentPlanActions": [],
        "ContractInvoiceActions": [],
        "SupplierInvoiceActions": [],
    }
