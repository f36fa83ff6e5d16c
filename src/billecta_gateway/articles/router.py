"""`/task/upsert-articles-in-billecta` and `/task/delete-articles-in-billecta`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from billecta_gateway.articles.tasks import DELETE_ARTICLE, UPSERT_ARTICLE
from billecta_gateway.auth import ActorDep
from billecta_gateway.deps import LimeSchemaDep, QueueDep, SessionDep
from billecta_gateway.tasks.routing import TASK_ERRORS, start_filter_task
from billecta_gateway.tasks.schemas import TaskRequest, TaskStarted, task_body_example

router = APIRouter(tags=["articles"])


@router.post(
    "/task/upsert-articles-in-billecta",
    summary="Upsert articles in Billecta",
    response_model=TaskStarted,
    responses=TASK_ERRORS,
)
async def upsert_articles_in_billecta(
    request: Request,
    body: Annotated[
        TaskRequest, Body(openapi_examples=task_body_example("Upsert articles in Billecta"))
    ],
    session: SessionDep,
    queue: QueueDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> TaskStarted:
    """Start a background task creating or updating the selected articles in Billecta.

    One job per article sends it as a product once per creditor relation and writes
    `articlepublicid` on each creditorarticle.
    """
    return await start_filter_task(
        request,
        session=session,
        queue=queue,
        schema=schema,
        kind=UPSERT_ARTICLE,
        body=body,
        actor=actor,
    )


@router.post(
    "/task/delete-articles-in-billecta",
    summary="Delete articles in Billecta",
    response_model=TaskStarted,
    responses=TASK_ERRORS,
)
async def delete_articles_in_billecta(
    request: Request,
    body: Annotated[
        TaskRequest, Body(openapi_examples=task_body_example("Delete articles in Billecta"))
    ],
    session: SessionDep,
    queue: QueueDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> TaskStarted:
    """Start a background task deleting the selected articles' products in Billecta.

    One job per article deletes its product for each creditor relation and clears
    `articlepublicid`; a product used on an invoice cannot be deleted (a per-object error).
    """
    return await start_filter_task(
        request,
        session=session,
        queue=queue,
        schema=schema,
        kind=DELETE_ARTICLE,
        body=body,
        actor=actor,
    )
