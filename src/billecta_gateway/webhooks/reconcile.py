"""Reconciliation and backfill: what changed in Billecta for a creditor, applied through the
same handlers as webhooks, so an event lost beyond Billecta's 24-hour retries is recovered.

For one creditor, since a watermark (the last successful run, less an overlap) or a given time:

1. (nightly only) re-drive the creditor's inbox events received in the last 48 hours that are
   still waiting for a retry (`pending`) or gave up (`failed`): events only become `failed`
   48 hours after they arrived, so re-driving only those would find none;
2. open invoices, and invoices closed since then, whose stage or balance differs from the
   mirror (or that it lacks) are read in full and applied as `InvoiceActionStateChanged`;
3. incoming payments since then (`PUT /v1/payments/incomingpayments`) missing from the mirror
   are applied as `InvoicePaymentReceived`;
4. unhandled payments whose state differs from the mirror are applied as `UnmatchedPayment`,
   `Overpayment` or `OverpaymentMatchedToInvoice`;
5. what invoice state does not show: the debtors (data and Autogiro mandate) and the debt
   collections of the invoices and payments read above are read again and applied as
   `DebtorUpdated` (`DebtorDeleted` when Billecta no longer has the debtor) and
   `DebtCollectionActionStateChanged`; once a week (or on a backfill) every debtor and open debt
   collection of the creditor is read, so a change on an object no invoice moved is caught too.
   (Reminder invoices have no documented read route, and write-off and credit rows come only
   from their webhooks; neither is re-read.)

The nightly run (the retrigger) starts from the watermark, or from 48 hours ago for a creditor
never reconciled; a backfill starts from the `since` it is given, or reads everything.

Each finding is stored in the inbox as an event in Billecta's body (its dedupe key derived
from the event name and Data, so an unchanged finding is a duplicate next night) and processed at
once: it shows in the inbox, the Event Log and the integration monitor like a webhook, and waits
and retries like one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from arq.connections import ArqRedis
from pydantic import BaseModel
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.billecta import BillectaApiNotFoundException, BillectaClient
from billecta_gateway.billecta.schemas import BillectaInvoiceActionSub
from billecta_gateway.config import Settings
from billecta_gateway.db import session_scope
from billecta_gateway.models import Creditor, CreditorDebtor, DebtCollection, Invoice, Payment
from billecta_gateway.queue import AfterCommit
from billecta_gateway.scheduled.runs import get_watermark, set_watermark
from billecta_gateway.webhooks import inbox, service
from billecta_gateway.webhooks.envelope import (
    BILLECTA_TIMEZONE,
    ParsedEvent,
    build_envelope,
    canonical_json,
    parsed_event,
)

logger = logging.getLogger("billecta_gateway.webhooks")

# Billecta retries a delivery for 24 hours; the nightly run looks back further than that.
OVERLAP = timedelta(days=1)
REDRIVE_WINDOW = timedelta(hours=48)
# Inbox events the nightly run processes again: waiting for their next retry, or given up.
REDRIVEN_STATUSES = ("pending", "failed")
# A backfill without `since` reads everything from here on.
BACKFILL_FROM = datetime(2000, 1, 1, tzinfo=UTC)
# Listing periods are read in windows of this size, so no answer is unbounded.
PERIOD = timedelta(days=31)
_DRAFT_STAGES = frozenset({None, "", "None", "Created", "Unknown"})
# Debt collections in these stages are not re-read by the weekly sweep.
_CLOSED_COLLECTION_STAGES = ("Completed", "Cancelled")
_UNHANDLED_EVENTS = {"unmatchedpayment": "UnmatchedPayment", "overpayment": "Overpayment"}
_UNHANDLED_STATUS = {"UnmatchedPayment": "unmatched", "Overpayment": "overpayment"}


# Every debtor and open debt collection of a creditor is re-read this often.
SWEEP_EVERY = timedelta(days=7)


def sweep_name(creditorpublicid: str) -> str:
    """The `cron_run` row holding when a creditor's objects were last all re-read."""
    return f"reconcile-sweep:{creditorpublicid}"


def watermark_name(creditorpublicid: str) -> str:
    """The `cron_run` row holding a creditor's reconciliation watermark."""
    return f"reconcile:{creditorpublicid}"


@dataclass
class ReconcileSummary:
    """What one run found and what became of it."""

    redriven: int = 0
    invoices: int = 0
    payments: int = 0
    unhandled: int = 0
    debtors: int = 0
    debt_collections: int = 0
    stored: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> None:
        self.outcomes[status] = self.outcomes.get(status, 0) + 1

    @property
    def ok(self) -> bool:
        return not self.outcomes.get("failed")

    def message(self, since: datetime) -> str:
        results = ", ".join(f"{n} {s}" for s, n in sorted(self.outcomes.items())) or "none"
        return (
            f"Since {since.isoformat(timespec='seconds')}: {self.redriven} waiting or failed "
            f"event(s) re-driven; applied {self.invoices} invoice(s), {self.payments} payment(s), "
            f"{self.unhandled} unhandled payment(s), {self.debtors} debtor(s), "
            f"{self.debt_collections} debt collection(s) ({self.stored} new event(s)); "
            f"results: {results}"
        )


def billecta_day(moment: datetime) -> date:
    """The day a moment falls on in Billecta's clock (Europe/Stockholm)."""
    return moment.astimezone(BILLECTA_TIMEZONE).date()


def periods(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) in windows of at most PERIOD."""
    while start < end:
        stop = min(start + PERIOD, end)
        yield start, stop
        start = stop


def _content(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def finding(event_type: str, content: Any, *, creditorpublicid: str, now: datetime) -> ParsedEvent:
    """A reconciliation finding as an inbox event, keyed by its name and Data (not its time)."""
    digest = hashlib.sha256(canonical_json(content).encode()).hexdigest()
    body = build_envelope(event_type, content, event_date=now, creditor_public_id=creditorpublicid)
    # The key events stored by earlier versions carry, so they stay duplicates.
    return parsed_event(body, key=f"id:reconcile:{event_type}:{digest}")


class Reconciler:
    """One creditor's reconciliation run (see the module docstring)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        billecta: BillectaClient,
        settings: Settings,
        redis: ArqRedis | None,
        creditor: Creditor,
        now: datetime,
    ) -> None:
        assert creditor.creditorpublicid
        self.sessionmaker = sessionmaker
        self.billecta = billecta
        self.settings = settings
        self.redis = redis
        self.creditor_id = creditor.id
        self.cpid: str = creditor.creditorpublicid
        self.now = now
        self.summary = ReconcileSummary()
        # Debtors and debt collections of what this run read, to be read again (step 5).
        self.touched_debtors: set[str] = set()
        self.touched_collections: set[str] = set()

    async def _apply(self, event_type: str, content: Any) -> None:
        parsed = finding(event_type, content, creditorpublicid=self.cpid, now=self.now)
        async with session_scope(self.sessionmaker) as session:
            stored = await service.store_event(session, parsed)
        if stored.duplicate:
            return
        self.summary.stored += 1
        await self._process(stored.id)

    async def _process(self, event_id: int) -> None:
        async with session_scope(self.sessionmaker) as session:
            outcome = await service.process_event(
                session, event_id=event_id, now=self.now, settings=self.settings
            )
        self.summary.count(outcome.status)
        await self._flush(outcome.jobs)

    async def _flush(self, jobs: AfterCommit) -> None:
        if self.redis is not None and jobs.jobs:
            await jobs.flush(self.redis)

    async def redrive_failed(self, since: datetime) -> None:
        """Process again the creditor's events received since `since` that wait for a retry
        or failed."""
        for status in REDRIVEN_STATUSES:
            async with session_scope(self.sessionmaker) as session:
                events, _ = await inbox.replay_events(
                    session,
                    status=status,
                    since=since,
                    until=None,
                    creditorpublicid=self.cpid,
                    now=self.now,
                    limit=10_000,
                )
            for event_id, _ in events:
                self.summary.redriven += 1
                await self._process(event_id)

    async def invoices(self, since: datetime) -> None:
        """Apply the open invoices, and those closed since `since`, that the mirror lacks or
        that changed stage or balance."""
        rows: dict[str, BillectaInvoiceActionSub] = {}
        for sub in await self.billecta.get_open_invoices(self.cpid):
            if sub.action_public_id:
                rows[sub.action_public_id] = sub
        for start, stop in periods(since, self.now):
            # Billecta lists closed invoices by its own calendar days (Stockholm).
            closed = await self.billecta.get_closed_invoices(
                self.cpid, billecta_day(start), billecta_day(stop)
            )
            for sub in closed:
                if sub.action_public_id:
                    rows[sub.action_public_id] = sub
                self._touch(sub.debtor_public_id, sub.debt_collection_action_public_id)
        changed = await self._changed_invoices(list(rows.values()))
        for action_public_id in changed:
            action = await self.billecta.get_invoice_action(action_public_id)
            await self._apply("InvoiceActionStateChanged", _content(action))
            self.summary.invoices += 1
            debtor = action.debtor.debtor_public_id if action.debtor else None
            self._touch(debtor, action.debt_collection_action_public_id)

    def _touch(self, debtor_public_id: str | None, debt_collection: str | None) -> None:
        if debtor_public_id:
            self.touched_debtors.add(debtor_public_id)
        if debt_collection:
            self.touched_collections.add(debt_collection)

    async def related(self, *, sweep: bool) -> None:
        """Read again the debtors and debt collections this run touched (every one of the
        creditor's with `sweep`) and apply what the mirror does not reflect."""
        debtors, collections = set(self.touched_debtors), set(self.touched_collections)
        if sweep:
            async with self.sessionmaker() as session:
                debtors |= set(
                    await session.scalars(
                        select(CreditorDebtor.debtorpublicid).where(
                            CreditorDebtor.creditor == self.creditor_id,
                            CreditorDebtor.debtorpublicid.is_not(None),
                        )
                    )
                )
                collections |= set(
                    await session.scalars(
                        select(DebtCollection.actionpublicid).where(
                            DebtCollection.creditor == self.creditor_id,
                            DebtCollection.actionpublicid.is_not(None),
                            DebtCollection.status.not_in(_CLOSED_COLLECTION_STAGES),
                        )
                    )
                )
        for debtor_public_id in sorted(debtors):
            try:
                debtor = await self.billecta.get_debtor(debtor_public_id)
            except BillectaApiNotFoundException:
                # Billecta's DebtorDeleted sends the bare id: the same finding.
                await self._apply("DebtorDeleted", debtor_public_id)
            else:
                await self._apply("DebtorUpdated", _content(debtor))
            self.summary.debtors += 1
        for action_public_id in sorted(collections):
            case = await self.billecta.get_debt_collection_action(action_public_id)
            await self._apply("DebtCollectionActionStateChanged", _content(case))
            self.summary.debt_collections += 1

    async def _changed_invoices(self, subs: Sequence[BillectaInvoiceActionSub]) -> list[str]:
        ids = [s.action_public_id for s in subs if s.action_public_id]
        known: dict[str, tuple[str | None, Decimal | None]] = {}
        async with self.sessionmaker() as session:
            for start in range(0, len(ids), 1_000):
                result = await session.execute(
                    select(
                        Invoice.actionpublicid, Invoice.billecta_stage, Invoice.invoice_balance
                    ).where(Invoice.actionpublicid.in_(ids[start : start + 1_000]))
                )
                for apid, stage, balance in result:
                    known[str(apid)] = (stage, balance)
        changed: list[str] = []
        for sub in subs:
            apid = sub.action_public_id
            if not apid or sub.stage in _DRAFT_STAGES:
                continue
            balance = sub.current_amount.to_decimal() if sub.current_amount else None
            mirrored = known.get(apid)
            if (
                mirrored is None
                or mirrored[0] != sub.stage
                or (balance is not None and mirrored[1] != balance)
            ):
                changed.append(apid)
        return changed

    async def payments(self, since: datetime) -> None:
        """Apply the incoming payments since `since` that the mirror does not have."""
        for start, stop in periods(since, self.now):
            # By Billecta's calendar days too (Stockholm): a window's last day is included.
            found = await self.billecta.get_incoming_payments(
                self.cpid, billecta_day(start), billecta_day(stop)
            )
            keys = [
                (p.payment_reference_id, p.action_public_id)
                for p in found
                if p.payment_reference_id
            ]
            if not keys:
                continue
            async with self.sessionmaker() as session:
                result = await session.execute(
                    select(Payment.paymentreferenceid, Payment.actionpublicid).where(
                        tuple_(Payment.paymentreferenceid, Payment.actionpublicid).in_(keys)
                    )
                )
                known = {(ref, apid) for ref, apid in result}
            for payment in found:
                self._touch(payment.debtor_public_id, None)
                key = (payment.payment_reference_id, payment.action_public_id)
                if payment.payment_reference_id and key not in known:
                    await self._apply("InvoicePaymentReceived", _content(payment))
                    self.summary.payments += 1

    async def unhandled(self) -> None:
        """Apply the unhandled payments whose state the mirror does not reflect."""
        found = await self.billecta.get_unhandled_payments(self.cpid)
        ids = [p.unhandled_payment_public_id for p in found if p.unhandled_payment_public_id]
        async with self.sessionmaker() as session:
            result = await session.execute(
                select(Payment.unhandledpaymentpublicid, Payment.paymentstatus).where(
                    Payment.unhandledpaymentpublicid.in_(ids)
                )
            )
            known = {public_id: status for public_id, status in result}
        for payment in found:
            public_id = payment.unhandled_payment_public_id
            details = payment.overpayment_details or {}
            if (payment.state or "").lower().startswith("usedoninvoice") and details.get(
                "UsedOnActionPublicId"
            ):
                event_type, status = "OverpaymentMatchedToInvoice", "usedoninvoice"
            else:
                kind = (payment.unhandled_payment_type or "").lower()
                event_type = _UNHANDLED_EVENTS.get(kind, "")
                status = _UNHANDLED_STATUS.get(event_type, "")
            if not public_id or not event_type or known.get(public_id) == status:
                continue
            await self._apply(event_type, _content(payment))
            self.summary.unhandled += 1


async def reconcile_creditor(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    billecta: BillectaClient,
    settings: Settings,
    redis: ArqRedis | None,
    creditor_id: int,
    since: datetime | None,
    now: datetime,
    backfill: bool = False,
) -> tuple[ReconcileSummary, datetime]:
    """Reconcile one creditor from `since`, else from its watermark less OVERLAP; without a
    watermark a backfill reads everything (from BACKFILL_FROM) and the nightly run the last
    48 hours. Answers the summary and the time it started from.

    On success the creditor's watermark moves to `now`. Billecta failures propagate (the
    caller's job retries them) and leave the watermark where it was.
    """
    async with sessionmaker() as session:
        creditor = await session.get(Creditor, creditor_id)
        watermark = None
        if creditor is not None and creditor.creditorpublicid:
            watermark = await get_watermark(session, watermark_name(creditor.creditorpublicid))
    if creditor is None:
        raise LookupError(f"Creditor {creditor_id} does not exist")
    if not creditor.creditorpublicid:
        raise LookupError(f"Creditor {creditor_id} has no creditorpublicid: it is not in Billecta")
    if since is not None:
        start = since
    elif watermark is not None:
        start = watermark - OVERLAP
    else:
        start = BACKFILL_FROM if backfill else now - REDRIVE_WINDOW
    run = Reconciler(
        sessionmaker,
        billecta=billecta,
        settings=settings,
        redis=redis,
        creditor=creditor,
        now=now,
    )
    if not backfill:
        await run.redrive_failed(now - REDRIVE_WINDOW)
    await run.invoices(start)
    await run.payments(start)
    await run.unhandled()
    async with sessionmaker() as session:
        swept = await get_watermark(session, sweep_name(run.cpid))
    sweep = backfill or swept is None or now - swept >= SWEEP_EVERY
    await run.related(sweep=sweep)
    async with session_scope(sessionmaker) as session:
        await set_watermark(session, watermark_name(run.cpid), now)
        if sweep:
            await set_watermark(session, sweep_name(run.cpid), now)
    return run.summary, start


def parse_since(value: date | datetime | None, tz: Any) -> datetime | None:
    """A backfill's `since`: a date is midnight in the business time zone."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime(value.year, value.month, value.day, tzinfo=tz)
