"""Decorator behaviour of orders and order rows (enabled per limetype by SYNC_ON_CHANGE).

- order: a new order (with rows) is created in Billecta; a change of a field the order mapping
  reads (or of its creditor, debtor, dates) upserts the draft again.
- orderrow: after a create, a change of a synced field, a move to another order, or a delete,
  the affected order(s) are upserted again.

Only orders whose Billecta draft may still change are upserted again: `created`, `upserted`,
`errorupsert`, `errorattest` and `processing` (the new job waits behind the running one on the
order's lock). The spec's orderrow decorator lists `created`/`errorupsert`/`errorattest` only;
`upserted` did not exist there, and without it a row added after the first upsert would never
reach the invoice. An order that was `errorattest` is upserted and attested again (attesting
locks and sends the invoice, so no other order is attested by a row change).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.lime.hooks import DeleteContext, UpsertContext
from billecta_gateway.lime.mappings import field_mappings_for
from billecta_gateway.models import Order, OrderRow
from billecta_gateway.orders.tasks import UPSERT_ATTEST_ORDER, UPSERT_ORDER
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import enqueue_on_change

RESYNCED_STATUSES = frozenset({"created", "upserted", "errorupsert", "errorattest", "processing"})
# Row properties that shape the invoice whatever the mapping says.
ROW_PROPERTIES = frozenset({"order", "article", "rowtype", "position", "description"})
# Order properties that shape the invoice whatever the mapping says.
ORDER_PROPERTIES = frozenset({"creditor", "debtor", "invoicedate", "duedate", "currency"})


async def resync_orders(
    session: AsyncSession, jobs: AfterCommit, order_ids: Iterable[int | None]
) -> None:
    """Queue the re-upsert (or upsert-and-attest) of orders whose status allows it.

    Row changes move their order's sync_counter, so a running job of the order queues its
    own follow-up (`counted`).
    """
    for order_id in sorted({i for i in order_ids if i is not None}):
        status = await session.scalar(select(Order.orderstatus).where(Order.id == order_id))
        status = status or "created"
        if status not in RESYNCED_STATUSES:
            continue
        kind = UPSERT_ATTEST_ORDER if status == "errorattest" else UPSERT_ORDER
        await enqueue_on_change(session, jobs, kind=kind, object_id=order_id, counted=True)


async def upsert_changed_order(ctx: UpsertContext) -> None:
    """Create a new order in Billecta (once it has rows; its rows trigger it otherwise), and
    upsert an order again when a field its invoice is built from changed."""
    order = ctx.obj
    assert isinstance(order, Order)
    if not ctx.created:
        synced = field_mappings_for(ctx.settings, ctx.schema).mapped_properties("order")
        if ctx.changed & (synced | ORDER_PROPERTIES):
            await resync_orders(ctx.session, ctx.jobs, [order.id])
        return
    if (order.orderstatus or "created") != "created":
        return
    has_rows = await ctx.session.scalar(select(exists().where(OrderRow.order == order.id)))
    if has_rows:
        await enqueue_on_change(
            ctx.session, ctx.jobs, kind=UPSERT_ORDER, object_id=order.id, counted=True
        )


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


async def resync_order_of_deleted_row(ctx: DeleteContext) -> None:
    """Upsert again the order of a deleted order row (when order rows sync on change).

    Runs after the delete guard, which refuses deleting rows of orders Billecta has locked.
    """
    row = ctx.obj
    assert isinstance(row, OrderRow)
    if "orderrow" in ctx.settings.sync_on_change:
        await resync_orders(ctx.session, ctx.jobs, [row.order])
