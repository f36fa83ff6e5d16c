"""Billecta's webhook envelope: the one place that knows its shape.

Billecta's exact JSON envelope is not public. The gateway assumes

    {"EventId": str | null, "EventType": str, "CreditorPublicId": str, "Created": date-time,
     "Content": <the event's view model>, "SecondaryContent": any}

and keeps every assumption in this module, so a different real envelope changes one file.
A date-time without an offset is read in the business time zone (Billecta's own clock is
Stockholm time). The dedupe key is `EventId` when present, else a SHA-256 of the canonical body
(keys sorted, no whitespace), so a delivery retried by Billecta is stored once either way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# `webhook_event.dedupe_key` is 128 characters; longer event ids are hashed.
_MAX_EVENT_ID_KEY = 120


class MalformedEnvelope(ValueError):
    """The body is not JSON, or not an envelope; the message says what is wrong."""


class Envelope(BaseModel):
    """The envelope around every Billecta webhook (see the module docstring)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    event_id: str | None = Field(default=None, alias="EventId", max_length=1000)
    event_type: str = Field(alias="EventType", min_length=1, max_length=128)
    creditor_public_id: str | None = Field(default=None, alias="CreditorPublicId", max_length=64)
    created: datetime = Field(alias="Created")
    content: Any = Field(alias="Content")
    secondary_content: Any = Field(default=None, alias="SecondaryContent")

    @field_validator("event_id", "creditor_public_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("event_type")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("EventType must name the event, e.g. InvoicePaymentReceived")
        return value

    @field_validator("content")
    @classmethod
    def _content_present(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("Content is required")
        return value


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    """An authenticated delivery, ready to be stored in the inbox."""

    envelope: Envelope
    body: dict[str, Any]
    dedupe_key: str
    # The delivery's JSON text as received, stored as it is (no second serialisation); None
    # for events the gateway builds itself.
    text: str | None = None

    @property
    def creditor_public_id(self) -> str | None:
        """The envelope's creditor, else the one the content names."""
        if self.envelope.creditor_public_id:
            return self.envelope.creditor_public_id
        content = self.envelope.content
        if isinstance(content, dict):
            value = content.get("CreditorPublicId")
            if isinstance(value, str) and value:
                return value[:64]
        return None


def canonical_json(body: Any) -> str:
    """The body serialised deterministically (sorted keys, no whitespace)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dedupe_key(envelope: Envelope, body: dict[str, Any]) -> str:
    """`id:<EventId>` when Billecta gives an event id, else `sha256:<digest of the body>`."""
    if envelope.event_id:
        if len(envelope.event_id) <= _MAX_EVENT_ID_KEY:
            return f"id:{envelope.event_id}"
        return "idsha256:" + hashlib.sha256(envelope.event_id.encode()).hexdigest()
    return "sha256:" + hashlib.sha256(canonical_json(body).encode()).hexdigest()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _aware(value: datetime, naive_tz: tzinfo) -> datetime:
    return value.replace(tzinfo=naive_tz) if value.tzinfo is None else value


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a delivery; MalformedEnvelope when it is not one."""
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise MalformedEnvelope("The body is not valid JSON") from None
    if not isinstance(body, dict):
        raise MalformedEnvelope("The body must be a JSON object (the webhook envelope)")
    return body


def parse_envelope(body: dict[str, Any], *, naive_tz: tzinfo) -> Envelope:
    """Validate an envelope; MalformedEnvelope names the fields that are wrong."""
    try:
        envelope = Envelope.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors(include_input=False)[:5]
        )
        raise MalformedEnvelope(f"The webhook envelope is not valid: {problems}") from None
    envelope.created = _aware(envelope.created, naive_tz)
    return envelope


def parse_delivery(raw: bytes, *, naive_tz: tzinfo) -> ParsedEvent:
    """Parse one delivery: JSON, envelope, dedupe key."""
    body = parse_body(raw)
    envelope = parse_envelope(body, naive_tz=naive_tz)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # JSON in UTF-16 or UTF-32: stored re-serialised
        text = None
    return ParsedEvent(
        envelope=envelope, body=body, dedupe_key=dedupe_key(envelope, body), text=text
    )


def build_envelope(
    event_type: str,
    content: Any,
    *,
    created: datetime,
    creditor_public_id: str | None,
    event_id: str | None = None,
    secondary_content: Any = None,
) -> dict[str, Any]:
    """An envelope as Billecta would send it (fixtures, reconciliation, the simulator)."""
    return {
        "EventId": event_id,
        "EventType": event_type,
        "CreditorPublicId": creditor_public_id,
        "Created": created.isoformat(),
        "Content": content,
        "SecondaryContent": secondary_content,
    }
