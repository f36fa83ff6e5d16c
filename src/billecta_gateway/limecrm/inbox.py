"""The Lime inbox: what one authenticated Lime webhook delivery becomes (`lime_webhook_event`).

Dedupe (lime-api.md §3.6): Lime's delivery id when it sends one (v2 signatures), else the
event, ``body.id`` and ``values.timestamp`` (a retry of a v1 message repeats all three). A
system event or an unreadable body is keyed by the hash of its bytes. An authenticated body
that cannot be read is stored ``invalid`` and still acknowledged: with Lime's defaults one
refused message disables the whole subscription. Events of limetypes the gateway does not
mirror are stored ``ignored``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.codec import parse_lime_datetime
from billecta_gateway.limecrm.errors import LimeCodecError
from billecta_gateway.limecrm.names import names_of
from billecta_gateway.webhooks.service import DriverStatement

SYSTEM_EVENTS = ("webhook.webhook.disabled", "webhook.msg_dropped")
LIFECYCLE = ("new", "update", "delete", "restore")
_MAX_ID = 2**63 - 1
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class LimeDelivery:
    """A delivery as the inbox stores it."""

    dedupe_key: str
    delivery_id: str | None
    event_type: str
    limetype: str | None
    object_id: int | None
    lime_timestamp: datetime | None
    payload: Any
    status: str


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _invalid(raw: bytes, delivery_id: str | None, reason: str) -> LimeDelivery:
    text_body = raw.decode("utf-8", errors="replace").replace("\x00", "")
    return LimeDelivery(
        dedupe_key=f"d:{delivery_id}" if delivery_id else "r:" + hashlib.sha256(raw).hexdigest(),
        delivery_id=delivery_id,
        event_type="invalid",
        limetype=None,
        object_id=None,
        lime_timestamp=None,
        payload={"raw": text_body[:100_000], "reason": reason},
        status="invalid",
    )


def _storable(value: Any) -> Any:
    """The payload without what PostgreSQL's JSONB cannot hold (NUL, lone surrogates)."""
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def _object_id(body: dict[str, Any]) -> int | None:
    value = body.get("id")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_ID:
        return None
    return value


def _timestamp(values: Any) -> datetime | None:
    stamp = values.get("timestamp") if isinstance(values, dict) else None
    if not isinstance(stamp, str):
        return None
    try:
        return parse_lime_datetime(stamp, _UTC)
    except LimeCodecError:
        return None


def read_delivery(raw: bytes, *, delivery_id: str | None, schema: LimeSchema) -> LimeDelivery:
    """The inbox row of an authenticated delivery (never raises: unreadable is ``invalid``)."""
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        return _invalid(raw, delivery_id, "the body is not JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        return _invalid(raw, delivery_id, "the body has no `event` name")
    event = payload["event"][:128]
    body = payload.get("body")
    if event in SYSTEM_EVENTS:
        return LimeDelivery(
            dedupe_key=f"d:{delivery_id}"
            if delivery_id
            else "s:" + hashlib.sha256(raw).hexdigest(),
            delivery_id=delivery_id,
            event_type=event,
            limetype=None,
            object_id=None,
            lime_timestamp=None,
            payload=_storable(payload),
            status="received",
        )
    lime_limetype, _, action = event.rpartition(".")
    # The customer's Lime may name the limetype differently (`limecrm.names`).
    limetype = names_of(schema).gateway_limetype(lime_limetype) or lime_limetype
    if not isinstance(body, dict) or action not in LIFECYCLE:
        return _invalid(raw, delivery_id, f"{event!r} is not a <limetype>.<event> with a body")
    object_id = _object_id(body)
    if object_id is None:
        return _invalid(raw, delivery_id, "body.id is not a Lime object id")
    values = body.get("values")
    if action in ("new", "update") and not isinstance(values, dict):
        return _invalid(raw, delivery_id, f"a {action} event needs body.values")
    if action == "update" and not isinstance(body.get("original_values"), dict):
        return _invalid(raw, delivery_id, "an update event needs body.original_values")
    stamp = _timestamp(values)
    key = (
        f"d:{delivery_id}"
        if delivery_id
        else "k:"
        + _sha(
            event, str(object_id), stamp.isoformat() if stamp else hashlib.sha256(raw).hexdigest()
        )
    )
    return LimeDelivery(
        dedupe_key=key,
        delivery_id=delivery_id,
        event_type=event,
        limetype=limetype[:64],
        object_id=object_id,
        lime_timestamp=stamp,
        payload=_storable(payload),
        status="received" if names_of(schema).gateway_limetype(lime_limetype) else "ignored",
    )


_INSERT = text(
    "INSERT INTO lime_webhook_event (dedupe_key, delivery_id, event_type, limetype, object_id, "
    "lime_timestamp, payload, status, enqueued_at) "
    "VALUES (:dedupe_key, :delivery_id, :event_type, :limetype, :object_id, :lime_timestamp, "
    "CAST(:payload AS jsonb), :status, CASE WHEN :queued THEN now() END) "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, status, attempts"
)
_EXISTING = text(
    "SELECT id, status, attempts FROM lime_webhook_event WHERE dedupe_key = :dedupe_key"
)
INSERT_ON_DRIVER = DriverStatement.of(_INSERT)
EXISTING_ON_DRIVER = DriverStatement.of(_EXISTING)


def insert_params(delivery: LimeDelivery) -> dict[str, Any]:
    """The statement's parameters; a ``received`` delivery is marked enqueued (the receiver
    enqueues it right after the insert, the inbox cron re-drives it if that fails)."""
    return {
        "dedupe_key": delivery.dedupe_key,
        "delivery_id": delivery.delivery_id,
        "event_type": delivery.event_type,
        "limetype": delivery.limetype,
        "object_id": delivery.object_id,
        "lime_timestamp": delivery.lime_timestamp,
        "payload": json.dumps(delivery.payload, ensure_ascii=False),
        "status": delivery.status,
        "queued": delivery.status == "received",
    }
