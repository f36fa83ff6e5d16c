"""Decorator behaviour of orders and order rows (enabled per limetype by SYNC_ON_CHANGE).

- order: a new order (with rows) is created in Billecta.
- orderrow: after a create, a change of a synced field, or a move to another order, the
  affected order(s) are upserted again, but only orders in `created`, `errorupsert` or
  `errorattest`; an order that was `errorattest` is upserted and attested again (attesting
  locks and sends the invoice, so no other order is attested by a row change).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.lime.hooks import UpsertContext
from billecta_gateway.lime.mappings import field_mappings_for
from billecta_gateway.models import Order, OrderRow
from billecta_gateway.orders.tasks import UPSERT_ATTEST_ORDER, UPSERT_ORDER
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import enqueue_on_change

RESYNCED_STATUSES = frozenset({"created", "errorupsert", "errorattest"})
# Row properties that shape the invoice whatever the mapping says.
ROW_PROPERTIES = frozenset({"order", "article", "rowtype", "position", "description"})


async def resync_orders(
    session: AsyncSession, jobs: AfterCommit, order_ids: Iterable[int | None]
) -> None:
    """Queue the re-upsert (or upsert-and-attest) of orders whose status allows it."""
    for order_id in sorted({i for i in order_ids if i is not None}):
        status = await session.scalar(select(Order.orderstatus).where(Order.id == order_id))
        status = status or "created"
        if status not in RESYNCED_STATUSES:
            continue
        kind = UPSERT_ATTEST_ORDER if status == "errorattest" else UPSERT_ORDER
        await enqueue_on_change(session, jobs, kind=kind, object_id=order_id)


async def create_new_order_in_billecta(ctx: UpsertContext) -> None:
    """Create a new order in Billecta (once it has rows; its rows trigger it otherwise)."""
    order = ctx.obj
    assert isinstance(order, Order)
    if not ctx.created or (order.orderstatus or "created") != "created":
        return
    has_rows = await ctx.session.scalar(select(exists().where(OrderRow.order == order.id)))
    if has_rows:
        await enqueue_on_change(ctx.session, ctx.jobs, kind=UPSERT_ORDER, object_id=order.id)


async def resync_orders_of_row(ctx: UpsertContext) -> None:
    """Upsert again the order(s) of a created, changed or moved order row."""
    row = ctx.obj
    assert isinstance(row, OrderRow)
    synced = field_mappings_for(ctx.settings, ctx.schema).mapped_properties("orderrow")
    if not ctx.created and not ctx.changed & (synced | ROW_PROPERTIES):
        return
    orders = [row.order]
    if "order" in ctx.changed:
        orders.append(ctx.previous.get("order"))
    await resync_orders(ctx.session, ctx.jobs, orders)
