"""The Billecta webhook receiver, the inbox API and the webhook tasks.

`receiver_router` is mounted without the Lime API key: Billecta authenticates with its own
header (`WEBHOOK_HEADER_NAME`, value one of `WEBHOOK_API_KEY`). `router` is Lime-facing.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.exc import DBAPIError

from billecta_gateway.auth import ActorDep, constant_time_match
from billecta_gateway.deps import QueueDep, SessionDep, SettingsDep
from billecta_gateway.errors import (
    BadRequest,
    GatewayError,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)
from billecta_gateway.models import Creditor
from billecta_gateway.openapi_docs import (
    BILLECTA_WEBHOOK_SECURITY,
    ErrorBody,
    ValidationErrorBody,
    error_response,
)
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.routing import TASK_ERRORS
from billecta_gateway.tasks.schemas import TaskStarted
from billecta_gateway.webhooks import inbox, queries, service
from billecta_gateway.webhooks.envelope import Envelope, MalformedEnvelope, parse_delivery
from billecta_gateway.webhooks.fixtures import fixture_bytes
from billecta_gateway.webhooks.intake import DATABASE_DOWN, IntakeDep
from billecta_gateway.webhooks.queries import EventRow
from billecta_gateway.webhooks.reconcile import parse_since
from billecta_gateway.webhooks.schemas import (
    BackfillRequest,
    ReplayableStatus,
    ReplayResult,
    RetriggerRequest,
    TouchedObject,
    WebhookAck,
    WebhookEventPage,
    WebhookEventRead,
    WebhookStatus,
)
from billecta_gateway.webhooks.tasks import RetriggerNotStarted, start_backfill, start_retrigger

logger = logging.getLogger("billecta_gateway.webhooks")

MAX_BODY_BYTES = 1_048_576
MAX_ID = 2**63 - 1

receiver_router = APIRouter(tags=["webhooks"])
router = APIRouter(tags=["webhooks"])


class PayloadTooLarge(GatewayError):
    status_code = 413
    default_message = "The webhook body is larger than 1 MiB"


@receiver_router.post("/billecta-webhook-receiver/", include_in_schema=False)
@receiver_router.post(
    "/billecta-webhook-receiver",
    summary="Receive a Billecta webhook",
    response_model=WebhookAck,
    responses={
        400: {
            "model": ErrorBody,
            "description": "The body is not JSON, or lacks `Event` or `EventDate` (named)",
        },
        401: {"model": ErrorBody, "description": "Missing or invalid webhook key header"},
        413: {"model": ErrorBody, "description": "The body is larger than 1 MiB"},
        503: {"model": ErrorBody, "description": "The event could not be stored; retry later"},
    },
    openapi_extra={
        "security": BILLECTA_WEBHOOK_SECURITY,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": Envelope.json_schema(),
                    "example": json.loads(fixture_bytes("InvoicePaymentReceived")),
                }
            },
        },
    },
)
async def receive_billecta_webhook(
    request: Request, intake: IntakeDep, queue: QueueDep, settings: SettingsDep
) -> WebhookAck:
    """Store a Billecta event in the inbox and queue it; 200 once it is stored durably.

    Authenticated by the configured webhook header (two keys accepted during rotation). A
    repeated delivery is answered `duplicate`; an unsupported event type is stored `ignored`.
    When Redis is down the event is still stored and answered 200: a cron enqueues it.
    """
    keys = [k.get_secret_value() for k in settings.webhook_api_key]
    if not constant_time_match(request.headers.get(settings.webhook_header_name), keys):
        raise Unauthorized(f"Missing or invalid {settings.webhook_header_name} header")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    try:
        parsed = parse_delivery(raw)
    except MalformedEnvelope as exc:
        raise BadRequest(str(exc)) from None
    try:
        stored = await intake.store(parsed)
    except asyncpg.DataError as exc:
        # Valid JSON that PostgreSQL cannot keep (a \u0000 in a string, say): nothing stored.
        raise BadRequest(f"The webhook body cannot be stored: {exc.__class__.__name__}") from None
    except DATABASE_DOWN as exc:
        raise ServiceUnavailable(
            "The event could not be stored, the database is unavailable; retry later",
            headers={"Retry-After": "60"},
        ) from exc
    if stored.status == "received":
        jobs = AfterCommit()
        service.enqueue_processing(jobs, [(stored.id, stored.attempts)])
        if not await jobs.flush(queue):
            # Unreachable too: the event stays marked enqueued; the cron re-drives it later.
            with contextlib.suppress(*DATABASE_DOWN):
                await intake.forget_enqueue(stored.id)
    return WebhookAck(status=stored.answer, event_id=stored.id)


def _read(row: EventRow, *, payload: bool) -> WebhookEventRead:
    e = row.event
    return WebhookEventRead(
        id=e.id,
        event_id=e.event_id,
        event_type=e.event_type,
        creditorpublicid=e.creditorpublicid,
        created=e.created,
        status=e.status,
        attempts=e.attempts,
        next_attempt_at=e.next_attempt_at,
        enqueued_at=e.enqueued_at,
        processed_at=e.processed_at,
        last_error=e.last_error,
        received_at=e.received_at,
        objects=[TouchedObject(limetype=t, object_id=i) for t, i in row.objects],
        payload=e.payload if payload else None,
    )


EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="The inbox id of the event")]
_INVALID = error_response(422, "Unknown status, malformed date-time or limit", ValidationErrorBody)
_NOT_FOUND = error_response(404, "No webhook event with this id")


@router.get(
    "/webhook-events",
    summary="List webhook events",
    response_model=WebhookEventPage,
    responses=_INVALID,
)
async def list_webhook_events(
    session: SessionDep,
    status: Annotated[WebhookStatus | None, Query(description="Only events of this status")] = None,
    event_type: Annotated[
        str | None, Query(max_length=128, description="Only events of this type")
    ] = None,
    creditorpublicid: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="Received at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Received before (ISO 8601)")] = None,
    limetype: Annotated[
        str | None, Query(max_length=64, description="Only events that touched this limetype")
    ] = None,
    object_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="... and this object (needs `limetype`)")
    ] = None,
    include_payload: Annotated[bool, Query(description="Include each delivery's body")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> WebhookEventPage:
    """Inbox events newest first, for operators and the Event Log dialog (by object)."""
    page = await queries.list_events(
        session,
        status=status,
        event_type=event_type,
        creditorpublicid=creditorpublicid,
        since=since,
        until=until,
        limetype=limetype,
        object_id=object_id,
        limit=limit,
        cursor=cursor,
    )
    return WebhookEventPage(
        items=[_read(row, payload=include_payload) for row in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/webhook-events/{event_id}",
    summary="Read one webhook event",
    response_model=WebhookEventRead,
    responses=_NOT_FOUND,
)
async def read_webhook_event(session: SessionDep, event_id: EventId) -> WebhookEventRead:
    """One inbox event with its payload and the objects it touched."""
    return _read(await queries.get_event(session, event_id=event_id), payload=True)


@router.post(
    "/webhook-events/replay",
    summary="Replay webhook events",
    response_model=ReplayResult,
    responses=_INVALID,
)
async def replay_webhook_events(
    request: Request,
    session: SessionDep,
    queue: QueueDep,
    status: Annotated[ReplayableStatus, Query(description="Which events to replay")] = "failed",
    since: Annotated[datetime | None, Query(description="Received at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Received before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
) -> ReplayResult:
    """Process again every event of a status (failed by default) received in a period.

    The replay is recorded in the audit log with the ids it covered.
    """
    events, more = await inbox.replay_events(
        session, status=status, since=since, until=until, now=service.utcnow(), limit=limit
    )
    ids = [event_id for event_id, _ in events]
    request.state.audit = {
        "limetype": "webhook_event",
        "detail": {"status": status, "since": str(since) if since else None, "event_ids": ids},
    }
    await session.commit()
    jobs = AfterCommit()
    service.enqueue_processing(jobs, events)
    await jobs.flush(queue)
    return ReplayResult(replayed=len(ids), event_ids=ids, more=more)


@router.post(
    "/webhook-events/{event_id}/replay",
    summary="Replay one webhook event",
    response_model=WebhookEventRead,
    responses={
        **_NOT_FOUND,
        **error_response(409, "The event's type is not supported: nothing to replay"),
    },
)
async def replay_webhook_event(
    request: Request, session: SessionDep, queue: QueueDep, event_id: EventId
) -> WebhookEventRead:
    """Process one event again, whatever its status (recorded in the audit log)."""
    event = await inbox.replay_event(session, event_id=event_id, now=service.utcnow())
    request.state.audit = {
        "limetype": "webhook_event",
        "object_id": event_id,
        "detail": {"event_type": event.event_type, "attempts": event.attempts},
    }
    await session.commit()
    jobs = AfterCommit()
    service.enqueue_processing(jobs, [(event.id, event.attempts)])
    await jobs.flush(queue)
    return _read(await queries.get_event(session, event_id=event_id), payload=False)


@router.post(
    "/task/billecta-retrigger-failed-webhooks",
    summary="Retrigger failed webhook events",
    response_model=TaskStarted,
    responses={
        **TASK_ERRORS,
        500: {
            "model": ErrorBody,
            "description": "Error starting retrigger task (no creditor in Billecta, or the "
            "task could not be recorded); nothing was started",
        },
    },
)
async def retrigger_failed_webhooks(
    request: Request,
    session: SessionDep,
    queue: QueueDep,
    actor: ActorDep,
    body: RetriggerRequest | None = None,
) -> TaskStarted:
    """Start the retrigger at once: per creditor, re-drive failed events of the last 48 hours
    and reconcile with Billecta (one monitored job per creditor)."""
    jobs = AfterCommit()
    title = body.integration_monitor_batch_title if body else None
    try:
        batch_id = await start_retrigger(session, jobs=jobs, title=title, created_by=actor)
        await session.commit()
    except (DBAPIError, OSError) as exc:
        # The spec documents its own answer for a retrigger that cannot start.
        logger.warning("retrigger not started: %s", type(exc).__name__)
        raise RetriggerNotStarted() from None
    request.state.audit = {
        "limetype": "creditor",
        "detail": {
            "task": "retrigger_failed_webhook_events",
            "integration_monitor_batch_id": batch_id,
        },
    }
    # Redis unreachable: the batch is recorded, and the re-drive cron sends its fan-out.
    await jobs.flush(queue)
    return TaskStarted(task_id=str(batch_id), integration_monitor_batch_id=batch_id)


@router.post(
    "/task/backfill-from-billecta",
    summary="Backfill a creditor from Billecta",
    response_model=TaskStarted,
    responses={
        **TASK_ERRORS,
        **error_response(404, "No creditor with this id, or it has no creditorpublicid"),
    },
)
async def backfill_from_billecta(
    request: Request,
    session: SessionDep,
    queue: QueueDep,
    settings: SettingsDep,
    actor: ActorDep,
    body: BackfillRequest,
) -> TaskStarted:
    """Read a creditor's Billecta invoices and payments (since a time, or all) into the mirror,
    through the webhook handlers, as a monitored task."""
    creditor = await session.get(Creditor, body.creditor_id)
    if creditor is None or not creditor.creditorpublicid:
        raise NotFound(
            f"Creditor {body.creditor_id} not found or missing its Billecta id (creditorpublicid)"
        )
    jobs = AfterCommit()
    since = parse_since(body.since, settings.timezone)
    batch_id = await start_backfill(
        session,
        jobs=jobs,
        creditor_id=creditor.id,
        since=since,
        title=body.integration_monitor_batch_title,
        created_by=actor,
    )
    audit: dict[str, Any] = {
        "task": "backfill_from_billecta",
        "integration_monitor_batch_id": batch_id,
    }
    request.state.audit = {"limetype": "creditor", "object_id": creditor.id, "detail": audit}
    await session.commit()
    await jobs.flush(queue)
    return TaskStarted(task_id=str(batch_id), integration_monitor_batch_id=batch_id)
