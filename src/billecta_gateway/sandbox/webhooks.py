"""Webhook delivery: Billecta's `WebhookEvent` bodies built from the package's payload fixtures,
sent in the background.

Each state change queues an event; its body is the fixture of that event (``EventDate`` in
Stockholm time without offset, ``CreditorPublicId``, ``Event``, ``Data``, ``AdditionalData``;
``webhooks/envelope.py``) with ``Data`` replaced by the sandbox's own view of the object, so the
gateway's tests and the sandbox send the same shapes. A failed delivery is retried on a
compressed schedule (Billecta: 5 retries over 24 hours). Settings can duplicate deliveries (the
same bytes again: Billecta's body has no event id), delay them, or reorder them (deliveries
queued within a window are sent newest first). ``event_id`` in the delivery log is the
sandbox's own reference to a delivery; it is not part of the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from billecta_gateway.sandbox.config import SandboxConfig
from billecta_gateway.sandbox.state import Ids, Outgoing, Store
from billecta_gateway.webhooks.envelope import build_envelope

logger = logging.getLogger("billecta_gateway.sandbox.webhooks")

ACTIVE = frozenset({"pending", "delivering"})
_SUBJECT_KEYS = ("ActionPublicId", "UnhandledPaymentPublicId", "DebtorPublicId")


class WebhookSettings(BaseModel):
    """Where and how deliveries go (``PUT /_sandbox/webhooks/settings`` changes them)."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    header_name: str = "x-api-key"
    header_value: str | None = None
    retry_schedule: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)
    duplicate: float = Field(default=0.0, ge=0.0, le=1.0)
    delay_ms: float = Field(default=0.0, ge=0.0)
    reorder: bool = False
    reorder_window_ms: float = Field(default=250.0, ge=0.0)
    concurrency: int = Field(default=1, ge=1, le=64)
    timeout_seconds: float = Field(default=5.0, gt=0)

    @classmethod
    def from_config(cls, config: SandboxConfig) -> WebhookSettings:
        return cls(
            url=config.webhook_url,
            header_name=config.webhook_header_name,
            header_value=config.webhook_header_value,
            retry_schedule=config.webhook_retry_schedule,
            concurrency=config.webhook_concurrency,
            timeout_seconds=config.webhook_timeout_seconds,
        )


@dataclass
class Delivery:
    """One delivery of one event (a duplicate is a second delivery of the same body)."""

    id: int
    event_id: str
    event_type: str
    creditor_id: str | None
    subject: str | None
    body: dict[str, Any]
    created_at: datetime
    status: str = "pending"
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    duplicate_of: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def summary(self, *, include_body: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "creditor_public_id": self.creditor_id,
            "subject": self.subject,
            "status": self.status,
            "attempts": self.attempts,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "duplicate_of": self.duplicate_of,
            "history": list(self.history),
        }
        if include_body:
            out["body"] = self.body
        return out


def _fixture(event_type: str, variant: str | None) -> dict[str, Any] | None:
    from billecta_gateway.webhooks.fixtures import load_fixture

    for name in (variant, None) if variant else (None,):
        try:
            return load_fixture(event_type, variant=name)
        except KeyError:
            continue
    return None


def _variant(event_type: str, content: Any) -> str | None:
    if not isinstance(content, dict):
        return None
    credit = content.get("ActionType") == "CreditInvoiceAction"
    if event_type in ("AmountCreditedOnInvoice", "InvoiceActionAttested") and credit:
        return "credit_invoice"
    state = content.get("State")
    if event_type == "InvoiceActionStateChanged" and isinstance(state, dict):
        return "paid" if state.get("Stage") == "Completed" else None
    return None


def _shape_only(value: Any) -> bool:
    """A fixture value that says nothing about a particular object (null, flags, numbers)."""
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, list | dict) and not value


def merge_content(fixture: Any, content: Any) -> Any:
    """The sandbox's content over the fixture's: the fixture contributes only fields the
    sandbox does not know, and only when they carry no object data (no ids, names, text)."""
    if not isinstance(fixture, dict) or not isinstance(content, dict):
        return content
    merged = {k: v for k, v in fixture.items() if k not in content and _shape_only(v)}
    return merged | content


class WebhookDispatcher:
    """Queues, sends and retries deliveries; one background task per event loop."""

    def __init__(
        self,
        config: SandboxConfig,
        store_ref: Store,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._transport = transport
        self.settings = WebhookSettings.from_config(config)
        self._ids = Ids(f"{config.seed}:webhooks" if config.seed else None)
        self._store = store_ref
        self.deliveries: OrderedDict[int, Delivery] = OrderedDict()
        self._heap: list[tuple[float, int, int]] = []
        self._next_id = 0
        self._last_created: datetime | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._client_timeout: float | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._slot_count = 0

    # queueing

    def reset(self, store: Store) -> None:
        """Forget every delivery and return to the configured settings."""
        self._store = store
        self.settings = WebhookSettings.from_config(self._config)
        self._ids = Ids(f"{self._config.seed}:webhooks" if self._config.seed else None)
        self.deliveries.clear()
        self._heap.clear()
        self._next_id = 0
        self._last_created = None
        self._wake.set()

    def _created(self) -> datetime:
        """Strictly increasing event times, so the receiver can always tell newer from older."""
        now = self._store.clock.now()
        if self._last_created is not None and now <= self._last_created:
            now = self._last_created + timedelta(microseconds=1)
        self._last_created = now
        return now

    def build(self, outgoing: Outgoing) -> dict[str, Any]:
        """The body of one event, from its fixture and the sandbox's Data."""
        fixture = _fixture(outgoing.event_type, _variant(outgoing.event_type, outgoing.content))
        data = merge_content(fixture.get("Data") if fixture else None, outgoing.content)
        additional = outgoing.secondary
        if (
            additional is None
            and fixture is not None
            and isinstance(fixture.get("AdditionalData"), str)
            and isinstance(outgoing.content, dict)
        ):
            # A fixture's message text (an Autogiro reason, say) fills in what the sandbox does
            # not model; an id of the fixture's story never does.
            additional = fixture["AdditionalData"]
        return build_envelope(
            outgoing.event_type,
            data,
            event_date=self._created(),
            creditor_public_id=outgoing.creditor_id,
            additional_data=additional,
        )

    def enqueue(self, events: list[Outgoing]) -> list[Delivery]:
        """Queue deliveries of ``events`` (held while no URL is set)."""
        queued = []
        for outgoing in events:
            body = self.build(outgoing)
            delivery = self._add(body, outgoing)
            queued.append(delivery)
            if self.settings.duplicate and self._store.random.random() < self.settings.duplicate:
                queued.append(self._add(body, outgoing, duplicate_of=delivery.id))
        if queued:
            self._trim()
            self._ensure_running()
            self._wake.set()
        return queued

    def _add(
        self, body: dict[str, Any], outgoing: Outgoing, duplicate_of: int | None = None
    ) -> Delivery:
        self._next_id += 1
        content = outgoing.content if isinstance(outgoing.content, dict) else {}
        subject = next((str(content[k]) for k in _SUBJECT_KEYS if content.get(k)), None)
        delivery = Delivery(
            id=self._next_id,
            event_id=self._ids.new("webhook-event")
            if duplicate_of is None
            else self.deliveries[duplicate_of].event_id,
            event_type=outgoing.event_type,
            creditor_id=outgoing.creditor_id,
            subject=subject,
            body=body,
            created_at=self._store.clock.now(),
            duplicate_of=duplicate_of,
        )
        self.deliveries[delivery.id] = delivery
        if self.settings.url:
            extra = 0.05 if duplicate_of is not None else 0.0
            self._schedule(delivery, self.settings.delay_ms / 1000 + extra)
        else:
            delivery.status = "held"
        return delivery

    def _schedule(self, delivery: Delivery, delay: float) -> None:
        delivery.status = "pending"
        due = asyncio.get_running_loop().time() + delay
        window = self.settings.reorder_window_ms / 1000 if self.settings.reorder else 0.0
        heapq.heappush(self._heap, (due + window, delivery.id, delivery.id))

    def _trim(self) -> None:
        limit = self._config.delivery_log_limit
        while len(self.deliveries) > limit:
            oldest_id, oldest = next(iter(self.deliveries.items()))
            if oldest.status in ACTIVE or oldest.status == "held":
                break
            del self.deliveries[oldest_id]

    def release_held(self) -> int:
        """Send what was held while no URL was set."""
        held = [d for d in self.deliveries.values() if d.status == "held"]
        for delivery in held:
            self._schedule(delivery, 0.0)
        if held:
            self._ensure_running()
            self._wake.set()
        return len(held)

    def redeliver(self, ids: list[int] | None = None, *, status: str = "failed") -> int:
        """Send deliveries again (by id, else every one in ``status``), attempts from zero."""
        chosen = (
            [self.deliveries[i] for i in ids if i in self.deliveries]
            if ids
            else [d for d in self.deliveries.values() if d.status == status]
        )
        chosen = [d for d in chosen if d.status not in ACTIVE]
        for delivery in chosen:
            delivery.attempts = 0
            if self.settings.url:
                self._schedule(delivery, 0.0)
            else:
                delivery.status = "held"
        if chosen:
            self._ensure_running()
            self._wake.set()
        return len(chosen)

    # reading

    def active_count(self) -> int:
        return sum(1 for d in self.deliveries.values() if d.status in ACTIVE)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for delivery in self.deliveries.values():
            counts[delivery.status] = counts.get(delivery.status, 0) + 1
        return counts

    async def flush(self, wait: float) -> bool:
        """Wait until nothing is pending or being delivered; False when ``wait`` seconds ran out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while self.active_count():
            if loop.time() >= deadline:
                return False
            self._ensure_running()
            await asyncio.sleep(0.01)
        return True

    # sending

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            if not self._heap:
                await self._wake.wait()
                continue
            now = loop.time()
            due = self._heap[0][0]
            if due > now:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), due - now)
                continue
            batch: list[Delivery] = []
            window = self.settings.reorder_window_ms / 1000 if self.settings.reorder else 0.0
            while self._heap and self._heap[0][0] <= now + window:
                _, _, delivery_id = heapq.heappop(self._heap)
                delivery = self.deliveries.get(delivery_id)
                if delivery is not None and delivery.status == "pending":
                    batch.append(delivery)
            if self.settings.reorder:
                batch.sort(key=lambda d: d.id, reverse=True)
            for delivery in batch:
                slots = self._semaphore()
                await slots.acquire()
                delivery.status = "delivering"
                task = loop.create_task(self._deliver(delivery, slots))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None or self._slot_count != self.settings.concurrency:
            self._slots = asyncio.Semaphore(self.settings.concurrency)
            self._slot_count = self.settings.concurrency
        return self._slots

    def _http(self) -> httpx.AsyncClient:
        timeout = self.settings.timeout_seconds
        if self._client is None or self._client_timeout != timeout:
            self._client = httpx.AsyncClient(
                transport=self._transport, timeout=httpx.Timeout(timeout)
            )
            self._client_timeout = timeout
        return self._client

    async def _deliver(self, delivery: Delivery, slots: asyncio.Semaphore) -> None:
        settings = self.settings
        try:
            delivery.attempts += 1
            headers = {"Content-Type": "application/json"}
            if settings.header_value:
                headers[settings.header_name] = settings.header_value
            started = self._store.clock.now()
            try:
                response = await self._http().post(
                    str(settings.url), json=delivery.body, headers=headers
                )
                delivery.last_status_code = response.status_code
                delivery.last_error = None if response.is_success else response.text[:500]
                ok = response.is_success
            except httpx.HTTPError as exc:
                delivery.last_status_code = None
                delivery.last_error = f"{type(exc).__name__}: {exc}"[:500]
                ok = False
            delivery.history.append(
                {
                    "attempt": delivery.attempts,
                    "at": started.isoformat(),
                    "status_code": delivery.last_status_code,
                    "error": delivery.last_error,
                }
            )
            if self.deliveries.get(delivery.id) is not delivery:
                return  # forgotten by a reset while in flight
            if ok:
                delivery.status = "delivered"
                delivery.delivered_at = self._store.clock.now()
            elif delivery.attempts <= len(settings.retry_schedule):
                self._schedule(delivery, settings.retry_schedule[delivery.attempts - 1])
                self._wake.set()
            else:
                delivery.status = "failed"
                logger.warning(
                    "webhook %s %s failed after %d attempts: %s",
                    delivery.event_type,
                    delivery.event_id,
                    delivery.attempts,
                    delivery.last_error,
                )
        except Exception:
            logger.exception("webhook delivery %s crashed", delivery.id)
            delivery.status = "failed"
        finally:
            slots.release()

    async def aclose(self) -> None:
        """Stop the background task and close the HTTP client."""
        tasks = [t for t in (self._task, *self._in_flight) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
