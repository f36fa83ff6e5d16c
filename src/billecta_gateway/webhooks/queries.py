"""Reading the webhook inbox: filtered, keyset-paged listings for the API and the Event Log."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.errors import InvalidInput, NotFound
from billecta_gateway.models import WebhookEvent, WebhookEventObject


@dataclass(frozen=True, slots=True)
class EventRow:
    """An inbox event and the mirrored objects it touched."""

    event: WebhookEvent
    objects: list[tuple[str, int]]


@dataclass(frozen=True, slots=True)
class EventPage:
    items: list[EventRow]
    next_cursor: int | None


async def _objects(session: AsyncSession, ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if ids:
        rows = await session.execute(
            select(
                WebhookEventObject.event_id,
                WebhookEventObject.limetype,
                WebhookEventObject.object_id,
            )
            .where(WebhookEventObject.event_id.in_(ids))
            .order_by(WebhookEventObject.event_id, WebhookEventObject.limetype)
        )
        for event_id, limetype, object_id in rows:
            found[int(event_id)].append((str(limetype), int(object_id)))
    return found


async def list_events(
    session: AsyncSession,
    *,
    status: str | None = None,
    event_type: str | None = None,
    creditorpublicid: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limetype: str | None = None,
    object_id: int | None = None,
    limit: int = 50,
    cursor: int | None = None,
) -> EventPage:
    """Events newest first, filtered by status, type, creditor, receipt time and the object
    they touched (`limetype` and `object_id`, what the Event Log dialog asks for)."""
    if since is not None and until is not None and since > until:
        raise InvalidInput(
            "since must not be later than until",
            errors=[{"loc": ["query", "since"], "field": "since", "message": "after until"}],
        )
    if object_id is not None and limetype is None:
        raise InvalidInput(
            "object_id needs limetype",
            errors=[{"loc": ["query", "limetype"], "field": "limetype", "message": "required"}],
        )
    stmt = select(WebhookEvent)
    if status is not None:
        stmt = stmt.where(WebhookEvent.status == status)
    if event_type is not None:
        stmt = stmt.where(WebhookEvent.event_type == event_type)
    if creditorpublicid is not None:
        stmt = stmt.where(WebhookEvent.creditorpublicid == creditorpublicid)
    if since is not None:
        stmt = stmt.where(WebhookEvent.received_at >= since)
    if until is not None:
        stmt = stmt.where(WebhookEvent.received_at < until)
    if limetype is not None:
        touched = WebhookEventObject.event_id == WebhookEvent.id
        touched &= WebhookEventObject.limetype == limetype
        if object_id is not None:
            touched &= WebhookEventObject.object_id == object_id
        stmt = stmt.where(exists().where(touched))
    if cursor is not None:
        stmt = stmt.where(WebhookEvent.id < cursor)
    stmt = stmt.order_by(WebhookEvent.id.desc()).limit(limit + 1)
    events = list((await session.scalars(stmt.execution_options(populate_existing=True))).all())
    next_cursor = None
    if len(events) > limit:
        events = events[:limit]
        next_cursor = events[-1].id
    objects = await _objects(session, [e.id for e in events])
    return EventPage(
        items=[EventRow(event=e, objects=objects.get(e.id, [])) for e in events],
        next_cursor=next_cursor,
    )


async def get_event(session: AsyncSession, *, event_id: int) -> EventRow:
    """One event with the objects it touched; NotFound when there is none."""
    event = await session.get(WebhookEvent, event_id, populate_existing=True)
    if event is None:
        raise NotFound(f"Webhook event {event_id} not found")
    objects = await _objects(session, [event_id])
    return EventRow(event=event, objects=objects.get(event_id, []))
