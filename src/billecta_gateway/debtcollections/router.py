"""Debt collection endpoints of the spec: next event, postpone, cancel, long-term surveillance
and bailiff. Failures answer each endpoint's documented code and body (README error table)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from billecta_gateway.debtcollections import service
from billecta_gateway.debtcollections.schemas import (
    BailiffCreate,
    DebtCollectionIdBody,
    DebtCollectionPostpone,
)
from billecta_gateway.deps import BillectaDep, SessionDep, SettingsDep
from billecta_gateway.errors import spec_validation
from billecta_gateway.idempotency import IdempotencyDep
from billecta_gateway.invoices.operations import REPEAT, Outcome, note_audit, perform, route
from billecta_gateway.invoices.schemas import MAX_ID, NextEventRead
from billecta_gateway.openapi_docs import ErrorBody, error_response

router = APIRouter(tags=["debt collection"])

DebtCollectionIdPath = Annotated[
    int, Path(description="The debt collection's Lime `_id`", ge=1, le=MAX_ID, examples=[1001])
]
EMPTY_OK: dict[int | str, dict[str, Any]] = {
    200: {"description": "Done; the body is empty", "content": {}}
}
MISSING_404 = error_response(404, "Debt collection not found, or without actionpublicid")
BILLECTA_500 = error_response(500, "Billecta failed (its message is kept)")
REPEAT_409 = error_response(409, REPEAT)


def _field_errors_for(errors: list[dict[str, Any]], name: str) -> bool:
    return any(str(e.get("field", "")).endswith(name) for e in errors)


def postpone_validation(message: str, errors: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """Invalid input is the spec's 400; a bad ``postpone_days`` names the rule."""
    if _field_errors_for(errors, "postpone_days"):
        return 400, {"error_message": service.POSTPONE_DAYS_MESSAGE}
    return 400, {"error_message": message, "errors": errors}


def bailiff_validation(message: str, errors: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """The spec's 400 for a bad ``bailiff_option``; other field errors stay 422."""
    if _field_errors_for(errors, "bailiff_option"):
        return 400, {"error_message": service.BAILIFF_OPTION_MESSAGE}
    return 422, {"error_message": message, "errors": errors}


@route(
    router,
    "GET",
    "/billecta/get-debtcollection-next-event/{debtcollection_id}",
    summary="Get a debt collection's next event date",
    response_model=NextEventRead,
    responses={
        **error_response(404, service.MISSING_NEXT_EVENT),
        **error_response(502, "Billecta rejected the call (Billecta's message is kept)"),
        **error_response(503, "Billecta could not be reached; try again later"),
    },
)
async def get_debtcollection_next_event(
    debtcollection_id: DebtCollectionIdPath,
    session: SessionDep,
    billecta: BillectaDep,
    settings: SettingsDep,
) -> NextEventRead:
    """The date (YYYY-MM-DD) of the case's next scheduled event, or null when none."""
    next_date = await service.next_event_date(
        session, billecta=billecta, settings=settings, debtcollection_id=debtcollection_id
    )
    return NextEventRead(next_event_date=next_date)


@route(
    router,
    "PUT",
    "/billecta/postpone-debtcollection-next-event/",
    summary="Postpone a debt collection's next event",
    response_class=Response,
    responses={
        **EMPTY_OK,
        **error_response(
            400, "Invalid input, or the case is not found or not in Billecta", ErrorBody
        ),
        **error_response(409, f"The case has no scheduled event to postpone. {REPEAT}"),
        **BILLECTA_500,
    },
)
@spec_validation(postpone_validation)
async def postpone_debtcollection_next_event(
    body: DebtCollectionPostpone,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    settings: SettingsDep,
    idem: IdempotencyDep,
) -> Response:
    """Postpone the case's next collection event in Billecta by `postpone_days` days."""
    note_audit(request, "debtcollection", body.debtcollection_id, postpone_days=body.postpone_days)

    async def action() -> Outcome:
        new_date = await service.postpone_next_event(
            session,
            billecta=billecta,
            settings=settings,
            debtcollection_id=body.debtcollection_id,
            postpone_days=body.postpone_days,
        )
        note_audit(request, "debtcollection", body.debtcollection_id, next_event_date=new_date)
        return Outcome(200, None)

    return await perform(session, request=request, idem=idem, action=action, style=service.POSTPONE)


async def _case_operation(
    operation: service.CaseOperation,
    debtcollection_id: int,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    idem: IdempotencyDep,
) -> Response:
    note_audit(request, "debtcollection", debtcollection_id, operation=operation.method)

    async def action() -> Outcome:
        await service.run_case_operation(
            session, billecta=billecta, debtcollection_id=debtcollection_id, operation=operation
        )
        return Outcome(200, None)

    return await perform(
        session, request=request, idem=idem, action=action, style=service.CASE_OPERATION
    )


_CASE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **EMPTY_OK,
    **MISSING_404,
    **REPEAT_409,
    **BILLECTA_500,
}


@route(
    router,
    "PUT",
    "/billecta/cancel-debtcollection",
    summary="Cancel a debt collection",
    response_class=Response,
    responses=_CASE_RESPONSES,
)
async def cancel_debtcollection(
    body: DebtCollectionIdBody,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    idem: IdempotencyDep,
) -> Response:
    """Cancel a debt collection case in Billecta."""
    return await _case_operation(
        service.CANCEL, body.debtcollection_id, request, session, billecta, idem
    )


@route(
    router,
    "PUT",
    "/billecta/send-to-long-term-surveillance",
    summary="Send a debt collection to long-term surveillance",
    response_class=Response,
    responses=_CASE_RESPONSES,
)
async def send_to_long_term_surveillance(
    body: DebtCollectionIdBody,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    idem: IdempotencyDep,
) -> Response:
    """Move a debt collection case to long-term surveillance in Billecta."""
    return await _case_operation(
        service.LONG_TERM_SURVEILLANCE, body.debtcollection_id, request, session, billecta, idem
    )


@route(
    router,
    "PUT",
    "/billecta/send-to-bailiff",
    summary="Send a debt collection to the bailiff",
    response_class=Response,
    responses={
        **EMPTY_OK,
        **error_response(400, service.BAILIFF_OPTION_MESSAGE, ErrorBody),
        **MISSING_404,
        **REPEAT_409,
        **BILLECTA_500,
    },
)
@spec_validation(bailiff_validation)
async def send_to_bailiff(
    body: BailiffCreate,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    idem: IdempotencyDep,
) -> Response:
    """Escalate a case to the bailiff (Kronofogden), or to eviction and bailiff."""
    return await _case_operation(
        service.BAILIFF_OPERATIONS[body.bailiff_option],
        body.debtcollection_id,
        request,
        session,
        billecta,
        idem,
    )
