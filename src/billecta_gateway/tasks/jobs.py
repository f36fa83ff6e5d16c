"""The arq functions and crons of the task contract, for worker.py to register.

`task_functions(settings)` holds the fan-out job, the re-drive job and every per-object job
with the timeout and `max_tries` of its kind (the runner relies on them matching);
`TASK_CRON_JOBS` runs the re-drive every minute.
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from billecta_gateway.articles import tasks as articles
from billecta_gateway.config import Settings
from billecta_gateway.creditors import tasks as creditors
from billecta_gateway.debtors import tasks as debtors
from billecta_gateway.invoices import credit
from billecta_gateway.orders import tasks as orders
from billecta_gateway.tasks.contract import FAN_OUT_JOB, TaskKind
from billecta_gateway.tasks.fanout import (
    FAN_OUT_TIMEOUT,
    FAN_OUT_TRIES,
    fan_out_task,
    redrive_task_logs,
)

REDRIVE_TIMEOUT = 120


def worker_function(coroutine: Any, kind: TaskKind, settings: Settings | None = None) -> Function:
    """A per-object job registered under its kind's name, timeout and tries."""
    timeout = kind.timeout if settings is None else kind.timeout_for(settings)
    return func(coroutine, name=kind.job, timeout=timeout, max_tries=kind.max_tries)


OBJECT_JOBS: list[tuple[Any, TaskKind]] = [
    (articles.upsert_article, articles.UPSERT_ARTICLE),
    (articles.delete_article, articles.DELETE_ARTICLE),
    (creditors.update_creditor, creditors.UPDATE_CREDITOR),
    (debtors.upsert_debtor, debtors.UPSERT_DEBTOR),
    (debtors.anonymize_debtor, debtors.ANONYMIZE_DEBTOR),
    (credit.credit_invoice, credit.CREDIT_INVOICE),
    (orders.upsert_order, orders.UPSERT_ORDER),
    (orders.attest_order, orders.ATTEST_ORDER),
    (orders.upsert_attest_order, orders.UPSERT_ATTEST_ORDER),
    (orders.delete_order, orders.DELETE_ORDER),
]


def task_functions(settings: Settings | None = None) -> list[Function | WorkerCoroutine]:
    """The fan-out, the re-drive and every per-object job, timed for these settings."""
    return [
        func(fan_out_task, name=FAN_OUT_JOB, timeout=FAN_OUT_TIMEOUT, max_tries=FAN_OUT_TRIES),  # type: ignore[arg-type]
        func(redrive_task_logs, timeout=REDRIVE_TIMEOUT, max_tries=1),  # type: ignore[arg-type]
        *(worker_function(job, kind, settings) for job, kind in OBJECT_JOBS),
    ]


TASK_FUNCTIONS = task_functions()

TASK_CRON_JOBS = [
    # Every minute: a dead worker's jobs are re-driven once running past their timeout, so a
    # batch closes within minutes of a crash.
    cron(
        redrive_task_logs,  # type: ignore[arg-type]
        name="cron:redrive_task_logs",
        second=20,
        timeout=REDRIVE_TIMEOUT,
        unique=True,
    ),
]
