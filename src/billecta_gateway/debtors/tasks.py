"""arq jobs of the debtor tasks: one job per debtor, run under its integration-monitor log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billecta_gateway.debtors import service
from billecta_gateway.tasks.contract import TaskKind, register_kind
from billecta_gateway.tasks.runner import run_object_task

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

UPSERT_DEBTOR = register_kind(
    TaskKind(
        job="upsert_debtor",
        task="upsert_debtors_in_billecta",
        limetype="debtor",
        title="Upsert debtors in Billecta",
        handler=service.upsert_debtor,
        on_failure=service.record_debtor_failure,
        timeout=90,
        max_tries=5,
        follow_up=True,
        lock=service.LOCK,
    )
)

ANONYMIZE_DEBTOR = register_kind(
    TaskKind(
        job="anonymize_debtor",
        task="anonymize_debtors_in_billecta",
        limetype="debtor",
        title="Anonymize debtors in Billecta",
        handler=service.anonymize_debtor,
        on_failure=service.record_debtor_failure,
        timeout=90,
        max_tries=5,
        lock=service.LOCK,
    )
)


async def upsert_debtor(ctx: WorkerContext, log_id: int, debtor_id: int) -> str:
    """Create or update one debtor in Billecta, once per creditor relation.

    Idempotent: the debtor is looked up by its DebtorExternalId before it is created.
    """
    return await run_object_task(ctx, UPSERT_DEBTOR, log_id, debtor_id)


async def anonymize_debtor(ctx: WorkerContext, log_id: int, debtor_id: int) -> str:
    """Anonymize one debtor in Billecta (relations with a debtorpublicid) and in the mirror."""
    return await run_object_task(ctx, ANONYMIZE_DEBTOR, log_id, debtor_id)
