"""Billecta's webhook body (`WebhookEvent`): the one place that knows its shape.

Billecta posts (billecta-api.md §6.1)

    {"EventDate": "2026-03-10T07:30:00", "CreditorPublicId": "<guid>", "Event": "<trigger name>",
     "Data": <the event's view model, or a bare string>, "AdditionalData": <usually null>}

- `EventDate` carries no offset: it is Billecta's clock, Europe/Stockholm, whatever the
  gateway's `BUSINESS_TIMEZONE`. (In the autumn hour that occurs twice the earlier one is
  taken.) It is what orders events (`billecta_event_at`).
- There is no event id: a delivery Billecta retries repeats the same body, so the dedupe key is
  a SHA-256 of the canonical body (keys sorted, no whitespace).
- `Data` may be an object, a string (`InvoiceActionDeleted` sends the ActionPublicId) or null.

The names of an earlier guess (`EventType`, `Created`, `Content`, `SecondaryContent`,
`EventId`) are accepted as aliases, so events stored under them keep replaying.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

# Billecta's clock: an `EventDate` without offset is a Stockholm wall-clock time.
BILLECTA_TIMEZONE = ZoneInfo("Europe/Stockholm")

# `webhook_event.dedupe_key` is 128 characters; longer event ids are hashed.
_MAX_EVENT_ID_KEY = 120

# Where each part of the body is read from, Billecta's name first, then the older aliases.
_EVENT = ("Event", "EventType")
_EVENT_DATE = ("EventDate", "Created")
_DATA = ("Data", "Content")
_ADDITIONAL_DATA = ("AdditionalData", "SecondaryContent")


class MalformedEnvelope(ValueError):
    """The body is not JSON, or not a webhook body; the message says what is wrong."""


class Envelope(BaseModel):
    """Billecta's `WebhookEvent` (see the module docstring)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    event_date: datetime = Field(
        validation_alias=AliasChoices(*_EVENT_DATE),
        serialization_alias="EventDate",
        description="When the event happened, Billecta's clock (Europe/Stockholm, no offset)",
    )
    creditor_public_id: str | None = Field(
        default=None, alias="CreditorPublicId", max_length=64, description="The creditor (guid)"
    )
    event: str = Field(
        validation_alias=AliasChoices(*_EVENT),
        serialization_alias="Event",
        min_length=1,
        max_length=128,
        description="The trigger name, e.g. InvoicePaymentReceived",
    )
    data: Any = Field(
        default=None,
        validation_alias=AliasChoices(*_DATA),
        serialization_alias="Data",
        description="The event's view model, or a bare string (e.g. an ActionPublicId)",
    )
    additional_data: Any = Field(
        default=None,
        validation_alias=AliasChoices(*_ADDITIONAL_DATA),
        serialization_alias="AdditionalData",
        description="Usually null; a DebtorPublicId string for InvoiceActionDeleted",
    )
    # Read only from bodies of the earlier guess; Billecta sends no event id.
    event_id: str | None = Field(default=None, alias="EventId", max_length=1000, exclude=True)

    @field_validator("event_id", "creditor_public_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("event")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("Event must name the trigger, e.g. InvoicePaymentReceived")
        return value

    @field_validator("event_date")
    @classmethod
    def _billecta_clock(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=BILLECTA_TIMEZONE) if value.tzinfo is None else value

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The request body's schema under Billecta's names (the aliases left out)."""
        schema = cls.model_json_schema(by_alias=True, mode="serialization")
        schema["properties"].pop("EventId", None)
        schema["required"] = ["EventDate", "Event"]
        return schema


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
        """The body's creditor, else the one its Data names."""
        if self.envelope.creditor_public_id:
            return self.envelope.creditor_public_id
        data = self.envelope.data
        if isinstance(data, dict):
            value = data.get("CreditorPublicId")
            if isinstance(value, str) and value:
                return value[:64]
        return None


def _first(body: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in body:
            return body[name]
    return None


def stored_data(body: dict[str, Any]) -> Any:
    """The `Data` of a stored body (under either name)."""
    return _first(body, _DATA)


def stored_additional_data(body: dict[str, Any]) -> Any:
    """The `AdditionalData` of a stored body (under either name)."""
    return _first(body, _ADDITIONAL_DATA)


def canonical_json(body: Any) -> str:
    """The body serialised deterministically (sorted keys, no whitespace)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dedupe_key(envelope: Envelope, body: dict[str, Any]) -> str:
    """`sha256:<digest of the canonical body>`; `id:<EventId>` for a body of the earlier guess
    that carried one."""
    if envelope.event_id:
        if len(envelope.event_id) <= _MAX_EVENT_ID_KEY:
            return f"id:{envelope.event_id}"
        return "idsha256:" + hashlib.sha256(envelope.event_id.encode()).hexdigest()
    return "sha256:" + hashlib.sha256(canonical_json(body).encode()).hexdigest()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a delivery; MalformedEnvelope when it is not one."""
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise MalformedEnvelope("The body is not valid JSON") from None
    if not isinstance(body, dict):
        raise MalformedEnvelope("The body must be a JSON object (Billecta's WebhookEvent)")
    return body


def _field_name(loc: tuple[int | str, ...]) -> str:
    """A validation error's field under Billecta's name."""
    names = {"event": "Event", "event_date": "EventDate"}
    first = str(loc[0]) if loc else "body"
    return names.get(first, first)


def parse_envelope(body: dict[str, Any]) -> Envelope:
    """Validate a body; MalformedEnvelope names the fields that are missing or wrong."""
    try:
        return Envelope.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_field_name(err['loc'])}: "
            + ("Field required" if err["type"] == "missing" else err["msg"])
            for err in exc.errors(include_input=False)[:5]
        )
        raise MalformedEnvelope(f"The webhook body is not valid: {problems}") from None


def parse_delivery(raw: bytes) -> ParsedEvent:
    """Parse one delivery: JSON, WebhookEvent, dedupe key."""
    body = parse_body(raw)
    envelope = parse_envelope(body)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # JSON in UTF-16 or UTF-32: stored re-serialised
        text = None
    return ParsedEvent(
        envelope=envelope, body=body, dedupe_key=dedupe_key(envelope, body), text=text
    )


def billecta_clock(moment: datetime) -> str:
    """A moment as Billecta writes `EventDate`: Stockholm wall-clock time, no offset."""
    local = moment.astimezone(BILLECTA_TIMEZONE) if moment.tzinfo else moment
    return local.replace(tzinfo=None).isoformat()


def build_envelope(
    event: str,
    data: Any,
    *,
    event_date: datetime,
    creditor_public_id: str | None,
    additional_data: Any = None,
) -> dict[str, Any]:
    """A body as Billecta sends it (reconciliation findings, the sandbox)."""
    return {
        "EventDate": billecta_clock(event_date),
        "CreditorPublicId": creditor_public_id,
        "Event": event,
        "Data": data,
        "AdditionalData": additional_data,
    }


def parsed_event(body: dict[str, Any], *, key: str | None = None) -> ParsedEvent:
    """A body the gateway built itself, as an inbox event; `key` replaces the body hash as the
    dedupe key when the same finding must be stored once whatever its EventDate."""
    envelope = parse_envelope(body)
    return ParsedEvent(envelope=envelope, body=body, dedupe_key=key or dedupe_key(envelope, body))
