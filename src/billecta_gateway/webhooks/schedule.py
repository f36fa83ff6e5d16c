"""The arq functions and crons of the webhooks and the scheduled jobs, for `worker.py` to list.

All schedules are UTC (the worker's time zone). Timeouts are short and explicit, except the
per-creditor reconciliation and backfill, which read a creditor's invoices and payments: they,
and the nightly maintenance jobs, run on the long-job worker (`LONG_FUNCTIONS`,
`LONG_CRON_JOBS`), so the object worker's in-progress keys outlive a crash only briefly.
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.worker import Function, func

from billecta_gateway.scheduled.expire import set_invoices_as_expired
from billecta_gateway.webhooks.tasks import (
    BACKFILL_KIND,
    RETRIGGER_KIND,
    backfill_creditor_from_billecta,
    enqueue_webhook_events,
    process_webhook_event,
    prune_webhook_events,
    retrigger_failed_webhook_events,
    retrigger_failed_webhook_events_for_creditor,
)

PROCESS_TIMEOUT = 60
INBOX_TIMEOUT = 60
PRUNE_TIMEOUT = 600
RETRIGGER_TIMEOUT = 120
EXPIRE_TIMEOUT = 600


def _f(job: Any, **options: Any) -> Function:
    return func(job, **options)


WEBHOOK_FUNCTIONS: list[Function] = [
    # A failed result is kept only briefly, so the inbox cron can re-drive the same attempt.
    _f(process_webhook_event, timeout=PROCESS_TIMEOUT, keep_result=60),
    _f(enqueue_webhook_events, timeout=INBOX_TIMEOUT),
    _f(retrigger_failed_webhook_events, timeout=RETRIGGER_TIMEOUT),
]

LONG_FUNCTIONS: list[Function] = [
    _f(prune_webhook_events, timeout=PRUNE_TIMEOUT),
    _f(
        retrigger_failed_webhook_events_for_creditor,
        timeout=RETRIGGER_KIND.timeout,
        max_tries=RETRIGGER_KIND.max_tries,
    ),
    _f(
        backfill_creditor_from_billecta,
        timeout=BACKFILL_KIND.timeout,
        max_tries=BACKFILL_KIND.max_tries,
    ),
    _f(set_invoices_as_expired, timeout=EXPIRE_TIMEOUT),
]

WEBHOOK_CRON_JOBS: list[CronJob] = [
    # The inbox: due retries and events never enqueued, every minute.
    cron(
        enqueue_webhook_events,  # type: ignore[arg-type]
        name="cron:enqueue_webhook_events",
        second=0,
        timeout=INBOX_TIMEOUT,
        unique=True,
    ),
    # The spec's nightly re-trigger of failed webhooks, plus reconciliation: 03:00 UTC.
    cron(
        retrigger_failed_webhook_events,  # type: ignore[arg-type]
        name="cron:retrigger_failed_webhook_events",
        hour={3},
        minute={0},
        timeout=RETRIGGER_TIMEOUT,
        unique=True,
    ),
]

LONG_CRON_JOBS: list[CronJob] = [
    # Nightly, after midnight in Stockholm in both summer and winter time.
    cron(
        set_invoices_as_expired,  # type: ignore[arg-type]
        name="cron:set_invoices_as_expired",
        hour={0},
        minute={30},
        timeout=EXPIRE_TIMEOUT,
        unique=True,
    ),
    cron(
        prune_webhook_events,  # type: ignore[arg-type]
        name="cron:prune_webhook_events",
        hour={4},
        minute={30},
        timeout=PRUNE_TIMEOUT,
        unique=True,
    ),
]
