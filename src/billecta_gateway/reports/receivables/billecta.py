"""Billecta's side of the receivables report: invoices Billecta holds that the mirror lacks.

Billecta's open list gives what is open today. For a report date in the past, the invoices
closed since then were open at the date too, so Billecta's closed lists from the report date to
today are read as well (one request per 31-day window, each body parsed an item at a time).
Every such row is rolled back to its balance at the date: what was paid, credited or written
off on it after the date (the mirror's records of the invoice, and Billecta's incoming payments
the mirror lacks) is added back to its balance today.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta.schemas import BillectaAmount, BillectaInvoiceActionSub
from billecta_gateway.models import Invoice, Payment
from billecta_gateway.reports.billecta_lists import (
    closed_invoices_body,
    iter_invoice_list,
    open_invoices_body,
)
from billecta_gateway.reports.receivables.layout import Row, days_overdue, sort_key

DRAFT_STAGES = frozenset({"None", "Created"})
CLOSED_STAGES = frozenset({"Completed", "Cancelled"})
SETTLING_TYPES = ("payment", "manual", "credit", "writeoff")
WINDOW_DAYS = 31
LOOKUP_CHUNK = 5_000
PAYMENT_FILTER_CHUNK = 1_000


@dataclass(slots=True)
class Candidate:
    """One Billecta invoice that may belong in the report, with its figures today."""

    action_id: str
    debtor: str | None
    number: str | None
    invoiced_on: date
    due: date | None
    currency: str
    invoiced: Decimal | None
    balance: Decimal
    closed_after: bool

    def row(self, day: date, settled_after: Decimal) -> Row | None:
        """The report row at the date, or None when nothing was owed then.

        An invoice closed after the date was open at it; when none of what closed it is known,
        its invoiced amount is what it shows (Billecta's lists carry no history of amounts).
        """
        balance = self.balance + settled_after
        if self.invoiced is not None and balance > self.invoiced:
            balance = self.invoiced
        if self.closed_after and balance <= 0 and self.invoiced:
            balance = self.invoiced
        if not balance:
            return None
        return (
            self.debtor,
            self.number,
            self.invoiced_on,
            self.due,
            None,
            None,
            self.currency,
            self.invoiced,
            None,
            None,
            None,
            balance,
            days_overdue(self.due, day),
            "Billecta",
        )


def windows(start: date, end: date, days: int = WINDOW_DAYS) -> Iterator[tuple[date, date]]:
    """Consecutive periods of at most `days` days covering `start` to `end` (both included)."""
    while start <= end:
        last = min(end, start + timedelta(days=days - 1))
        yield start, last
        start = last + timedelta(days=1)


def _day(value: datetime | None, zone: tzinfo) -> date | None:
    if value is None:
        return None
    return (value.astimezone(zone) if value.tzinfo else value).date()


def _amount(value: BillectaAmount | None) -> Decimal | None:
    return value.to_decimal() if value is not None else None


def candidates(
    items: Iterable[BillectaInvoiceActionSub], day: date, zone: tzinfo, currency: str
) -> list[Candidate]:
    """Billecta's invoices that were issued by the date and open at it (open now, or closed
    as completed after it). Cancelled invoices are left out, as in the mirror."""
    found: list[Candidate] = []
    for item in items:
        if not item.action_public_id or item.stage in DRAFT_STAGES:
            continue
        closed_after = False
        if item.stage in CLOSED_STAGES:
            closed_on = _day(item.closed_date, zone)
            if item.stage != "Completed" or closed_on is None or closed_on <= day:
                continue
            closed_after = True
        invoiced_on = _day(item.invoice_date, zone)
        if invoiced_on is None or invoiced_on > day:
            continue
        money = item.current_amount or item.invoiced_amount
        found.append(
            Candidate(
                action_id=item.action_public_id,
                debtor=item.debtor_name,
                number=item.invoice_number,
                invoiced_on=invoiced_on,
                due=_day(item.due_date, zone),
                currency=(money.currency_code if money else None) or currency,
                invoiced=_amount(item.invoiced_amount),
                balance=_amount(item.current_amount) or Decimal(0),
                closed_after=closed_after,
            )
        )
    return found


def _parse(data: bytes, route: str, day: date, zone: tzinfo, currency: str) -> list[Candidate]:
    return candidates(iter_invoice_list(data, route), day, zone, currency)


async def _unknown_to_mirror(
    session: AsyncSession, found: dict[str, Candidate]
) -> dict[str, Candidate]:
    ids = list(found)
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        known = await session.scalars(
            select(Invoice.actionpublicid).where(Invoice.actionpublicid.in_(chunk))
        )
        for action_id in known:
            found.pop(action_id or "", None)
    return found


async def settled_after(
    session: AsyncSession,
    billecta: BillectaClient,
    *,
    creditor_public_id: str,
    action_ids: Sequence[str],
    day: date,
    today: date,
    zone: tzinfo,
) -> dict[str, Decimal]:
    """Per Billecta invoice id, what was paid, credited or written off on it after the date."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    seen: set[tuple[str, str]] = set()
    for start in range(0, len(action_ids), LOOKUP_CHUNK):
        chunk = list(action_ids[start : start + LOOKUP_CHUNK])
        result = await session.execute(
            select(Payment.actionpublicid, Payment.paymentreferenceid, Payment.amount).where(
                Payment.actionpublicid.in_(chunk),
                Payment.paymentdate > day,
                Payment.paymentstatus.is_distinct_from("deleted"),
                Payment.paymenttype.in_(SETTLING_TYPES),
            )
        )
        for action_id, reference, amount in result:
            totals[action_id or ""] += amount or 0
            if reference:
                seen.add((reference, action_id or ""))
    first = day + timedelta(days=1)
    for start in range(0, len(action_ids), PAYMENT_FILTER_CHUNK):
        ids = action_ids[start : start + PAYMENT_FILTER_CHUNK]
        for low, high in windows(first, today):
            # Billecta reads `To` as a moment: ask up to the next midnight, keep the window's days.
            items = await billecta.get_incoming_payments(
                creditor_public_id, low, high + timedelta(days=1), action_public_ids=ids
            )
            for item in items:
                paid_on = _day(item.payment_date, zone)
                key = (item.payment_reference_id or "", item.action_public_id or "")
                if paid_on is None or not low <= paid_on <= high or key in seen:
                    continue
                seen.add(key)
                totals[key[1]] += _amount(item.amount) or 0
    return totals


async def billecta_only_rows(
    session: AsyncSession,
    billecta: BillectaClient,
    *,
    creditor_public_id: str,
    day: date,
    today: date,
    zone: tzinfo,
    currency: str,
) -> list[Row]:
    """The rows of invoices only Billecta holds, at the date, in report order."""
    found: dict[str, Candidate] = {}
    body = await open_invoices_body(billecta, creditor_public_id)
    for candidate in await asyncio.to_thread(
        _parse, body, "get_open_invoices", day, zone, currency
    ):
        found[candidate.action_id] = candidate
    del body
    for low, high in windows(day, today) if day < today else ():
        body = await closed_invoices_body(billecta, creditor_public_id, low, high)
        for candidate in await asyncio.to_thread(
            _parse, body, "get_closed_invoices", day, zone, currency
        ):
            found.setdefault(candidate.action_id, candidate)
        del body
    remote = await _unknown_to_mirror(session, found)
    after: dict[str, Decimal] = {}
    if remote and day < today:
        after = await settled_after(
            session,
            billecta,
            creditor_public_id=creditor_public_id,
            action_ids=list(remote),
            day=day,
            today=today,
            zone=zone,
        )
    rows = []
    for candidate in remote.values():
        row = candidate.row(day, after.get(candidate.action_id, Decimal(0)))
        if row is not None:
            rows.append(row)
    rows.sort(key=sort_key)
    return rows
