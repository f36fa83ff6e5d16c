"""The Webhooks add-on of the sandbox: subscriptions, signed deliveries, Lime's retry → drop →
disable behaviour (lime-api.md §3), and the delivery faults tests inject.

A message is retried ``delivery_attempts`` times, the n-th retry ``2**n * delivery_backoff *
time_scale`` seconds after the failure; then it is dropped, ``webhook.msg_dropped`` goes out and,
unless ``dont_disable_on_failed_delivery``, the subscription is disabled and
``webhook.webhook.disabled`` goes out. Newer messages are not held back by a retrying one, so
deliveries arrive out of order exactly as they can from Lime.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from billecta_gateway.limesandbox.config import LimeSandboxConfig
from billecta_gateway.limesandbox.store import Change, LimeSandboxError, Renderer

logger = logging.getLogger("billecta_gateway.limesandbox.webhooks")

SYSTEM_EVENTS = ("webhook.webhook.disabled", "webhook.msg_dropped")
LIFECYCLE = ("new", "update", "delete", "restore")


def signature(secret: str, body: bytes) -> str:
    """``X-Lime-Signature`` of a delivery: ``sha256=`` + hex HMAC-SHA256(secret, raw body)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Subscription:
    id: int
    events: list[str]
    target_url: str
    secret: str | None
    name: str | None
    enabled: bool = True

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "events": self.events,
            "target_url": self.target_url,
            "enabled": self.enabled,
        }


@dataclass
class Message:
    id: str
    subscription_id: int
    event: str
    body: bytes
    status: str = "pending"  # pending, delivered, retrying, dropped, lost, held
    attempts: int = 0
    responses: list[int | str] = field(default_factory=list)
    delivered_at: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subscription_id": self.subscription_id,
            "event": self.event,
            "status": self.status,
            "attempts": self.attempts,
            "responses": self.responses,
            "delivered_at": self.delivered_at,
            "payload": json.loads(self.body),
        }


@dataclass
class DeliveryFaults:
    """``lose``: the next N messages vanish unsent; ``delay_ms`` before each attempt;
    ``hold``: the next N messages wait and go out in reverse order."""

    lose: int = 0
    delay_ms: float = 0.0
    hold: int = 0
    held: list[Message] = field(default_factory=list)


class Webhooks:
    """Subscriptions and the delivery of their messages."""

    def __init__(
        self,
        config: LimeSandboxConfig,
        events: list[str],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.known_events = [*events, *SYSTEM_EVENTS]
        self.subscriptions: dict[int, Subscription] = {}
        self.messages: list[Message] = []
        self.faults = DeliveryFaults()
        self._next_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self._http = httpx.AsyncClient(timeout=config.delivery_timeout, transport=transport)

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self.subscriptions.clear()
        self.messages.clear()
        self.faults = DeliveryFaults()
        self._next_id = 1

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await self._http.aclose()

    # the Subscription API

    def _events(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not value or not all(isinstance(e, str) for e in value):
            raise LimeSandboxError(400, "events must be a non-empty list of event names")
        unknown = [e for e in value if e not in self.known_events]
        if unknown:
            raise LimeSandboxError(400, f"unknown events: {', '.join(unknown)}")
        return list(value)

    def create(self, body: Any) -> Subscription:
        if not isinstance(body, dict) or not isinstance(body.get("target_url"), str):
            raise LimeSandboxError(400, "a subscription needs events and target_url")
        sub = Subscription(
            id=self._next_id,
            events=self._events(body.get("events")),
            target_url=body["target_url"],
            secret=body.get("secret") or None,
            name=body.get("name"),
        )
        self._next_id += 1
        self.subscriptions[sub.id] = sub
        return sub

    def get(self, subscription_id: int) -> Subscription:
        found = self.subscriptions.get(subscription_id)
        if found is None:
            raise LimeSandboxError(404, f"subscription {subscription_id} does not exist")
        return found

    def update(self, subscription_id: int, body: Any) -> Subscription:
        sub = self.get(subscription_id)
        if not isinstance(body, dict):
            raise LimeSandboxError(400, "the body must be a JSON object")
        if "events" in body:
            sub.events = self._events(body["events"])
        if "target_url" in body:
            sub.target_url = str(body["target_url"])
        if "enabled" in body:
            sub.enabled = bool(body["enabled"])
        if "secret" in body:
            sub.secret = body["secret"] or None
        return sub

    def disable(self, subscription_id: int, reason: str) -> None:
        """Disable a subscription and tell the system-event subscribers."""
        sub = self.get(subscription_id)
        if not sub.enabled:
            return
        sub.enabled = False
        self._system("webhook.webhook.disabled", {"subscription_id": sub.id, "reason": reason})

    def listing(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        found = list(self.subscriptions.values())
        if "events" in filters:
            wanted = set(filters["events"].split(","))
            found = [s for s in found if wanted <= set(s.events)]
        if "target_url" in filters:
            found = [s for s in found if s.target_url == filters["target_url"]]
        if "enabled" in filters:
            flag = filters["enabled"].lower() == "true"
            found = [s for s in found if s.enabled is flag]
        return [s.public() for s in found]

    # deliveries

    def publish(self, changes: list[Change], renderer: Renderer) -> None:
        """Queue a message per change for every enabled subscription that takes its event."""
        for change in changes:
            body: dict[str, Any] = {
                "id": change.obj.id,
                "limetype": change.obj.limetype,
                "values": renderer.webhook_values(change.obj),
            }
            if change.event.endswith(".update"):
                body["original_values"] = change.original
            self._emit(change.event, {"event": change.event, "body": body})

    def _system(self, event: str, body: dict[str, Any]) -> None:
        self._emit(event, {"event": event, "body": body})

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        for sub in list(self.subscriptions.values()):
            if not sub.enabled or event not in sub.events:
                continue
            message = Message(uuid.uuid4().hex, sub.id, event, raw)
            self.messages.append(message)
            if self.faults.lose > 0:
                self.faults.lose -= 1
                message.status = "lost"
                continue
            if self.faults.hold > 0:
                self.faults.hold -= 1
                message.status = "held"
                self.faults.held.append(message)
                if self.faults.hold == 0:
                    self.release_held()
                continue
            self._start(message)

    def release_held(self) -> None:
        """Send the held messages, newest first."""
        held, self.faults.held = self.faults.held, []
        for message in reversed(held):
            message.status = "pending"
            self._start(message)

    def _start(self, message: Message, delay: float = 0.0) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(message, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, message: Message, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        sub = self.subscriptions.get(message.subscription_id)
        if sub is None or not sub.enabled:
            message.status = "dropped"
            return
        if self.faults.delay_ms:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        headers = {"Content-Type": "application/json", "User-Agent": "lime-webhooks-sandbox"}
        if sub.secret:
            headers["X-Lime-Signature"] = signature(sub.secret, message.body)
        message.attempts += 1
        try:
            response = await self._http.post(sub.target_url, content=message.body, headers=headers)
            outcome: int | str = response.status_code
            ok = response.is_success
        except httpx.HTTPError as exc:
            outcome, ok = type(exc).__name__, False
        message.responses.append(outcome)
        if ok:
            message.status = "delivered"
            message.delivered_at = datetime.now(UTC).isoformat()
            return
        retry = message.attempts  # the n-th re-delivery follows the n-th failure
        if retry <= self.config.delivery_attempts:
            message.status = "retrying"
            wait = (2**retry) * self.config.delivery_backoff * self.config.time_scale
            self._start(message, wait)
            return
        message.status = "dropped"
        logger.info("lime sandbox dropped webhook %s after %d attempts", message.id, retry)
        if message.event not in SYSTEM_EVENTS:
            self._system(
                "webhook.msg_dropped",
                {"subscription_id": sub.id, "event": message.event, "message_id": message.id},
            )
            if not self.config.dont_disable_on_failed_delivery:
                self.disable(sub.id, "a message exhausted its delivery attempts")

    def idle(self) -> bool:
        """No delivery running or waiting for a retry."""
        return not self._tasks
