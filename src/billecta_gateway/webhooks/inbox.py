"""Inbox maintenance: the due events the inbox cron enqueues, replays, pruning and scrubbing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.errors import Conflict, NotFound
from billecta_gateway.models import WebhookEvent
from billecta_gateway.webhooks.registry import registry
from billecta_gateway.webhooks.service import REDRIVE_AFTER, UNPROCESSED

PRUNABLE = ("processed", "ignored")
_PRUNE_CHUNK = 5_000


# The inbox cron


def _due(now: datetime, model: Any) -> Any:
    """Unprocessed events whose attempt is due and whose message is not (recently) queued."""
    return and_(
        model.status.in_(UNPROCESSED),
        or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now),
        or_(
            model.enqueued_at.is_(None),
            model.enqueued_at < now - REDRIVE_AFTER,
            model.enqueued_at < model.next_attempt_at,
        ),
    )


async def claim_due_events(
    session: AsyncSession, *, now: datetime, limit: int = 1_000, model: Any = WebhookEvent
) -> list[tuple[int, int]]:
    """Mark due events enqueued and answer their (id, attempts) to enqueue after the commit.

    Covers pending events whose next attempt has come and stored events never enqueued
    (Redis was down at intake, or the message was lost). `model` is the inbox table: the
    Billecta inbox by default, or the Lime inbox (same columns).
    """
    due = (
        select(model.id)
        .where(_due(now, model))
        .order_by(func.coalesce(model.next_attempt_at, model.received_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = await session.execute(
        update(model)
        .where(model.id.in_(due))
        .values(enqueued_at=now)
        .returning(model.id, model.attempts)
        .execution_options(synchronize_session=False)
    )
    return sorted((int(i), int(a)) for i, a in rows)


async def prune_events(
    session: AsyncSession,
    *,
    before: datetime,
    model: Any = WebhookEvent,
    statuses: Sequence[str] = PRUNABLE,
) -> int:
    """Delete processed (and ignored) events older than `before`, in chunks; answers how many.
    `model` is the inbox table (the Lime inbox has the same columns)."""
    total = 0
    while True:
        chunk = (
            select(model.id)
            .where(
                model.status.in_(statuses),
                func.coalesce(model.processed_at, model.received_at) < before,
            )
            .limit(_PRUNE_CHUNK)
            .scalar_subquery()
        )
        result = await session.execute(
            delete(model)
            .where(model.id.in_(chunk))
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
        deleted = len(result.all())
        total += deleted
        if deleted < _PRUNE_CHUNK:
            return total


# Replay


async def replay_event(session: AsyncSession, *, event_id: int, now: datetime) -> WebhookEvent:
    """Make an event due now (whatever its status); the caller commits and enqueues it.

    An event of a type the gateway does not support is a 409: there is nothing to apply.
    """
    event = await session.get(WebhookEvent, event_id, with_for_update=True, populate_existing=True)
    if event is None:
        raise NotFound(f"Webhook event {event_id} not found")
    if event.event_type not in registry:
        raise Conflict(f"Webhook event {event_id} is a {event.event_type}, which is not supported")
    event.status = "pending"
    event.next_attempt_at = now
    event.enqueued_at = now
    await session.flush()
    return event


async def replay_events(
    session: AsyncSession,
    *,
    status: str,
    since: datetime | None,
    until: datetime | None,
    creditorpublicid: str | None = None,
    now: datetime,
    limit: int,
) -> tuple[list[tuple[int, int]], bool]:
    """Make the supported events of `status` received in [since, until) due now, oldest first,
    at most `limit`; answers their (id, attempts) to enqueue after the commit, and whether
    more events matched."""
    conditions: list[Any] = [
        WebhookEvent.status == status,
        WebhookEvent.event_type.in_(registry.event_types()),
    ]
    if since is not None:
        conditions.append(WebhookEvent.received_at >= since)
    if until is not None:
        conditions.append(WebhookEvent.received_at < until)
    if creditorpublicid is not None:
        conditions.append(WebhookEvent.creditorpublicid == creditorpublicid)
    chosen = list(
        (
            await session.scalars(
                select(WebhookEvent.id)
                .where(*conditions)
                .order_by(WebhookEvent.id)
                .limit(limit + 1)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    more = len(chosen) > limit
    if not chosen:
        return [], False
    rows = await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id.in_(chosen[:limit]))
        .values(status="pending", next_attempt_at=now, enqueued_at=now)
        .returning(WebhookEvent.id, WebhookEvent.attempts)
        .execution_options(synchronize_session=False)
    )
    return sorted((int(i), int(a)) for i, a in rows), more


async def scrub_debtor_payloads(session: AsyncSession, *, debtor_public_ids: Sequence[str]) -> int:
    """Remove the personal data of anonymized debtors from stored event payloads.

    The Data of every event naming one of the debtors is replaced by its ids only (under
    `Content` too, for events stored under the earlier names); answers how many events were
    scrubbed.
    """
    ids = [i for i in debtor_public_ids if i]
    if not ids:
        return 0
    scrubbed_ids: set[int] = set()
    for key in ("Data", "Content"):
        data = WebhookEvent.payload[key]
        named = and_(
            func.jsonb_typeof(data) == "object",
            or_(
                data["DebtorPublicId"].astext.in_(ids),
                data["Debtor"]["DebtorPublicId"].astext.in_(ids),
            ),
        )
        scrubbed = func.jsonb_set(
            WebhookEvent.payload,
            literal([key], ARRAY(Text)),
            func.jsonb_strip_nulls(
                func.jsonb_build_object(
                    "ActionPublicId",
                    data["ActionPublicId"].astext,
                    "DebtorPublicId",
                    func.coalesce(
                        data["DebtorPublicId"].astext, data["Debtor"]["DebtorPublicId"].astext
                    ),
                    "Anonymized",
                    True,
                )
            ),
        )
        result = await session.execute(
            update(WebhookEvent)
            .where(named)
            .values(payload=scrubbed)
            .returning(WebhookEvent.id)
            .execution_options(synchronize_session=False)
        )
        scrubbed_ids.update(int(i) for (i,) in result.all())
    return len(scrubbed_ids)
