"""arq jobs of the order tasks: one job per order, run under its integration-monitor log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billecta_gateway.orders import service
from billecta_gateway.tasks.contract import TaskKind, register_kind
from billecta_gateway.tasks.runner import run_object_task

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

# An order job may create its debtor and products first: a little more time than the others.
ORDER_TIMEOUT = 120

UPSERT_ORDER = register_kind(
    TaskKind(
        job="upsert_order",
        task="upsert_orders_in_billecta",
        limetype="order",
        title="Upsert orders in Billecta",
        handler=service.upsert_order,
        on_failure=service.record_upsert_failure,
        timeout=ORDER_TIMEOUT,
        max_tries=5,
    )
)

ATTEST_ORDER = register_kind(
    TaskKind(
        job="attest_order",
        task="attest_orders_in_billecta",
        limetype="order",
        title="Attest orders in Billecta",
        handler=service.attest_order,
        on_failure=service.record_attest_failure,
        timeout=ORDER_TIMEOUT,
        max_tries=5,
    )
)

UPSERT_ATTEST_ORDER = register_kind(
    TaskKind(
        job="upsert_attest_order",
        task="upsert_attest_orders_in_billecta",
        limetype="order",
        title="Upsert & attest orders in Billecta",
        handler=service.upsert_attest_order,
        on_failure=service.record_upsert_failure,
        timeout=ORDER_TIMEOUT,
        max_tries=5,
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
