"""The event log of one object, newest first (spec: BillectaEventLogHandler).

- invoice, order: the invoice action's events in Billecta (an order is an unattested action);
- debtcollection: the debt collection action's events in Billecta;
- debtor: Billecta's debtor events, for every creditor the debtor is synced to;
- creditor, payment: the gateway's own records, i.e. the webhook events that touched the object
  and the integration-monitor logs written for it.

Only events that have happened are listed (Billecta also reports planned ones). Timestamps are
``YYYY-MM-DD HH:MM:SS`` in the business time zone (Billecta's times without an offset already
are). No events is an empty list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta.schemas import BillectaDebtorEvent
from billecta_gateway.config import Settings
from billecta_gateway.invoices.operations import ErrorStyle, call_billecta, load
from billecta_gateway.models import (
    Creditor,
    CreditorDebtor,
    DebtCollection,
    Debtor,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    Invoice,
    LimeObject,
    Order,
    Payment,
    WebhookEvent,
    WebhookEventObject,
)

MISSING = "Object not found or missing Billecta ID"
NOT_IN_BILLECTA = "Object not found in Billecta"
INVALID = "Invalid limetype or ID"
OWN_RECORDS_LIMIT = 200

STYLE = ErrorStyle(missing_status=404)
_MODELS: dict[str, type[LimeObject]] = {
    "invoice": Invoice,
    "order": Order,
    "debtcollection": DebtCollection,
    "debtor": Debtor,
    "creditor": Creditor,
    "payment": Payment,
}
_WHAT = "Could not read the event log from Billecta"


@dataclass(frozen=True)
class Event:
    """One row of the log; ``at`` orders it."""

    at: datetime | None
    title: str
    content: str

    def as_row(self, tz: ZoneInfo) -> dict[str, str | None]:
        """The row as the API shows it."""
        return {"eventdate": format_time(self.at, tz), "title": self.title, "content": self.content}


def format_time(value: datetime | None, tz: ZoneInfo) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` in the business time zone (naive values are already local)."""
    if value is None:
        return None
    local = value.astimezone(tz) if value.tzinfo is not None else value
    return local.strftime("%Y-%m-%d %H:%M:%S")


def _sort_key(event: Event, tz: ZoneInfo) -> datetime:
    if event.at is None:
        return datetime.min.replace(tzinfo=UTC)
    if event.at.tzinfo is None:
        return event.at.replace(tzinfo=tz)
    return event.at


def _from_billecta(events: list[BillectaDebtorEvent]) -> list[Event]:
    return [
        Event(
            at=e.event_date,
            title=e.title or e.event_type or "Event",
            content=e.content or "",
        )
        for e in events
        if e.has_occured is not False
    ]


async def _billecta_events(
    session: AsyncSession, billecta: BillectaClient, limetype: str, obj: LimeObject
) -> list[Event]:
    if limetype == "debtor":
        public_ids = (
            await session.scalars(
                select(CreditorDebtor.debtorpublicid)
                .where(CreditorDebtor.debtor == obj.id, CreditorDebtor.debtorpublicid.is_not(None))
                .order_by(CreditorDebtor.id)
            )
        ).all()
        if not public_ids:
            raise STYLE.missing(MISSING)
        found: list[Event] = []
        for public_id in public_ids:
            if public_id:
                rows = await call_billecta(
                    billecta.get_debtor_events(public_id),
                    style=STYLE,
                    what=_WHAT,
                    not_found_message=NOT_IN_BILLECTA,
                )
                found.extend(_from_billecta(list(rows)))
        return found
    action_id: str | None = getattr(obj, "actionpublicid", None)
    if not action_id:
        raise STYLE.missing(MISSING)
    if limetype == "debtcollection":
        call = billecta.get_debt_collection_events(action_id)
    else:
        call = billecta.get_invoice_events(action_id)
    action_events = await call_billecta(
        call, style=STYLE, what=_WHAT, not_found_message=NOT_IN_BILLECTA
    )
    return _from_billecta(list(action_events))


async def _own_records(session: AsyncSession, limetype: str, object_id: int) -> list[Event]:
    events: list[Event] = []
    webhook_rows = (
        await session.execute(
            select(WebhookEvent)
            .join(WebhookEventObject, WebhookEventObject.event_id == WebhookEvent.id)
            .where(
                WebhookEventObject.limetype == limetype, WebhookEventObject.object_id == object_id
            )
            .order_by(WebhookEvent.id.desc())
            .limit(OWN_RECORDS_LIMIT)
        )
    ).scalars()
    for event in webhook_rows:
        content = f"Billecta webhook, {event.status}"
        if event.last_error:
            content += f": {event.last_error}"
        events.append(
            Event(at=event.created or event.received_at, title=event.event_type, content=content)
        )
    log_rows = (
        await session.execute(
            select(IntegrationMonitorLog, IntegrationMonitorBatch.title)
            .join(
                IntegrationMonitorBatch,
                IntegrationMonitorBatch.id == IntegrationMonitorLog.batch_id,
            )
            .where(
                IntegrationMonitorLog.limetype == limetype,
                IntegrationMonitorLog.object_id == object_id,
            )
            .order_by(IntegrationMonitorLog.id.desc())
            .limit(OWN_RECORDS_LIMIT)
        )
    ).all()
    for log, title in log_rows:
        content = f"Integration monitor, {log.status}"
        if log.message:
            content += f": {log.message}"
        events.append(Event(at=log.updated_at, title=title, content=content))
    return events


async def event_log(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    limetype: str,
    object_id: int,
) -> list[dict[str, str | None]]:
    """The object's events, newest first (see the module docstring for the sources)."""
    model = _MODELS.get(limetype)
    if model is None:
        raise STYLE.invalid(INVALID)
    obj = await load(session, model, object_id)
    if obj is None:
        raise STYLE.missing(MISSING)
    if limetype in ("creditor", "payment"):
        events = await _own_records(session, limetype, obj.id)
    else:
        events = await _billecta_events(session, billecta, limetype, obj)
    tz = settings.timezone
    events.sort(key=lambda e: _sort_key(e, tz), reverse=True)
    return [event.as_row(tz) for event in events]
