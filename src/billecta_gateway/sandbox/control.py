"""Control endpoints under ``/_sandbox``: what happens outside Billecta, faults, logs, webhooks.

They are for tests, benchmarks and the local stack, take snake_case JSON, and need no
authentication. Money is given in major units (``"amount": "125.50"``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from billecta_gateway.sandbox.app import Sandbox
from billecta_gateway.sandbox.config import SeedCreditor
from billecta_gateway.sandbox.debtcollection import set_dc_stage
from billecta_gateway.sandbox.debtors import set_autogiro
from billecta_gateway.sandbox.faults import FaultSpec
from billecta_gateway.sandbox.invoice_ops import advance_clock, autogiro_withdrawal, expire_invoice
from billecta_gateway.sandbox.invoices import changed
from billecta_gateway.sandbox.payments import add_unmatched, incoming_by_ocr
from billecta_gateway.sandbox.state import SandboxError
from billecta_gateway.sandbox.swish import settle_swish
from billecta_gateway.sandbox.views import dc_view, swish_view, unhandled_view
from billecta_gateway.sandbox.webhooks import WebhookSettings
from billecta_gateway.sandbox.wire import start_of, to_minor

router = APIRouter(prefix="/_sandbox", tags=["sandbox control"])


async def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


SandboxDep = Annotated[Sandbox, Depends(_sandbox)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncomingPayment(_Body):
    """A bank payment: by OCR (or the invoice's ActionPublicId); no amount pays what is owed."""

    ocr: str | None = None
    action_public_id: str | None = None
    amount: Decimal | None = Field(default=None, gt=0)
    payment_date: date | None = None
    creditor_public_id: str | None = None
    sender_name: str | None = None
    payment_mean_code: str = "BG"


class UnmatchedPayment(_Body):
    creditor_public_id: str
    amount: Decimal = Field(gt=0)
    reference: str | None = None
    sender_name: str | None = None
    payment_date: date | None = None


class Expire(_Body):
    days_overdue: int = Field(default=1, ge=1)


class Advance(_Body):
    days: int = Field(ge=0)


class Stage(_Body):
    stage: str


class Autogiro(_Body):
    stage: Literal["Pending", "Approved", "Failed", "Removed", "Migration"]
    reason: str | None = None


class Withdrawal(_Body):
    result: Literal["failed", "renewed"]
    reason: str | None = None


class SwishOutcome(_Body):
    status: Literal["Paid", "Declined", "Error", "Cancelled"]


class Latency(_Body):
    latency_ms: float = Field(ge=0)


class SettingsPatch(_Body):
    url: str | None = None
    header_name: str | None = None
    header_value: str | None = None
    retry_schedule: tuple[float, ...] | None = None
    duplicate: float | None = Field(default=None, ge=0.0, le=1.0)
    delay_ms: float | None = Field(default=None, ge=0.0)
    reorder: bool | None = None
    reorder_window_ms: float | None = Field(default=None, ge=0.0)
    concurrency: int | None = Field(default=None, ge=1, le=64)
    timeout_seconds: float | None = Field(default=None, gt=0)


class Redeliver(_Body):
    ids: list[int] | None = None
    status: str = "failed"


class Emit(_Body):
    """Send an object's current state again as ``event_type`` (for ``UndeliveredInvoice``, the
    invoice's delivery status with ``delivered`` and ``reason``)."""

    event_type: str
    public_id: str
    delivered: bool = False
    reason: str | None = None


# state


@router.post("/reset")
async def reset(sandbox: SandboxDep) -> dict[str, Any]:
    """Forget everything except the configured seed creditors; faults and logs are cleared."""
    sandbox.reset()
    return {"status": "reset", "creditors": list(sandbox.store.creditors)}


@router.get("/state")
async def state(sandbox: SandboxDep) -> dict[str, Any]:
    """How many objects the sandbox holds, and its clock."""
    store = sandbox.store
    return {
        "now": store.clock.now().isoformat(),
        "clock_offset_days": store.clock.offset.days,
        "creditors": len(store.creditors),
        "debtors": len(store.debtors),
        "products": len(store.products),
        "invoices": len(store.invoices),
        "reminders": len(store.reminders),
        "debt_collections": len(store.debt_collections),
        "unhandled_payments": len(store.unhandled),
        "swish_requests": len(store.swish),
    }


@router.post("/creditors", status_code=201)
async def add_creditor(creditor: SeedCreditor, sandbox: SandboxDep) -> dict[str, Any]:
    """Create a creditor with a fixed public id (Billecta creditors are made in its portal)."""
    created = sandbox.store.add_creditor(creditor)
    return dict(created.view)


# what happens outside Billecta


@router.post("/payments/incoming")
async def incoming_payment(body: IncomingPayment, sandbox: SandboxDep) -> dict[str, Any]:
    """A payment arrives by OCR: full, partial or over (the excess becomes an overpayment);
    an OCR that matches nothing becomes an unmatched payment."""
    store = sandbox.store
    ocr = body.ocr
    if ocr is None and body.action_public_id:
        ocr = store.invoice(body.action_public_id).ocr
        if ocr is None:
            raise SandboxError(409, f"Invoice action {body.action_public_id} is not attested")
    if not ocr:
        raise SandboxError(422, "give ocr or action_public_id")
    target = store.by_ocr.get(ocr)
    currency = _currency_of(sandbox, target, body.creditor_public_id)
    value = to_minor(body.amount, currency) if body.amount is not None else None
    when = start_of(body.payment_date, store) if body.payment_date else store.clock.now()
    result = incoming_by_ocr(
        store,
        ocr,
        value,
        when=when,
        creditor_id=body.creditor_public_id,
        sender_name=body.sender_name,
        mean_code=body.payment_mean_code,
    )
    sandbox.commit()
    return result


def _currency_of(sandbox: Sandbox, target: tuple[str, str] | None, creditor: str | None) -> str:
    store = sandbox.store
    if target is not None:
        kind, ident = target
        if kind == "invoice":
            return store.invoices[ident].currency
        if kind == "reminder":
            return store.invoices[store.reminders[ident].source_id].currency
        return store.debt_collections[ident].currency
    found = store.creditors.get(creditor or "")
    return str(found.config.get("CurrencyCode")) if found else sandbox.config.currency


@router.post("/payments/unmatched")
async def unmatched_payment(body: UnmatchedPayment, sandbox: SandboxDep) -> dict[str, Any]:
    """A payment with a reference that matches no invoice: ``UnmatchedPayment``."""
    store = sandbox.store
    currency = _currency_of(sandbox, None, body.creditor_public_id)
    when = start_of(body.payment_date, store) if body.payment_date else store.clock.now()
    payment = add_unmatched(
        store,
        body.creditor_public_id,
        to_minor(body.amount, currency),
        when=when,
        reference=body.reference,
        sender_name=body.sender_name,
        currency=currency,
    )
    sandbox.commit()
    return unhandled_view(store, payment)


@router.post("/invoices/{action_public_id}/expire")
async def expire(action_public_id: str, body: Expire, sandbox: SandboxDep) -> dict[str, Any]:
    """The due date passes: it moves ``days_overdue`` days into the past (the gateway then
    derives ``expired``), with an ``InvoiceDue`` event and a state webhook."""
    invoice = sandbox.store.invoice(action_public_id)
    expire_invoice(sandbox.store, invoice, days_overdue=body.days_overdue)
    sandbox.commit()
    return {"action_public_id": invoice.public_id, "due_date": invoice.due_date.isoformat()}


@router.post("/invoices/{action_public_id}/autogiro-withdrawal")
async def withdrawal(
    action_public_id: str, body: Withdrawal, sandbox: SandboxDep
) -> dict[str, Any]:
    """An Autogiro withdrawal on the invoice failed (or failed and is renewed tomorrow)."""
    store = sandbox.store
    invoice = store.invoice(action_public_id)
    autogiro_withdrawal(store, invoice, renewed=body.result == "renewed")
    if body.reason:
        store.outbox[-1].secondary = body.reason
    sandbox.commit()
    return {"action_public_id": invoice.public_id, "result": body.result}


@router.post("/clock/advance")
async def clock_advance(body: Advance, sandbox: SandboxDep) -> dict[str, Any]:
    """Move Billecta's clock forward; due dates pass and configured automatic steps run."""
    counts = advance_clock(sandbox.store, body.days)
    sandbox.commit()
    return {"now": sandbox.store.clock.now().isoformat(), **counts}


@router.post("/debtcollections/{action_public_id}/stage")
async def dc_stage(action_public_id: str, body: Stage, sandbox: SandboxDep) -> dict[str, Any]:
    """The case moves to another stage (e.g. ``VerdictObtained``, ``Completed``)."""
    store = sandbox.store
    case = store.debt_collection(action_public_id)
    set_dc_stage(store, case, body.stage)
    sandbox.commit()
    return dc_view(store, case)


@router.post("/debtors/{debtor_public_id}/autogiro")
async def debtor_autogiro(
    debtor_public_id: str, body: Autogiro, sandbox: SandboxDep
) -> dict[str, Any]:
    """The debtor's Autogiro mandate changes at the bank (``Failed``: approval failed)."""
    store = sandbox.store
    debtor = set_autogiro(store, debtor_public_id, body.stage)
    if body.reason:
        store.outbox[-1].secondary = body.reason
    sandbox.commit()
    return dict(debtor.view)


@router.post("/swish/{token}")
async def swish_outcome(token: str, body: SwishOutcome, sandbox: SandboxDep) -> dict[str, Any]:
    """The payer answers the Swish request: ``Paid`` registers the payment on the invoice."""
    request = settle_swish(sandbox.store, token, body.status)
    sandbox.commit()
    return swish_view(request)


# faults and latency


@router.get("/faults")
async def list_faults(sandbox: SandboxDep) -> dict[str, Any]:
    """The global latency and the fault rule of each route."""
    return sandbox.faults.describe()


@router.put("/faults/{route}")
async def set_fault(route: str, spec: FaultSpec, sandbox: SandboxDep) -> dict[str, Any]:
    """Inject a fault into one route (its route-table name) or ``*`` (every route)."""
    try:
        sandbox.faults.set(route, spec)
    except KeyError:
        raise SandboxError(404, f"{route} is not a route name (see the route table)") from None
    return sandbox.faults.describe()


@router.delete("/faults/{route}")
async def clear_fault(route: str, sandbox: SandboxDep) -> dict[str, Any]:
    """Remove one route's fault rule (hanging requests are released)."""
    sandbox.faults.clear(route)
    return sandbox.faults.describe()


@router.delete("/faults")
async def clear_faults(sandbox: SandboxDep) -> dict[str, Any]:
    """Remove every fault rule (hanging requests are released)."""
    sandbox.faults.clear()
    return sandbox.faults.describe()


@router.put("/latency")
async def set_latency(body: Latency, sandbox: SandboxDep) -> dict[str, Any]:
    """Latency added to every Billecta request."""
    sandbox.faults.latency_ms = body.latency_ms
    return sandbox.faults.describe()


# request log


@router.get("/requests")
async def requests_log(
    sandbox: SandboxDep,
    route: str | None = None,
    method: str | None = None,
    status: int | None = None,
    since: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> dict[str, Any]:
    """The Billecta requests received (method, route name, path, body, status), oldest first."""
    entries = sandbox.requests.query(
        route=route, method=method, status=status, since=since, limit=limit
    )
    return sandbox.requests.summary() | {"requests": entries}


@router.get("/requests/summary")
async def requests_summary(sandbox: SandboxDep) -> dict[str, Any]:
    """Request counts per route name and per status."""
    return sandbox.requests.summary()


@router.delete("/requests")
async def clear_requests(sandbox: SandboxDep) -> dict[str, Any]:
    """Empty the request log and its counters."""
    sandbox.requests.clear()
    return sandbox.requests.summary()


# webhooks


@router.get("/webhooks")
async def list_webhooks(
    sandbox: SandboxDep,
    status: str | None = None,
    event_type: str | None = None,
    include_body: bool = False,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> dict[str, Any]:
    """Deliveries with their status (held, pending, delivering, delivered, failed)."""
    found = [
        d.summary(include_body=include_body)
        for d in sandbox.webhooks.deliveries.values()
        if (status is None or d.status == status)
        and (event_type is None or d.event_type == event_type)
    ]
    return {"counts": sandbox.webhooks.counts(), "deliveries": found[:limit]}


@router.get("/webhooks/settings")
async def webhook_settings(sandbox: SandboxDep) -> WebhookSettings:
    """Where webhooks go and how (duplicate, delay, reorder, retries)."""
    return sandbox.webhooks.settings


@router.put("/webhooks/settings")
async def update_webhook_settings(body: SettingsPatch, sandbox: SandboxDep) -> WebhookSettings:
    """Change the given settings; setting a URL sends what was held."""
    changes = body.model_dump(exclude_unset=True)
    sandbox.webhooks.settings = sandbox.webhooks.settings.model_copy(update=changes)
    if sandbox.webhooks.settings.url:
        sandbox.webhooks.release_held()
    return sandbox.webhooks.settings


@router.post("/webhooks/flush")
async def flush_webhooks(
    sandbox: SandboxDep, wait: Annotated[float, Query(gt=0, le=600)] = 30.0
) -> JSONResponse:
    """Wait until no delivery is pending or in flight (504 when ``wait`` seconds run out)."""
    done = await sandbox.webhooks.flush(wait)
    return JSONResponse(
        {"flushed": done, "counts": sandbox.webhooks.counts()}, status_code=200 if done else 504
    )


@router.post("/webhooks/redeliver")
async def redeliver(body: Redeliver, sandbox: SandboxDep) -> dict[str, Any]:
    """Send deliveries again: the given ids, else every delivery in ``status``."""
    count = sandbox.webhooks.redeliver(body.ids, status=body.status)
    return {"redelivered": count}


@router.post("/webhooks/emit")
async def emit(body: Emit, sandbox: SandboxDep) -> dict[str, Any]:
    """Send an invoice's or debt collection's current state again as ``event_type``."""
    store = sandbox.store
    if body.public_id in store.invoices and body.event_type == "UndeliveredInvoice":
        invoice = store.invoices[body.public_id]
        status = {
            "ActionType": invoice.action_type,
            "ActionPublicId": invoice.public_id,
            "Delivered": body.delivered,
            "Reason": body.reason,
        }
        store.emit(body.event_type, invoice.creditor_id, status)
    elif body.public_id in store.invoices:
        changed(store, store.invoices[body.public_id], body.event_type)
    elif body.public_id in store.debt_collections:
        case = store.debt_collections[body.public_id]
        store.emit(body.event_type, case.creditor_id, dc_view(store, case))
    elif body.public_id in store.debtors:
        debtor = store.debtors[body.public_id]
        store.emit(body.event_type, debtor.creditor_id, dict(debtor.view))
    else:
        raise SandboxError(404, f"Nothing has the public id {body.public_id}")
    events = store.drain()
    queued = sandbox.webhooks.enqueue(events)
    return {"deliveries": [d.id for d in queued]}
