"""`POST /lime-webhook-receiver`: Lime's Webhooks add-on delivers here (DESIGN §3.11).

Authenticated by `X-Lime-Signature` (v1 or v2, `limecrm.signature`) with `LIME_WEBHOOK_SECRET`;
no API key, so it is mounted beside the Billecta receiver. A delivery is stored with one
autocommitted statement on the receiver's driver pool (`webhooks.intake`), then queued.
"""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from billecta_gateway.deps import LimeSchemaDep, QueueDep, SettingsDep
from billecta_gateway.errors import ServiceUnavailable, Unauthorized
from billecta_gateway.limecrm import inbox
from billecta_gateway.limecrm.processing import enqueue_processing
from billecta_gateway.limecrm.signature import verify
from billecta_gateway.openapi_docs import LIME_WEBHOOK_SECURITY, ErrorBody
from billecta_gateway.queue import AfterCommit
from billecta_gateway.webhooks.intake import DATABASE_DOWN, IntakeDep
from billecta_gateway.webhooks.router import MAX_BODY_BYTES, PayloadTooLarge

router = APIRouter(tags=["lime connector"])

RECEIVER_PATH = "/lime-webhook-receiver"


class LimeWebhookAck(BaseModel):
    """The receiver's answer: the delivery is stored (or was already)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "accepted", "event_id": 812}]}
    )

    status: Literal["accepted", "duplicate", "ignored", "invalid"] = Field(
        description="`accepted`: stored and queued; `duplicate`: an earlier delivery stored it; "
        "`ignored`: stored, of a limetype the gateway does not mirror; `invalid`: stored, the "
        "body cannot be read (acknowledged so Lime does not disable the subscription)"
    )
    event_id: int = Field(description="The Lime inbox id of the delivery")


_EXAMPLE = {
    "event": "debtor.update",
    "body": {
        "id": 1001,
        "limetype": "debtor",
        "original_values": {"name": "Acme"},
        "values": {"name": "Acme AB", "timestamp": "2026-12-01T10:00:00.123000+01:00"},
    },
}


@router.post(RECEIVER_PATH + "/", include_in_schema=False)
@router.post(
    RECEIVER_PATH,
    summary="Receive a Lime webhook",
    response_model=LimeWebhookAck,
    responses={
        401: {"model": ErrorBody, "description": "Missing, wrong or expired X-Lime-Signature"},
        413: {"model": ErrorBody, "description": "The body is larger than 1 MiB"},
        503: {"model": ErrorBody, "description": "The delivery could not be stored; retry later"},
    },
    openapi_extra={
        "security": LIME_WEBHOOK_SECURITY,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}, "example": _EXAMPLE}},
        },
    },
)
async def receive_lime_webhook(
    request: Request,
    intake: IntakeDep,
    queue: QueueDep,
    settings: SettingsDep,
    schema: LimeSchemaDep,
) -> LimeWebhookAck:
    """Store a Lime delivery in the Lime inbox and queue it; 200 once it is stored durably.

    The signature is checked over the raw body against each configured secret (two during a
    rotation); a wrong one is 401 and nothing is stored. A body that cannot be read is stored
    `invalid` and still answered 200.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    secrets = [s.get_secret_value() for s in settings.lime_webhook_secret]
    verified = verify(request.headers, raw, secrets, now=time.time())
    if verified is None:
        raise Unauthorized("Missing, wrong or expired X-Lime-Signature")
    delivery = inbox.read_delivery(raw, delivery_id=verified.delivery_id, schema=schema)
    try:
        row, duplicate = await intake.insert_or_existing(
            inbox.INSERT_ON_DRIVER, inbox.EXISTING_ON_DRIVER, inbox.insert_params(delivery)
        )
    except DATABASE_DOWN as exc:
        raise ServiceUnavailable(
            "The delivery could not be stored, the database is unavailable; retry later",
            headers={"Retry-After": "60"},
        ) from exc
    event_id, status = int(row["id"]), str(row["status"])
    if not duplicate and status == "received":
        jobs = AfterCommit()
        enqueue_processing(jobs, [(event_id, int(row["attempts"]))])
        # Redis down: the row stays marked enqueued and the Lime inbox cron re-drives it.
        await jobs.flush(queue)
    answer = (
        "duplicate"
        if duplicate
        else {"ignored": "ignored", "invalid": "invalid"}.get(status, "accepted")
    )
    return LimeWebhookAck(status=answer, event_id=event_id)
