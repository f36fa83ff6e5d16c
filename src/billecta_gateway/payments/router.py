"""Payment endpoints of the spec: match and delete unhandled payments."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from billecta_gateway.deps import BillectaDep, SessionDep
from billecta_gateway.idempotency import IdempotencyDep
from billecta_gateway.invoices.operations import REPEAT, Outcome, note_audit, perform, route
from billecta_gateway.invoices.schemas import StatusCodeErrorBody, StatusCodeRead
from billecta_gateway.openapi_docs import error_response
from billecta_gateway.payments import service
from billecta_gateway.payments.schemas import (
    PaymentMatchCreate,
    PaymentMatchRead,
    UnhandledPaymentDelete,
)

router = APIRouter(tags=["payments"])


@route(
    router,
    "POST",
    "/billecta/match-payment/",
    summary="Match an unhandled payment to an invoice",
    response_model=PaymentMatchRead,
    responses={
        **error_response(404, "Payment or invoice not found, or not in Billecta (no Billecta id)"),
        **error_response(409, REPEAT),
        **error_response(502, "Billecta rejected the match (Billecta's reason is kept)"),
        **error_response(503, "Billecta could not be reached; try again later"),
    },
)
async def match_payment(
    body: PaymentMatchCreate,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    idem: IdempotencyDep,
) -> Response:
    """Use an unmatched payment (by its Billecta id) on an invoice in Billecta."""
    note_audit(
        request,
        "payment",
        None,
        payment_billecta_id=body.payment_billecta_id,
        invoice_id=body.invoice_id,
    )

    async def action() -> Outcome:
        payment = await service.payment_by_billecta_id(session, body.payment_billecta_id)
        note_audit(request, "payment", payment.id)
        await service.match_payment(
            session,
            billecta=billecta,
            payment=payment,
            payment_billecta_id=body.payment_billecta_id,
            invoice_id=body.invoice_id,
        )
        return Outcome(200, {"status_code": 200, "status": service.MATCH_SUCCESS})

    return await perform(session, request=request, idem=idem, action=action, style=service.MATCH)


@route(
    router,
    "POST",
    "/billecta/delete-unhandled-payment/",
    summary="Delete an unhandled payment",
    response_model=StatusCodeRead,
    responses={
        409: {"model": StatusCodeErrorBody, "description": REPEAT},
        500: {
            "model": StatusCodeErrorBody,
            "description": "Payment not found or without paymentreferenceid, or Billecta failed",
        },
    },
)
async def delete_unhandled_payment(
    body: UnhandledPaymentDelete,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    idem: IdempotencyDep,
) -> Response:
    """Remove an unhandled payment from Billecta (booked on the account); it becomes `deleted`."""
    note_audit(
        request,
        "payment",
        body.id,
        bookkeepingaccount=body.bookkeepingaccount,
        transactiondate=body.transactiondate,
    )

    async def action() -> Outcome:
        await service.delete_unhandled_payment(session, billecta=billecta, body=body)
        return Outcome(200, {"status_code": 200})

    return await perform(session, request=request, idem=idem, action=action, style=service.DELETE)
