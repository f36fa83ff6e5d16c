"""arq jobs of the order tasks: one job per order, run under its integration-monitor log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

from billecta_gateway.models import Order
from billecta_gateway.orders import service
from billecta_gateway.tasks.contract import Handler, Outcome, TaskContext, TaskKind, register_kind
from billecta_gateway.tasks.runner import run_object_task

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

# An order job may create its debtor and products first: a little more time than the others.
ORDER_TIMEOUT = 120
# Statuses in which the order's draft in Billecta holds what the last upsert sent.
UPSERTED = frozenset({"upserted", "attested", "errorattest"})


def recording_upsert(handler: Handler) -> Handler:
    """`handler`, then, when it left the draft upserted, the order's sync_counter it started
    from written as `upserted_counter`: what the draft in Billecta reflects."""

    async def upsert(run: TaskContext, order_id: int) -> Outcome:
        outcome = await handler(run, order_id)
        if run.counter is not None:
            await run.session.execute(
                update(Order)
                .where(Order.id == order_id, Order.orderstatus.in_(UPSERTED))
                .values(upserted_counter=run.counter)
                .execution_options(synchronize_session=False)
            )
        return outcome

    return upsert


upsert_order_handler = recording_upsert(service.upsert_order)
upsert_attest_order_handler = recording_upsert(service.upsert_attest_order)


async def attest_order_handler(run: TaskContext, order_id: int) -> Outcome:
    """Attest an order, upserting it first when the order or its rows changed since its last
    upsert (attest would otherwise book the stale draft)."""
    row = (
        await run.session.execute(
            select(Order.orderstatus, Order.sync_counter, Order.upserted_counter).where(
                Order.id == order_id
            )
        )
    ).first()
    stale = (
        row is not None
        and row.orderstatus in ("upserted", "errorattest")
        and row.upserted_counter is not None
        and row.upserted_counter != row.sync_counter
    )
    if stale:
        return await upsert_attest_order_handler(run, order_id)
    return await service.attest_order(run, order_id)


UPSERT_ORDER = register_kind(
    TaskKind(
        job="upsert_order",
        task="upsert_orders_in_billecta",
        limetype="order",
        title="Upsert orders in Billecta",
        handler=upsert_order_handler,
        on_failure=service.record_upsert_failure,
        timeout=ORDER_TIMEOUT,
        max_tries=5,
        follow_up=True,
        lock=service.LOCK,
    )
)

ATTEST_ORDER = register_kind(
    TaskKind(
        job="attest_order",
        task="attest_orders_in_billecta",
        limetype="order",
        title="Attest orders in Billecta",
        handler=attest_order_handler,
        on_failure=service.record_attest_failure,
        timeout=ORDER_TIMEOUT,
        max_tries=5,
        lock=service.LOCK,
    )
)

UPSERT_ATTEST_ORDER = register_kind(
    TaskKind(
        job="upsert_attest_order",
        task="upsert_attest_orders_in_billecta",
        limetype="order",
        title="Upsert & attest orders in Billecta",
        handler=upsert_attest_order_handler,
        on_failure=service.record_upsert_failure,
        timeout=ORDER_TIMEOUT,
        max_tries=5,
        lock=service.LOCK,
    )
)

DELETE_ORDER = register_kind(
    TaskKind(
        job="delete_order",
        task="delete_orders_in_billecta",
        limetype="order",
        title="Delete orders in Billecta",
        handler=service.delete_order,
        on_failure=service.record_delete_failure,
        timeout=ORDER_TIMEOUT,
        max_tries=5,
        lock=service.LOCK,
    )
)


async def upsert_order(ctx: WorkerContext, log_id: int, order_id: int) -> str:
    """Verify one order and create or update it in Billecta (un-attested).

    Idempotent: the action is looked up by its ExternalReference before it is created.
    """
    return await run_object_task(ctx, UPSERT_ORDER, log_id, order_id)


async def attest_order(ctx: WorkerContext, log_id: int, order_id: int) -> str:
    """Attest one upserted order in Billecta (an attested order counts as done)."""
    return await run_object_task(ctx, ATTEST_ORDER, log_id, order_id)


async def upsert_attest_order(ctx: WorkerContext, log_id: int, order_id: int) -> str:
    """Upsert one order in Billecta, then attest it."""
    return await run_object_task(ctx, UPSERT_ATTEST_ORDER, log_id, order_id)


async def delete_order(ctx: WorkerContext, log_id: int, order_id: int) -> str:
    """Delete one order's un-attested invoice action in Billecta and clear `actionpublicid`."""
    return await run_object_task(ctx, DELETE_ORDER, log_id, order_id)
