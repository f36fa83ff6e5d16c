"""Refresh an invoice from Billecta (the spec's UpdateInvoiceWithBillectaDataHandler) and its job.

The refresh reads the invoice action from Billecta and writes it through the one state mapping
(:mod:`billecta_gateway.invoices.state`). It is idempotent: running it twice writes the same
state. The invoice row is locked only after Billecta answered, so no lock is held during the call.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta.errors import BillectaApiRequestException
from billecta_gateway.billecta.schemas import BillectaInvoiceAction
from billecta_gateway.config import Settings
from billecta_gateway.errors import NotFound
from billecta_gateway.invoices import outcomes
from billecta_gateway.invoices.operations import find_by, load
from billecta_gateway.invoices.state import apply_invoice_state, invoice_state
from billecta_gateway.models import Invoice, Order

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

logger = logging.getLogger("billecta_gateway.invoices")

REFRESH_JOB = "update_invoice_in_lime_with_billecta_invoice_data"
REFRESH_MAX_TRIES = 6
REFRESH_TIMEOUT_SECONDS = 60
_RETRY_BASE_SECONDS = 10
_RETRY_MAX_SECONDS = 900


class InvoiceNotInBillecta(NotFound):
    """The invoice does not exist, or has no ``actionpublicid``."""


def _set(obj: Any, values: dict[str, Any]) -> bool:
    """Set the attributes whose value differs; True if any did (no change, no feed entry)."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


async def settle_related(session: AsyncSession, invoice: Invoice) -> list[tuple[str, int]]:
    """What an invoice's state means for the objects around it; the (limetype, id) touched.

    The invoice fills its gaps (debtor, contract, creditor, period) from its order; a paid
    invoice completes its order; a credit note (not cancelled) makes its original and the
    original's order `credited`. Idempotent, and applied wherever Billecta's view of an invoice
    is written (webhook or refresh), so the order follows whichever of the two comes first.
    """
    touched: list[tuple[str, int]] = []
    if invoice.order is not None:
        order = await session.get(Order, invoice.order)
        if order is not None:
            gaps = {
                name: getattr(order, name)
                for name in ("debtor", "contract", "period_start", "period_end", "creditor")
                if getattr(invoice, name) is None and getattr(order, name) is not None
            }
            _set(invoice, gaps)
            if invoice.invoicestatus == "paid" and order.orderstatus != "completed":
                _set(order, {"orderstatus": "completed"})
            touched.append(("order", order.id))
    if invoice.credited_invoice is not None and invoice.invoicestatus != "cancelled":
        original = await session.get(Invoice, invoice.credited_invoice)
        if original is not None:
            _set(
                original,
                {
                    "invoicestatus": "credited",
                    "credit_invoice_actionpublicid": original.credit_invoice_actionpublicid
                    or invoice.actionpublicid,
                },
            )
            touched.append(("invoice", original.id))
            if original.order is not None:
                original_order = await session.get(Order, original.order)
                if original_order is not None:
                    _set(original_order, {"orderstatus": "credited"})
                    touched.append(("order", original_order.id))
    return touched


async def apply_billecta_invoice(
    session: AsyncSession,
    invoice: Invoice,
    action: BillectaInvoiceAction,
    *,
    settings: Settings,
    observed_at: datetime,
) -> list[str]:
    """Write Billecta's view of ``invoice`` through the state mapping; the changed columns.

    Also links the invoice to its order (same ``actionpublicid``) and a credit note to the
    invoice it credits when they are mirrored, and moves ``billecta_event_at`` forward to
    ``observed_at`` so an older webhook event does not overwrite this newer state. The objects
    around the invoice follow with :func:`settle_related`, which the caller runs.
    """
    tz = settings.timezone
    state = invoice_state(action, today=datetime.now(tz).date(), tz=tz)
    changed = apply_invoice_state(invoice, state)
    if invoice.order is None and invoice.actionpublicid:
        order = await find_by(session, Order, Order.actionpublicid, invoice.actionpublicid)
        if order is not None:
            invoice.order = order.id
            changed.append("order")
    if state.credited_source_public_id and invoice.credited_invoice is None:
        original = await find_by(
            session, Invoice, Invoice.actionpublicid, state.credited_source_public_id
        )
        if original is not None and original.id != invoice.id:
            invoice.credited_invoice = original.id
            changed.append("credited_invoice")
    if invoice.billecta_event_at is None or invoice.billecta_event_at < observed_at:
        invoice.billecta_event_at = observed_at
    return changed


async def refresh_loaded_invoice(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    invoice: Invoice,
    settings: Settings,
    record_error: bool = True,
) -> Invoice:
    """Refresh an invoice already loaded in ``session`` (see :func:`refresh_invoice`)."""
    if not invoice.actionpublicid:
        raise InvoiceNotInBillecta(
            f"Invoice {invoice.id} has no actionpublicid: it is not in Billecta"
        )
    observed_at = datetime.now(UTC)
    try:
        action = await billecta.get_invoice_action(invoice.actionpublicid)
    except BillectaApiRequestException as exc:
        if record_error:
            invoice.billecta_error_message = (
                f"Could not read the invoice from Billecta: {exc.message}"
            )
        raise
    # Lock the row only now, so no lock is held while Billecta answers; pending changes are
    # flushed first so the locking re-read does not discard them.
    await session.flush()
    locked = await session.get(Invoice, invoice.id, with_for_update=True, populate_existing=True)
    if locked is None:
        raise InvoiceNotInBillecta(f"Invoice {invoice.id} not found")
    changed = await apply_billecta_invoice(
        session, locked, action, settings=settings, observed_at=observed_at
    )
    await settle_related(session, locked)
    # Billecta's state is now known: operations whose outcome was uncertain are settled.
    texts = [t for e in action.events or [] for t in (e.title, e.content, e.reference)]
    await outcomes.settle_uncertain(
        session,
        limetype="invoice",
        object_id=locked.id,
        by="refresh",
        seen=outcomes.references_in(texts),
    )
    if record_error:
        locked.billecta_error_message = None
    await session.flush()
    logger.info(
        "invoice %s refreshed from Billecta (%s)", locked.id, ", ".join(changed) or "unchanged"
    )
    return locked


async def refresh_invoice(
    session: AsyncSession, *, billecta: BillectaClient, invoice_id: int, settings: Settings
) -> Invoice:
    """Fetch the invoice from Billecta and update the mirror (status, amounts, dates, flags).

    Raises :class:`InvoiceNotInBillecta` when the invoice is missing or has no Billecta id, and
    Billecta's exception (after writing it to ``billecta_error_message``) when the call fails.
    """
    invoice = await load(session, Invoice, invoice_id)
    if invoice is None:
        raise InvoiceNotInBillecta(f"Invoice {invoice_id} not found")
    return await refresh_loaded_invoice(
        session, billecta=billecta, invoice=invoice, settings=settings
    )


def retry_delay(job_try: int, retry_after: float | None) -> float:
    """Seconds before the next try: Billecta's Retry-After, else exponential backoff."""
    if retry_after is not None:
        return min(max(retry_after, 1.0), float(_RETRY_MAX_SECONDS))
    return float(min(_RETRY_BASE_SECONDS * 2 ** max(job_try - 1, 0), _RETRY_MAX_SECONDS))


async def update_invoice_in_lime_with_billecta_invoice_data(
    ctx: WorkerContext, invoice_id: int
) -> dict[str, Any]:
    """Refresh one invoice from Billecta (after payment webhooks and invoice operations).

    Idempotent. Transient Billecta failures are retried with backoff; a permanent failure, or
    the last try, is recorded on the invoice's ``billecta_error_message``.
    """
    job_try = ctx.get("job_try", 1)
    async with ctx["sessionmaker"]() as session:
        try:
            invoice = await refresh_invoice(
                session, billecta=ctx["billecta"], invoice_id=invoice_id, settings=ctx["settings"]
            )
        except InvoiceNotInBillecta as exc:
            await session.rollback()
            logger.info("invoice refresh skipped: %s", exc.message)
            return {"invoice_id": invoice_id, "status": "skipped", "message": exc.message}
        except BillectaApiRequestException as exc:
            if exc.retryable and job_try < REFRESH_MAX_TRIES:
                await session.rollback()
                raise Retry(defer=retry_delay(job_try, exc.retry_after)) from exc
            await session.commit()
            logger.warning("invoice %s refresh failed: %s", invoice_id, exc.message)
            return {"invoice_id": invoice_id, "status": "error", "message": exc.message}
        await session.commit()
    return {"invoice_id": invoice.id, "status": "ok", "invoicestatus": invoice.invoicestatus}
