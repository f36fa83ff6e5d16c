"""The Event Log dialog's endpoint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from billecta_gateway.deps import BillectaDep, SessionDep, SettingsDep
from billecta_gateway.errors import spec_validation
from billecta_gateway.eventlog import service
from billecta_gateway.eventlog.schemas import EventRead
from billecta_gateway.invoices.operations import route
from billecta_gateway.invoices.schemas import MAX_ID
from billecta_gateway.openapi_docs import error_response

router = APIRouter(tags=["event log"])


def invalid_request(message: str, errors: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """The spec's 400 for an id that is not a Lime id."""
    return 400, {"error_message": service.INVALID}


@route(
    router,
    "GET",
    "/billecta/event-log/{limetype}/{id}",
    summary="Get an object's event log",
    response_model=list[EventRead],
    responses={
        **error_response(400, service.INVALID),
        **error_response(
            404,
            f"{service.MISSING}; or, when Billecta has no such object, '{service.NOT_IN_BILLECTA}'",
        ),
        **error_response(502, "Billecta rejected the call (Billecta's message is kept)"),
        **error_response(503, "Billecta could not be reached; try again later"),
    },
)
@spec_validation(invalid_request)
async def get_event_log(
    limetype: Annotated[
        str,
        Path(
            description="invoice, order, debtcollection, debtor, creditor or payment",
            examples=["invoice"],
        ),
    ],
    id: Annotated[int, Path(description="The object's Lime `_id`", ge=1, le=MAX_ID)],
    session: SessionDep,
    billecta: BillectaDep,
    settings: SettingsDep,
) -> list[dict[str, str | None]]:
    """The object's events newest first (an empty list when there are none)."""
    return await service.event_log(
        session, billecta=billecta, settings=settings, limetype=limetype, object_id=id
    )
