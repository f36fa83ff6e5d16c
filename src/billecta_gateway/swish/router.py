"""Swish endpoints of the spec (create a request, read its status) and the gateway's defaults
endpoint that the Swish dialog pre-fills from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from billecta_gateway.deps import BillectaDep, LimeSchemaDep, SessionDep, SettingsDep
from billecta_gateway.idempotency import IdempotencyDep
from billecta_gateway.invoices.operations import Outcome, note_audit, perform, route
from billecta_gateway.invoices.schemas import MAX_ID
from billecta_gateway.openapi_docs import error_response
from billecta_gateway.swish import service
from billecta_gateway.swish.schemas import (
    SwishDefaults,
    SwishErrorBody,
    SwishRequestCreated,
    SwishStatusRead,
)

router = APIRouter(tags=["swish"])


@route(
    router,
    "POST",
    "/billecta/swish-request/{actionpublicid}",
    summary="Create a Swish payment request",
    status_code=201,
    response_model=SwishRequestCreated,
    responses={
        400: {
            "model": SwishErrorBody,
            "description": "Invalid phone number (INVALID_PHONE_NUMBER), message "
            "(INVALID_MESSAGE) or invoice id (INVALID_INVOICE_ID); Billecta was not called",
        },
        409: {
            "model": SwishErrorBody,
            "description": "An identical request was made within IDEMPOTENCY_WINDOW, or one "
            "is still unconfirmed (DUPLICATE_REQUEST); nothing was sent",
        },
        500: {
            "model": SwishErrorBody,
            "description": "Billecta failed (BILLECTA_ERROR) or could not be reached "
            "(BILLECTA_UNAVAILABLE); OUTCOME_UNKNOWN when the request was sent without an "
            "answer or without its token: do not repeat it",
        },
    },
)
async def create_swish_request(
    actionpublicid: Annotated[
        str,
        Path(
            description="The invoice's Billecta id (`actionpublicid`)",
            examples=["b3f5c9e2-55aa-4f7e-9c1d-0a1b2c3d4e5f"],
        ),
    ],
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    settings: SettingsDep,
    idem: IdempotencyDep,
    phone: Annotated[
        str | None,
        Query(description="The payer's Swedish mobile number", examples=["+46701234567"]),
    ] = None,
    message: Annotated[
        str | None,
        Query(
            description='At most 50 characters (a-ö, A-Ö, 0-9, space, :;.,?!()-"); '
            "SWISH_DEFAULT_MESSAGE when absent",
            examples=["Betalning av faktura 10023"],
        ),
    ] = None,
) -> Response:
    """Send a Swish payment request for an invoice to the payer's phone."""
    note_audit(request, "invoice", None, actionpublicid=actionpublicid)

    async def action() -> Outcome:
        invoice = await service.invoice_for_swish(session, actionpublicid)
        note_audit(request, "invoice", invoice.id)
        token = await service.create_swish_request(
            session,
            billecta=billecta,
            settings=settings,
            invoice=invoice,
            phone=phone,
            message=message,
        )
        note_audit(request, "invoice", invoice.id, requestid=token)
        return Outcome(201, {"requestid": token})

    return await perform(session, request=request, idem=idem, action=action, style=service.SWISH)


@route(
    router,
    "GET",
    "/billecta/swish-request/status/{requestid}",
    summary="Get a Swish payment request's status",
    response_model=SwishStatusRead,
    response_model_exclude_none=True,
    responses={
        404: {"model": SwishErrorBody, "description": "Billecta has no such request"},
        503: {"model": SwishErrorBody, "description": "Billecta failed or could not be reached"},
    },
)
async def get_swish_request_status(
    requestid: Annotated[str, Path(description="The `requestid` of the request", max_length=128)],
    billecta: BillectaDep,
) -> SwishStatusRead:
    """The request's status from Billecta, upper-cased (PAID, DECLINED, ...); for a failed
    request (or a call Billecta refused) its error message, as the spec answers."""
    status = await service.swish_status(billecta, requestid)
    return SwishStatusRead(
        requeststatus=status.requeststatus,
        error_code=status.error_code,
        error_message=status.error_message,
    )


@route(
    router,
    "GET",
    "/billecta/swish-request/defaults/{invoice_id}",
    summary="Get the Swish dialog's defaults for an invoice",
    response_model=SwishDefaults,
    responses={
        **error_response(404, "No invoice with this id"),
        **error_response(500, "SWISH_PHONE_FIELD does not name a property path"),
    },
)
async def get_swish_defaults(
    invoice_id: Annotated[int, Path(description="The invoice's Lime `_id`", ge=1, le=MAX_ID)],
    session: SessionDep,
    schema: LimeSchemaDep,
    settings: SettingsDep,
) -> SwishDefaults:
    """The phone number found through SWISH_PHONE_FIELD and the default message."""
    defaults = await service.swish_defaults(
        session, schema=schema, settings=settings, invoice_id=invoice_id
    )
    return SwishDefaults.model_validate(defaults)
