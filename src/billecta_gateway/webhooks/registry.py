"""The event registry: Billecta event names mapped to a payload model and an async handler.

    @registry.on("InvoicePaymentReceived", payload=IncomingPaymentPayload)
    async def record_payment(ctx: HandlerContext, payload: IncomingPaymentPayload) -> None: ...

A handler writes through `ctx.session` and never commits: the processing job commits the
handler's writes together with the event's `processed` mark. A handler that cannot proceed yet
(the invoice a payment refers to is not mirrored yet) raises `NotReady`; the event is retried
with backoff from Postgres.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.queue import AfterCommit

P = TypeVar("P", bound=BaseModel)


class NotReady(Exception):
    """The event cannot be applied yet (a related object is unknown); retry it later."""


@dataclass
class HandlerContext:
    """What a handler works with: the transaction, the event's metadata and its bookkeeping."""

    session: AsyncSession
    event_id: int
    event_type: str
    created: datetime
    creditor_public_id: str | None
    additional_data: Any
    now: datetime
    settings: Settings
    jobs: AfterCommit = field(default_factory=AfterCommit)
    touched: list[tuple[str, int]] = field(default_factory=list)
    summary: str | None = None
    # Set when the handler mirrored an object for the first time: events of the same creditor
    # waiting for it are retried at once instead of at their next backoff step.
    created_objects: bool = False

    def touch(self, limetype: str, object_id: int) -> None:
        """Record that the event touched an object (the Event Log dialog filters on it)."""
        if (limetype, object_id) not in self.touched:
            self.touched.append((limetype, object_id))

    def note(self, summary: str) -> None:
        """A one-line summary of what the handler did, for the integration monitor."""
        self.summary = summary


Handler = Callable[[HandlerContext, P], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Registration(Generic[P]):
    """One supported event: its payload model and its handler."""

    event_type: str
    payload: type[P]
    handler: Handler[P]

    def parse(self, content: Any) -> P:
        """The event's content as its payload model (raises pydantic's ValidationError)."""
        return self.payload.model_validate(content)

    async def __call__(self, ctx: HandlerContext, content: Any) -> None:
        await self.handler(ctx, self.parse(content))


class Registry:
    """Event name → registration; a name can be registered once."""

    def __init__(self) -> None:
        self._registrations: dict[str, Registration[Any]] = {}

    def on(self, *event_types: str, payload: type[P]) -> Callable[[Handler[P]], Handler[P]]:
        """Register a handler for one or more event names, parsing content with `payload`."""

        def register(handler: Handler[P]) -> Handler[P]:
            for name in event_types:
                if name in self._registrations:
                    raise ValueError(f"a handler for {name} is already registered")
                self._registrations[name] = Registration(name, payload, handler)
            return handler

        return register

    def get(self, event_type: str) -> Registration[Any] | None:
        """The registration of an event name, or None when the event is not supported."""
        return self._registrations.get(event_type)

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._registrations

    def event_types(self) -> list[str]:
        """Every supported event name, sorted."""
        return sorted(self._registrations)


registry = Registry()
