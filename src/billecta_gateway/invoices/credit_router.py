"""`/task/credit-invoices-in-billecta`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from billecta_gateway.auth import ActorDep
from billecta_gateway.deps import LimeSchemaDep, QueueDep, SessionDep
from billecta_gateway.invoices.credit import CREDIT_INVOICE
from billecta_gateway.tasks.routing import TASK_ERRORS, start_filter_task
from billecta_gateway.tasks.schemas import TaskRequest, TaskStarted, task_body_example

router = APIRouter(tags=["invoices"])


@router.post(
    "/task/credit-invoices-in-billecta",
    summary="Credit invoices in Billecta",
    response_model=TaskStarted,
    responses=TASK_ERRORS,
)
async def credit_invoices_in_billecta(
    request: Request,
    body: Annotated[
        TaskRequest, Body(openapi_examples=task_body_example("Credit invoices in Billecta"))
    ],
    session: SessionDep,
    queue: QueueDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> TaskStarted:
    """Start a background task creating and attesting a credit invoice for each invoice.

    Each credit invoice's Billecta id is recorded on its original; the credit invoice's own
    row arrives with its webhook.
    """
    return await start_filter_task(
        request,
        session=session,
        queue=queue,
        schema=schema,
        kind=CREDIT_INVOICE,
        body=body,
        actor=actor,
    )
