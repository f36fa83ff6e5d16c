"""Order rows the gateway writes itself: a message row added after another row."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.db import next_gateway_id
from billecta_gateway.errors import Conflict, InvalidInput, NotFound
from billecta_gateway.lime.hooks import LOCKED_ORDER_STATUSES
from billecta_gateway.models import Order, OrderRow


async def _renumber(session: AsyncSession, rows: list[OrderRow]) -> None:
    """Positions 1..n in the current order when some are missing or repeated."""
    positions = [r.position for r in rows]
    if None not in positions and len(set(positions)) == len(positions):
        return
    for number, row in enumerate(rows, start=1):
        row.position = number
    await session.flush()


async def add_message_to_orderrow(
    session: AsyncSession, *, orderrow_id: int, description: str
) -> OrderRow:
    """Insert a message row right after an order row, moving the rows after it down by one.

    Runs in the caller's transaction: the order row lock serialises concurrent additions, so
    positions never collide. The new row gets a gateway-assigned id (Lime learns it from the
    change feed).
    """
    target = await session.get(OrderRow, orderrow_id)
    if target is None:
        raise NotFound(f"Order row {orderrow_id} not found")
    if target.order is None:
        message = f"Order row {orderrow_id} belongs to no order"
        raise InvalidInput(
            message,
            errors=[
                {
                    "loc": ["body", "orderrow_id"],
                    "field": "orderrow_id",
                    "message": message,
                    "type": "no_order",
                }
            ],
        )
    status = await session.scalar(
        select(Order.orderstatus).where(Order.id == target.order).with_for_update()
    )
    if status in LOCKED_ORDER_STATUSES:
        raise Conflict(f"Order {target.order} has status '{status}': its rows cannot be changed")
    rows = list(
        (
            await session.scalars(
                select(OrderRow)
                .where(OrderRow.order == target.order)
                .order_by(OrderRow.position.asc().nulls_last(), OrderRow.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    await _renumber(session, rows)
    assert target.position is not None
    after = target.position
    await session.execute(
        update(OrderRow)
        .where(OrderRow.order == target.order, OrderRow.position > after)
        .values(position=OrderRow.position + 1)
        .execution_options(synchronize_session=False)
    )
    row = OrderRow(
        id=await next_gateway_id(session),
        order=target.order,
        rowtype="message",
        description=description,
        position=after + 1,
        custom={},
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row
