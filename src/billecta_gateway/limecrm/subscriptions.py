"""The gateway's two webhook subscriptions in Lime, and `lime status` (issue 18 §6).

- The main subscription takes ``new/update/delete/restore`` of every mirrored limetype.
- A second one takes only the system events ``webhook.webhook.disabled`` and
  ``webhook.msg_dropped``: a disabled subscription receives nothing, so it cannot report its
  own disabling. Either event re-enables the main subscription and starts a catch-up poll.

Both deliver to ``PUBLIC_BASE_URL`` + the receiver path, signed with the first
``LIME_WEBHOOK_SECRET`` (the current one during a rotation). They are found again by name and
target URL, so `lime subscribe` run twice updates instead of creating a second pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import ConfigurationError, Settings
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.client import LimeClient
from billecta_gateway.limecrm.inbox import LIFECYCLE, SYSTEM_EVENTS
from billecta_gateway.limecrm.names import names_of
from billecta_gateway.middleware import PREFIX
from billecta_gateway.models import LimePollMark, LimeWebhookEvent

MAIN_NAME = "billecta-gateway"
SYSTEM_NAME = "billecta-gateway-system"
RECEIVER_PATH = "/lime-webhook-receiver"


def receiver_url(settings: Settings) -> str:
    """Where Lime delivers: ``PUBLIC_BASE_URL`` + the receiver path."""
    if not settings.public_base_url:
        raise ConfigurationError(
            "PUBLIC_BASE_URL is not set: Lime needs the gateway's public URL to deliver webhooks"
        )
    return settings.public_base_url.rstrip("/") + PREFIX + RECEIVER_PATH


def _secret(settings: Settings) -> str:
    secrets = [s.get_secret_value() for s in settings.lime_webhook_secret if s.get_secret_value()]
    if not secrets:
        raise ConfigurationError("LIME_WEBHOOK_SECRET is not set: the subscriptions must be signed")
    return secrets[0]


def main_events(schema: LimeSchema) -> list[str]:
    """The lifecycle events of every mirrored limetype, by its Lime name."""
    names = names_of(schema)
    return [
        f"{names.lime_limetype(name)}.{action}" for name in schema.limetypes for action in LIFECYCLE
    ]


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    name: str
    id: Any
    enabled: bool
    events: int
    action: str  # created, updated, re-enabled, unchanged, missing


async def _find(client: LimeClient, name: str, target: str) -> dict[str, Any] | None:
    for sub in await client.subscriptions(target_url=target):
        if sub.get("name") == name and sub.get("target_url") == target:
            return sub
    return None


async def subscribe(
    client: LimeClient, settings: Settings, schema: LimeSchema
) -> list[SubscriptionState]:
    """Create or update both subscriptions (enabled, the current secret, today's events)."""
    target, secret = receiver_url(settings), _secret(settings)
    states = []
    for name, events in ((MAIN_NAME, main_events(schema)), (SYSTEM_NAME, list(SYSTEM_EVENTS))):
        found = await _find(client, name, target)
        if found is None:
            sub = await client.create_subscription(
                events=events, target_url=target, secret=secret, name=name
            )
            action = "created"
        else:
            sub = await client.update_subscription(
                found["id"], {"events": events, "enabled": True, "secret": secret}
            )
            action = "updated"
        states.append(
            SubscriptionState(
                name, sub.get("id"), bool(sub.get("enabled", True)), len(events), action
            )
        )
    return states


async def ensure_enabled(client: LimeClient, settings: Settings) -> list[SubscriptionState]:
    """Re-enable whichever of the two subscriptions Lime disabled (the re-enable cron and the
    system events); a missing one is reported, not created (that is `lime subscribe`)."""
    target = receiver_url(settings)
    states = []
    for name in (MAIN_NAME, SYSTEM_NAME):
        found = await _find(client, name, target)
        if found is None:
            states.append(SubscriptionState(name, None, False, 0, "missing"))
            continue
        action = "unchanged"
        if not found.get("enabled", True):
            found = await client.update_subscription(found["id"], {"enabled": True})
            action = "re-enabled"
        states.append(
            SubscriptionState(
                name,
                found.get("id"),
                bool(found.get("enabled", True)),
                len(found.get("events") or []),
                action,
            )
        )
    return states


@dataclass(frozen=True, slots=True)
class InboxStatus:
    last_received_at: datetime | None
    last_event: str | None
    by_status: dict[str, int]
    poll_marks: dict[str, tuple[datetime | None, datetime | None, str | None]]


async def inbox_status(session: AsyncSession) -> InboxStatus:
    """The Lime inbox by status, its newest delivery and the poll's mark per limetype."""
    counts = dict(
        (str(s), int(n))
        for s, n in await session.execute(
            select(LimeWebhookEvent.status, func.count()).group_by(LimeWebhookEvent.status)
        )
    )
    last = (
        await session.execute(
            select(LimeWebhookEvent.received_at, LimeWebhookEvent.event_type)
            .order_by(LimeWebhookEvent.id.desc())
            .limit(1)
        )
    ).first()
    marks = {
        m.limetype: (m.high_water, m.last_polled_at, m.last_error)
        for m in (await session.scalars(select(LimePollMark))).all()
    }
    return InboxStatus(
        last_received_at=last[0] if last else None,
        last_event=last[1] if last else None,
        by_status=counts,
        poll_marks=marks,
    )


def status_lines(
    subscriptions: list[dict[str, Any]] | None,
    status: InboxStatus,
    *,
    now: datetime,
    lime_error: str | None = None,
) -> list[str]:
    """`lime status` as printed."""
    lines = ["Subscriptions:"]
    if subscriptions is None:
        lines.append(f"  (Lime unreachable: {lime_error})")
    elif not subscriptions:
        lines.append("  none for this gateway: run `billecta-gateway lime subscribe`")
    for sub in subscriptions or []:
        state = "enabled" if sub.get("enabled", True) else "DISABLED"
        lines.append(
            f"  {sub.get('name')} (id {sub.get('id')}): {state}, "
            f"{len(sub.get('events') or [])} events"
        )
    last = (
        f"{status.last_event} at {status.last_received_at.isoformat()}"
        if status.last_received_at
        else "none yet"
    )
    lines.append(f"Last event received: {last}")
    lines.append("Poll lag per limetype:")
    if not status.poll_marks:
        lines.append("  never polled")
    for limetype, (mark, polled, error) in sorted(status.poll_marks.items()):
        lag = f"{int((now - mark).total_seconds())} s" if mark else "no change seen yet"
        tail = f", last error: {error}" if error else ""
        when = polled.isoformat() if polled else "never"
        lines.append(f"  {limetype}: {lag} (polled {when}){tail}")
    lines.append("Inbox by status:")
    for name in ("received", "pending", "processed", "failed", "ignored", "invalid"):
        lines.append(f"  {name}: {status.by_status.get(name, 0)}")
    return lines
