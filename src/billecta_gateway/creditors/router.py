"""`/task/update-creditor-in-billecta`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from billecta_gateway.auth import ActorDep
from billecta_gateway.creditors.schemas import CreditorTaskRequest
from billecta_gateway.creditors.service import check_creditor
from billecta_gateway.creditors.tasks import UPDATE_CREDITOR
from billecta_gateway.deps import QueueDep, SessionDep
from billecta_gateway.openapi_docs import ErrorBody, ValidationErrorBody
from billecta_gateway.tasks.routing import start_ids_task
from billecta_gateway.tasks.schemas import TaskStarted, spec_example

router = APIRouter(tags=["creditors"])


@router.post(
    "/task/update-creditor-in-billecta",
    summary="Update creditor in Billecta",
    response_model=TaskStarted,
    responses={
        404: {
            "model": ErrorBody,
            "description": "No creditor with this id, or it has no `creditorpublicid`",
        },
        422: {"model": ValidationErrorBody, "description": "Invalid body"},
        503: {"model": ErrorBody, "description": "The database is unavailable"},
    },
)
async def update_creditor_in_billecta(
    request: Request,
    body: Annotated[
        CreditorTaskRequest,
        Body(
            openapi_examples=spec_example(
                {
                    "integration_monitor_batch_title": "Update creditor in Billecta",
                    "creditor_id": 1001,
                }
            )
        ),
    ],
    session: SessionDep,
    queue: QueueDep,
    actor: ActorDep,
) -> TaskStarted:
    """Start a background task updating one creditor in Billecta.

    The job validates the creditor in Billecta, copies its default settings into the gateway
    and sends two updates: the creditor and its default configuration.
    """
    request.state.audit = {"limetype": "creditor", "object_id": body.creditor_id}
    await check_creditor(session, body.creditor_id)
    return await start_ids_task(
        request,
        session=session,
        queue=queue,
        kind=UPDATE_CREDITOR,
        title=body.integration_monitor_batch_title,
        actor=actor,
        object_ids=[body.creditor_id],
    )
