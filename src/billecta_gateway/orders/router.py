"""The order tasks and `/add-message-to-orderrow/`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from billecta_gateway.auth import ActorDep
from billecta_gateway.deps import LimeSchemaDep, QueueDep, SessionDep, SettingsDep
from billecta_gateway.openapi_docs import ErrorBody, ValidationErrorBody
from billecta_gateway.orders import rows
from billecta_gateway.orders.hooks import resync_orders
from billecta_gateway.orders.schemas import AddMessageRequest, AddMessageResponse
from billecta_gateway.orders.tasks import (
    ATTEST_ORDER,
    DELETE_ORDER,
    UPSERT_ATTEST_ORDER,
    UPSERT_ORDER,
)
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import TaskKind
from billecta_gateway.tasks.routing import TASK_ERRORS, start_filter_task
from billecta_gateway.tasks.schemas import TaskRequest, TaskStarted, spec_example, task_body_example

router = APIRouter(tags=["orders"])


async def _start(
    request: Request,
    kind: TaskKind,
    body: TaskRequest,
    session: SessionDep,
    queue: QueueDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> TaskStarted:
    return await start_filter_task(
        request, session=session, queue=queue, schema=schema, kind=kind, body=body, actor=actor
    )


@router.post(
    "/task/upsert-orders-in-billecta",
    summary="Upsert orders in Billecta",
    response_model=TaskStarted,
    responses=TASK_ERRORS,
)
async def upsert_orders_in_billecta(
    request: Request,
    body: Annotated[
        TaskRequest, Body(openapi_examples=task_body_example("Upsert orders in Billecta"))
    ],
    session: SessionDep,
    queue: QueueDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> TaskStarted:
    """Start a background task creating or updating the selected orders in Billecta.

    Each order is verified, its debtor and articles are created in Billecta when missing, and
    it is sent with every row as an un-attested invoice action (`actionpublicid`).
    """
    return await _start(request, UPSERT_ORDER, body, session, queue, schema, actor)


@router.post(
    "/task/attest-orders-in-billecta",
    summary="Attest orders in Billecta",
    response_model=TaskStarted,
    responses=TASK_ERRORS,
)
async def attest_orders_in_billecta(
    request: Request,
    body: Annotated[
        TaskRequest, Body(openapi_examples=task_body_example("Attest orders in Billecta"))
    ],
    session: SessionDep,
    queue: QueueDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> TaskStarted:
    """Start a background task attesting (booking and locking) the selected upserted orders.

    Only orders in `upserted` or `errorattest` can be attested; others fail with a message.
    """
    return await _start(request, ATTEST_ORDER, body, session, queue, schema, actor)


@router.post(
    "/task/upsert-attest-orders-in-billecta",
    summary="Upsert & attest orders in Billecta",
    response_model=TaskStarted,
    responses=TASK_ERRORS,
)
async def upsert_attest_orders_in_billecta(
    request: Request,
    body: Annotated[
        TaskRequest, Body(openapi_examples=task_body_example("Upsert & attest orders in Billecta"))
    ],
    session: SessionDep,
    queue: QueueDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> TaskStarted:
    """Start a background task upserting the selected orders in Billecta and attesting them."""
    return await _start(request, UPSERT_ATTEST_ORDER, body, session, queue, schema, actor)


@router.post(
    "/task/delete-orders-in-billecta",
    summary="Delete orders in Billecta",
    response_model=TaskStarted,
    responses=TASK_ERRORS,
)
async def delete_orders_in_billecta(
    request: Request,
    body: Annotated[
        TaskRequest, Body(openapi_examples=task_body_example("Delete orders in Billecta"))
    ],
    session: SessionDep,
    queue: QueueDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> TaskStarted:
    """Start a background task deleting the selected orders' invoice actions in Billecta.

    Clears `actionpublicid`; attested orders are refused (credit their invoice instead).
    """
    return await _start(request, DELETE_ORDER, body, session, queue, schema, actor)


_ADD_MESSAGE_SUMMARY = "Add a message row after an order row"
_ADD_MESSAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No order row with this id"},
    409: {
        "model": ErrorBody,
        "description": "The order is processing, attested, credited or cancelled",
    },
    422: {
        "model": ValidationErrorBody,
        "description": "Invalid body, or the order row belongs to no order",
    },
    503: {"model": ErrorBody, "description": "The database is unavailable"},
}


@router.post(
    "/add-message-to-orderrow/",
    summary=_ADD_MESSAGE_SUMMARY,
    response_model=AddMessageResponse,
    responses=_ADD_MESSAGE_ERRORS,
)
@router.post(
    "/add-message-to-orderrow",
    summary=_ADD_MESSAGE_SUMMARY,
    response_model=AddMessageResponse,
    responses=_ADD_MESSAGE_ERRORS,
    include_in_schema=False,
)
async def add_message_to_orderrow(
    request: Request,
    body: Annotated[
        AddMessageRequest,
        Body(
            openapi_examples=spec_example(
                {"orderrow_id": 1001, "orderrow_description": "Special handling required"}
            )
        ),
    ],
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
) -> AddMessageResponse:
    """Add a message row right after an order row and move the following rows down.

    One transaction; with `orderrow` in SYNC_ON_CHANGE the order is upserted again after it.
    """
    request.state.audit = {"limetype": "orderrow", "object_id": body.orderrow_id}
    row = await rows.add_message_to_orderrow(
        session, orderrow_id=body.orderrow_id, description=body.orderrow_description
    )
    jobs = AfterCommit()
    if "orderrow" in settings.sync_on_change:
        await resync_orders(session, jobs, [row.order])
    request.state.audit["detail"] = {"new_orderrow_id": row.id}
    await session.commit()
    await jobs.flush(queue)
    assert row.position is not None
    return AddMessageResponse(orderrow_id=row.id, position=row.position)
