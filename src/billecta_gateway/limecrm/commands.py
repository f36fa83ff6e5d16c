"""`billecta-gateway lime subscribe` and `lime status`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from billecta_gateway.billecta.limiter import Priority
from billecta_gateway.config import ConfigurationError, Settings
from billecta_gateway.db import create_engine, create_sessionmaker, session_scope
from billecta_gateway.limecrm import subscriptions
from billecta_gateway.limecrm.connect import open_lime
from billecta_gateway.limecrm.errors import LimeError


async def subscribe_command(settings: Settings, *, out: Callable[[str], None] = print) -> int:
    """Create or update both subscriptions; 0 on success, 1 when Lime refused, 2 when off."""
    engine = create_engine(settings, pre_ping=False)
    connector = open_lime(settings, engine, role="lime-cli", default_priority=Priority.INTERACTIVE)
    if connector is None:
        await engine.dispose()
        out("LIME_BASE_URL is not set: the Lime connector is off, nothing to subscribe")
        return 2
    try:
        states = await subscriptions.subscribe(connector.client, settings, connector.codec.schema)
    except ConfigurationError as exc:
        out(f"configuration error: {exc}")
        return 2
    except LimeError as exc:
        out(f"Lime refused the subscription: {exc}")
        return 1
    finally:
        await connector.aclose()
        await engine.dispose()
    out(f"Receiver: {subscriptions.receiver_url(settings)}")
    for state in states:
        out(
            f"{state.name} (id {state.id}): {state.action}, "
            f"{'enabled' if state.enabled else 'DISABLED'}, {state.events} events"
        )
    return 0


async def status_command(settings: Settings, *, out: Callable[[str], None] = print) -> int:
    """Print the subscriptions, the last event, the poll lag and the inbox by status."""
    engine = create_engine(settings, pre_ping=False)
    connector = open_lime(settings, engine, role="lime-cli", default_priority=Priority.INTERACTIVE)
    subs = None
    error: str | None = "the Lime connector is off (LIME_BASE_URL is unset)"
    try:
        if connector is not None and settings.public_base_url:
            try:
                target = subscriptions.receiver_url(settings)
                subs = [
                    s
                    for s in await connector.client.subscriptions(target_url=target)
                    if s.get("target_url") == target
                ]
            except LimeError as exc:
                error = str(exc)
        elif connector is not None:
            error = "PUBLIC_BASE_URL is not set"
        async with session_scope(create_sessionmaker(engine)) as session:
            status = await subscriptions.inbox_status(session)
    finally:
        if connector is not None:
            await connector.aclose()
        await engine.dispose()
    for line in subscriptions.status_lines(subs, status, now=datetime.now(UTC), lime_error=error):
        out(line)
    return 0
