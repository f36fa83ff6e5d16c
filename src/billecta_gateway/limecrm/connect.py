"""Building the Lime client from settings, with the deployment's shared rate limit."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from billecta_gateway.billecta.limiter import Priority
from billecta_gateway.config import Settings
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.client import LimeClient
from billecta_gateway.limecrm.codec import LimeCodec
from billecta_gateway.limecrm.ratelimit import SharedRateLimiter


@dataclass
class LimeConnector:
    """The client, its codec and the shared limiter of one process."""

    client: LimeClient
    codec: LimeCodec
    limiter: SharedRateLimiter

    async def aclose(self) -> None:
        """Close the connections and leave the rate-limit registry."""
        await self.client.aclose()
        await self.limiter.close()


def open_lime(
    settings: Settings,
    engine: AsyncEngine,
    *,
    role: str,
    schema: LimeSchema | None = None,
    default_priority: Priority = Priority.BULK,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LimeConnector | None:
    """The connector of this process, or None while ``LIME_BASE_URL`` is unset (off)."""
    if not settings.lime_base_url or settings.lime_api_key is None:
        return None
    limiter = SharedRateLimiter(
        engine,
        rate=settings.lime_rate_limit,
        interactive_reserved=settings.lime_interactive_reserved,
        role=role,
    )
    client = LimeClient(
        base_url=settings.lime_base_url,
        api_key=settings.lime_api_key.get_secret_value(),
        rate_gate=limiter,
        timeout=settings.lime_timeout,
        default_priority=default_priority,
        transport=transport,
    )
    codec = LimeCodec(schema or LimeSchema.load(settings.lime_schema_file), settings.timezone)
    return LimeConnector(client=client, codec=codec, limiter=limiter)
