"""`/task/upsert-debtors-in-billecta` and `/task/anonymize-debtors-in-billecta`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from billecta_gateway.auth import ActorDep
from billecta_gateway.debtors.tasks import ANONYMIZE_DEBTOR, UPSERT_DEBTOR
from billecta_gateway.deps import LimeSchemaDep, QueueDep, SessionDep
from billecta_gateway.tasks.routing import TASK_ERRORS, start_filter_task
from billecta_gateway.tasks.schemas import TaskRequest, TaskStarted, task_body_example

router = APIRouter(tags=["debtors"])


@router.post(
    "/task/upsert-debtors-in-billecta",
    summary="Upsert debtors in Billecta",
    response_model=TaskStarted,
    responses=TASK_ERRORS,
)
async def upsert_debtors_in_billecta(
    request: Request,
    body: Annotated[
        TaskRequest, Body(openapi_examples=task_body_example("Upsert debtors in Billecta"))
    ],
    session: SessionDep,
    queue: QueueDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> TaskStarted:
    """Start a background task creating or updating the selected debtors in Billecta.

    One job per debtor sends it once per creditor relation and writes `debtorpublicid`.
    """
    return await start_filter_task(
        request,
        session=session,
        queue=queue,
        schema=schema,
        kind=UPSERT_DEBTOR,
        body=body,
        actor=actor,
    )


@router.post(
    "/task/anonymize-debtors-in-billecta",
    summary="Anonymize debtors in Billecta",
    response_model=TaskStarted,
    responses=TASK_ERRORS,
)
async def anonymize_debtors_in_billecta(
    request: Request,
    body: Annotated[
        TaskRequest, Body(openapi_examples=task_body_example("Anonymize debtors in Billecta"))
    ],
    session: SessionDep,
    queue: QueueDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> TaskStarted:
    """Start a background task removing the selected debtors' personal data (GDPR).

    Only relations with a `debtorpublicid` are anonymized in Billecta; the gateway's own copy
    is scrubbed too. Invoice PDFs are kept (bookkeeping law).
    """
    return await start_filter_task(
        request,
        session=session,
        queue=queue,
        schema=schema,
        kind=ANONYMIZE_DEBTOR,
        body=body,
        actor=actor,
    )
