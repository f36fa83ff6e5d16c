"""The arq functions and crons of the task contract, for worker.py to register.

`TASK_FUNCTIONS` holds the fan-out job, the re-drive job and every per-object job with the
timeout and `max_tries` of its kind (the runner relies on them matching); `TASK_CRON_JOBS`
runs the re-drive every five minutes.
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from billecta_gateway.articles import tasks as articles
from billecta_gateway.creditors import tasks as creditors
from billecta_gateway.debtors import tasks as debtors
from billecta_gateway.invoices import credit
from billecta_gateway.orders import tasks as orders
from billecta_gateway.tasks.contract import FAN_OUT_JOB, TaskKind
from billecta_gateway.tasks.fanout import FAN_OUT_TRIES, fan_out_task, redrive_task_logs

FAN_OUT_TIMEOUT = 300
REDRIVE_TIMEOUT = 120


def worker_function(coroutine: Any, kind: TaskKind) -> Function:
    """A per-object job registered under its kind's name, timeout and tries."""
    return func(coroutine, name=kind.job, timeout=kind.timeout, max_tries=kind.max_tries)


TASK_FUNCTIONS: list[Function | WorkerCoroutine] = [
    func(fan_out_task, name=FAN_OUT_JOB, timeout=FAN_OUT_TIMEOUT, max_tries=FAN_OUT_TRIES),  # type: ignore[arg-type]
    func(redrive_task_logs, timeout=REDRIVE_TIMEOUT, max_tries=1),  # type: ignore[arg-type]
    worker_function(articles.upsert_article, articles.UPSERT_ARTICLE),
    worker_function(articles.delete_article, articles.DELETE_ARTICLE),
    worker_function(creditors.update_creditor, creditors.UPDATE_CREDITOR),
    worker_function(debtors.upsert_debtor, debtors.UPSERT_DEBTOR),
    worker_function(debtors.anonymize_debtor, debtors.ANONYMIZE_DEBTOR),
    worker_function(credit.credit_invoice, credit.CREDIT_INVOICE),
    worker_function(orders.upsert_order, orders.UPSERT_ORDER),
    worker_function(orders.attest_order, orders.ATTEST_ORDER),
    worker_function(orders.upsert_attest_order, orders.UPSERT_ATTEST_ORDER),
    worker_function(orders.delete_order, orders.DELETE_ORDER),
]

TASK_CRON_JOBS = [
    cron(
        redrive_task_logs,  # type: ignore[arg-type]
        name="cron:redrive_task_logs",
        minute=set(range(2, 60, 5)),
        timeout=REDRIVE_TIMEOUT,
        unique=True,
    ),
]
