"""Request and response bodies of the webhook receiver, the inbox API and the webhook tasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

WebhookStatus = Literal["received", "pending", "processed", "failed", "ignored"]
ReplayableStatus = Literal["failed", "pending", "processed"]


class WebhookAck(BaseModel):
    """The receiver's answer: the delivery is stored (or was already)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "accepted", "event_id": 5512}]}
    )

    status: Literal["accepted", "duplicate", "ignored"] = Field(
        description="`accepted`: stored and queued; `duplicate`: an earlier delivery stored it; "
        "`ignored`: stored, but the event type is not one the gateway handles"
    )
    event_id: int = Field(description="The inbox id of the event")


class TouchedObject(BaseModel):
    """A mirrored object an event created or changed."""

    limetype: str = Field(examples=["invoice"])
    object_id: int = Field(examples=[1000000000042])


_EVENT_EXAMPLE: dict[str, Any] = {
    "id": 5512,
    "event_id": None,
    "event_type": "InvoicePaymentReceived",
    "creditorpublicid": "8a6b2c1d-3e4f-4a5b-8c7d-9e0f1a2b3c4d",
    "created": "2026-03-04T10:15:00+01:00",
    "status": "pending",
    "attempts": 2,
    "next_attempt_at": "2026-03-04T09:19:00Z",
    "enqueued_at": "2026-03-04T09:16:00Z",
    "processed_at": None,
    "last_error": "Invoice 7545769088 is not known to the gateway yet",
    "received_at": "2026-03-04T09:15:02Z",
    "objects": [],
}


class WebhookEventRead(BaseModel):
    """One event of the webhook inbox."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EVENT_EXAMPLE]})

    id: int = Field(description="The inbox id")
    event_id: str | None = Field(
        description="Billecta sends no event id: set only for events stored under the earlier "
        "body names (`EventId`)"
    )
    event_type: str = Field(description="The body's `Event` (Billecta's trigger name)")
    creditorpublicid: str | None
    created: datetime | None = Field(
        description="The body's `EventDate`: when the event occurred in Billecta"
    )
    status: WebhookStatus = Field(
        description="`received` (queued), `pending` (waiting to be retried), `processed`, "
        "`failed` (retries exhausted; replayable), `ignored` (unsupported event type)"
    )
    attempts: int = Field(description="Processing attempts so far")
    next_attempt_at: datetime | None
    enqueued_at: datetime | None
    processed_at: datetime | None
    last_error: str | None = Field(description="Why the last attempt did not succeed")
    received_at: datetime
    objects: list[TouchedObject] = Field(description="The mirrored objects the event touched")
    payload: dict[str, Any] | None = Field(
        default=None, description="The delivery as received (when asked for)"
    )


class WebhookEventPage(BaseModel):
    """One page of inbox events, newest first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_EVENT_EXAMPLE], "next_cursor": 5511}]}
    )

    items: list[WebhookEventRead]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next page")


class ReplayResult(BaseModel):
    """Events made due again; each is processed by the worker."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"replayed": 2, "event_ids": [5512, 5513], "more": False}]}
    )

    replayed: int
    event_ids: list[int]
    more: bool = Field(description="True when `limit` stopped the replay: call it again")


class RetriggerRequest(BaseModel):
    """The spec sends `{}`; a batch title may be given."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{}]})

    integration_monitor_batch_title: str | None = Field(default=None, max_length=255)


class BackfillRequest(BaseModel):
    """Read a creditor's existing Billecta data into the mirror."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"creditor_id": 3, "since": "2025-01-01"}]},
    )

    creditor_id: int = Field(ge=1, le=2**63 - 1, description="The Lime id of the creditor")
    since: date | datetime | None = Field(
        default=None,
        description="Read what changed from this date (business time zone) or time on; "
        "everything when omitted",
    )
    integration_monitor_batch_title: str | None = Field(default=None, max_length=255)
