"""Lookups and small helpers the event handlers share: objects by Billecta id, locks, writes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta.schemas import BillectaAmount
from billecta_gateway.invoices.state import DELIVERY_METHOD_FROM_BILLECTA
from billecta_gateway.models import (
    Creditor,
    CreditorDebtor,
    Invoice,
    LimeObject,
    Order,
)
from billecta_gateway.webhooks.registry import HandlerContext, NotReady

M = TypeVar("M", bound=LimeObject)

# The advisory-lock namespace under which handlers serialise get-or-create by a Billecta id.
_LOCK_NAMESPACE = "billecta_webhook_object"


async def lock(session: AsyncSession, kind: str, key: str) -> None:
    """Serialise, until commit, the transactions that get-or-create the object `kind`/`key`.

    Concurrent deliveries about one object then never insert it twice: the second waits, and
    its next SELECT (READ COMMITTED) sees the first one's row.
    """
    await session.execute(
        select(
            func.pg_advisory_xact_lock(
                func.hashtext(_LOCK_NAMESPACE), func.hashtext(f"{kind}|{key}")
            )
        )
    )


async def by_column(session: AsyncSession, model: type[M], column: str, value: str) -> M | None:
    """The object whose unique Billecta id column `column` is `value`."""
    stmt = select(model).where(getattr(model, column) == value).limit(1)
    return (await session.scalars(stmt)).first()


async def creditor_by_public_id(session: AsyncSession, public_id: str | None) -> Creditor | None:
    if not public_id:
        return None
    return await by_column(session, Creditor, "creditorpublicid", public_id)


async def require_creditor(ctx: HandlerContext, public_id: str | None) -> Creditor:
    """The mirrored creditor with this Billecta id; NotReady while Lime has not pushed it."""
    public_id = public_id or ctx.creditor_public_id
    if not public_id:
        raise NotReady("The event names no creditor (CreditorPublicId)")
    creditor = await creditor_by_public_id(ctx.session, public_id)
    if creditor is None:
        raise NotReady(f"Creditor {public_id} is not known to the gateway yet")
    return creditor


async def creditordebtor_by_public_id(
    session: AsyncSession, debtor_public_id: str | None
) -> CreditorDebtor | None:
    if not debtor_public_id:
        return None
    return await by_column(session, CreditorDebtor, "debtorpublicid", debtor_public_id)


async def invoice_by_action(session: AsyncSession, action_public_id: str | None) -> Invoice | None:
    if not action_public_id:
        return None
    return await by_column(session, Invoice, "actionpublicid", action_public_id)


async def invoice_by_ocr(
    session: AsyncSession, ocr: str | None, *, creditor_id: int | None
) -> Invoice | None:
    """The invoice with this OCR (of this creditor when known); None when absent or ambiguous."""
    if not ocr:
        return None
    stmt = select(Invoice).where(Invoice.ocr == ocr, Invoice.is_reminder_invoice.is_(False))
    if creditor_id is not None:
        stmt = stmt.where(Invoice.creditor == creditor_id)
    found = list((await session.scalars(stmt.limit(2))).all())
    return found[0] if len(found) == 1 else None


async def require_invoice(
    ctx: HandlerContext, action_public_id: str | None, *, ocr: str | None = None
) -> Invoice:
    """The invoice by ActionPublicId, else by OCR; NotReady while it is not mirrored yet."""
    invoice = await invoice_by_action(ctx.session, action_public_id)
    if invoice is None and ocr:
        creditor = await creditor_by_public_id(ctx.session, ctx.creditor_public_id)
        invoice = await invoice_by_ocr(
            ctx.session, ocr, creditor_id=creditor.id if creditor else None
        )
    if invoice is None:
        what = f"Invoice {action_public_id}" if action_public_id else f"The invoice with OCR {ocr}"
        raise NotReady(f"{what} is not known to the gateway yet")
    return invoice


async def order_by_action(session: AsyncSession, action_public_id: str | None) -> Order | None:
    if not action_public_id:
        return None
    return await by_column(session, Order, "actionpublicid", action_public_id)


def is_older(applied_at: datetime | None, created: datetime) -> bool:
    """True when state from a newer event is already applied (so this one must change nothing)."""
    return applied_at is not None and applied_at > created


def _column_length(model: type[LimeObject], name: str) -> int | None:
    column = model.__table__.columns.get(name)
    if column is not None and isinstance(column.type, String):
        return column.type.length
    return None


def assign(obj: LimeObject, values: dict[str, Any]) -> bool:
    """Set the attributes whose value differs (strings clipped to their column); True if any did.

    Writing only real differences keeps a replayed event from producing a change in the feed.
    """
    changed = False
    for name, value in values.items():
        if isinstance(value, str):
            length = _column_length(type(obj), name)
            if length is not None:
                value = value[:length]
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def clipped(model: type[LimeObject], values: dict[str, Any]) -> dict[str, Any]:
    """Values for a new row, strings clipped to their column."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        length = _column_length(model, name) if isinstance(value, str) else None
        out[name] = value[:length] if isinstance(value, str) and length else value
    return out


def money(amount: BillectaAmount | None) -> Decimal | None:
    """An AmountView in major units, exact."""
    return amount.to_decimal() if amount is not None else None


def currency(*amounts: BillectaAmount | None) -> str | None:
    for amount in amounts:
        if amount is not None and amount.currency_code:
            return amount.currency_code[:3].upper()
    return None


def delivery_method(value: str | None) -> str | None:
    """Billecta's delivery method name as the Lime option key (None when it has none)."""
    return DELIVERY_METHOD_FROM_BILLECTA.get(value) if value else None


def text_of(value: Any) -> str | None:
    """An AdditionalData (or similar) value as a message: strings as they are, else None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, dict):
        for key in ("Message", "Reason", "ErrorMessage", "Description"):
            inner = value.get(key)
            if isinstance(inner, str) and inner.strip():
                return inner.strip()
    return None
