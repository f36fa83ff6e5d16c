"""arq job of the creditor task: one job for the creditor, under its integration-monitor log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billecta_gateway.creditors import service
from billecta_gateway.tasks.contract import TaskKind, register_kind
from billecta_gateway.tasks.runner import run_object_task

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

UPDATE_CREDITOR = register_kind(
    TaskKind(
        job="update_creditor",
        task="update_creditor_in_billecta",
        limetype="creditor",
        title="Update creditor in Billecta",
        handler=service.update_creditor,
        on_failure=service.record_creditor_failure,
        timeout=90,
        max_tries=5,
        follow_up=True,
    )
)


async def update_creditor(ctx: WorkerContext, log_id: int, creditor_id: int) -> str:
    """Validate a creditor in Billecta, fetch its settings and send the creditor's updates.

    Idempotent: both updates are read-modify-write of the whole Billecta object.
    """
    return await run_object_task(ctx, UPDATE_CREDITOR, log_id, creditor_id)
