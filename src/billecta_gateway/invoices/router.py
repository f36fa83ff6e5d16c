"""Invoice endpoints of the spec (payments, write-offs, credit, PDFs, reminders, debt collection,
next event; dispute and pause are in `state_router`). Failures answer each endpoint's documented
code and body; the README's error table lists them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from billecta_gateway.auth import ActorDep
from billecta_gateway.deps import BillectaDep, QueueDep, SessionDep, SettingsDep
from billecta_gateway.documents.service import store_document
from billecta_gateway.errors import spec_validation
from billecta_gateway.idempotency import IdempotencyDep
from billecta_gateway.invoices import credit_use, service
from billecta_gateway.invoices.operations import (
    REPEAT,
    Outcome,
    note_audit,
    perform,
    route,
    succeeded,
)
from billecta_gateway.invoices.schemas import (
    MAX_ID,
    DebtCollectionCreate,
    DocumentCreated,
    EmptyObject,
    InvoiceIdBody,
    InvoicePostpone,
    ManualPaymentCreate,
    MessageBody,
    NextEventRead,
    ReminderInvoiceCreate,
    StatusCodeErrorBody,
    StatusCodeMessageBody,
    StatusCodeRead,
    UseCreditCreate,
    WriteOffCreate,
)
from billecta_gateway.openapi_docs import ErrorBody, ValidationErrorBody, error_response

router = APIRouter(tags=["invoices"])

InvoiceIdPath = Annotated[
    int, Path(description="The invoice's Lime `_id`", ge=1, le=MAX_ID, examples=[1001])
]

EMPTY_OK: dict[int | str, dict[str, Any]] = {
    200: {"description": "Done; the body is empty", "content": {}}
}
BILLECTA_DEFAULTS = {
    **error_response(502, "Billecta rejected the call (Billecta's message is kept)"),
    **error_response(503, "Billecta could not be reached; try again later"),
}
MISSING_404 = error_response(404, "Invoice not found or missing Billecta invoice ID")
NO_PDF_409 = error_response(409, "Billecta has no PDF for this invoice yet")


def postpone_validation(message: str, errors: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """The spec's 400 for a bad ``postpone_days``; other field errors stay 422."""
    if any(str(e.get("field", "")).endswith("postpone_days") for e in errors):
        return 400, {"error_message": service.POSTPONE_DAYS_MESSAGE}
    return 422, {"error_message": message, "errors": errors}


@route(
    router,
    "POST",
    "/billecta/register-manual-payment",
    summary="Register a manual payment",
    response_model=StatusCodeRead,
    responses={
        409: {"model": StatusCodeErrorBody, "description": REPEAT},
        422: {
            "model": ValidationErrorBody,
            "description": "Invalid input, or a currency other than the invoice's",
        },
        500: {
            "model": StatusCodeErrorBody,
            "description": "Invoice missing or not in Billecta, or Billecta failed (or its "
            "outcome is unknown: do not repeat it)",
        },
    },
)
async def register_manual_payment(
    body: ManualPaymentCreate,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    idem: IdempotencyDep,
) -> Response:
    """Register a payment made outside Billecta on an invoice."""
    note_audit(
        request,
        "invoice",
        body.invoice_id,
        amount=str(body.payment_amount),
        currency=body.payment_currencycode,
        payment_date=body.payment_date,
    )

    async def action() -> Outcome:
        await service.register_manual_payment(session, billecta=billecta, body=body)
        return Outcome(200, {"status_code": 200})

    return await perform(
        session, request=request, idem=idem, action=action, style=service.MANUAL_PAYMENT
    )


@route(
    router,
    "POST",
    "/billecta/register-writeoff-payment",
    summary="Register a write-off",
    response_model=StatusCodeRead,
    responses={
        409: {"model": StatusCodeMessageBody, "description": REPEAT},
        500: {
            "model": StatusCodeMessageBody,
            "description": "Invoice missing or not in Billecta, or Billecta failed (or its "
            "outcome is unknown: do not repeat it)",
        },
    },
)
async def register_writeoff_payment(
    body: WriteOffCreate,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    idem: IdempotencyDep,
) -> Response:
    """Write off an uncollectible amount on an invoice."""
    note_audit(
        request,
        "invoice",
        body.invoiceid,
        amount=str(body.amount),
        vat=str(body.vat),
        payment_date=body.paymentdate,
    )

    async def action() -> Outcome:
        await service.register_writeoff_payment(session, billecta=billecta, body=body)
        return Outcome(200, {"status_code": 200})

    return await perform(
        session, request=request, idem=idem, action=action, style=service.WRITE_OFF
    )


@route(
    router,
    "GET",
    "/fetch-invoice-pdf/{invoice_id}/",
    summary="Fetch an invoice PDF",
    response_model=str,
    response_description="The PDF, base64-encoded, as a JSON string",
    responses={
        200: {"content": {"application/json": {"example": "JVBERi0xLjcKJcfsj6IKNSAwIG9iago="}}},
        **MISSING_404,
        **NO_PDF_409,
        **BILLECTA_DEFAULTS,
    },
)
async def fetch_invoice_pdf(
    invoice_id: InvoiceIdPath, session: SessionDep, billecta: BillectaDep
) -> str:
    """Download an invoice's PDF from Billecta, base64-encoded; nothing is stored."""
    invoice, _ = await service.invoice_in_billecta(session, invoice_id, service.PDF)
    pdf = await service.fetch_invoice_pdf(
        session, billecta=billecta, invoice=invoice, record_error=False
    )
    return pdf.base64()


@route(
    router,
    "POST",
    "/fetch-and-save-invoice-pdf/",
    summary="Fetch and save an invoice PDF",
    response_model=DocumentCreated,
    responses={**MISSING_404, **NO_PDF_409, **BILLECTA_DEFAULTS},
)
async def fetch_and_save_invoice_pdf(
    body: InvoiceIdBody,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    actor: ActorDep,
) -> Response:
    """Download an invoice's PDF from Billecta, store it as a document linked as `invoice_pdf`."""
    note_audit(request, "invoice", body.invoice_id)

    async def action() -> Outcome:
        invoice, _ = await service.invoice_in_billecta(session, body.invoice_id, service.PDF)
        pdf = await service.fetch_invoice_pdf(
            session, billecta=billecta, invoice=invoice, record_error=True
        )
        document = await store_document(
            session,
            filename=pdf.filename,
            content_type=pdf.content_type,
            data=pdf.data,
            kind="invoice_pdf",
            owner_limetype="invoice",
            owner_id=invoice.id,
            parameters={
                "actionpublicid": invoice.actionpublicid,
                "file_public_id": pdf.file_public_id,
            },
            created_by=actor,
        )
        invoice.invoice_pdf = document.id
        succeeded(invoice)
        note_audit(request, "invoice", invoice.id, iddocument=document.id)
        return Outcome(200, {"iddocument": document.id})

    return await perform(session, request=request, idem=None, action=action)


@route(
    router,
    "POST",
    "/billecta/use-credit-on-invoice",
    summary="Use credit on an invoice",
    response_class=Response,
    responses={
        **EMPTY_OK,
        404: {"model": MessageBody, "description": "An invoice is missing or not in Billecta"},
        409: {
            "model": MessageBody,
            "description": "Not a credit invoice, no credit left, nothing left to pay, or "
            + REPEAT,
        },
        500: {"model": MessageBody, "description": "Billecta failed"},
    },
)
async def use_credit_on_invoice(
    body: UseCreditCreate,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    settings: SettingsDep,
    queue: QueueDep,
    idem: IdempotencyDep,
) -> Response:
    """Pay an invoice with the credit left on a credit invoice (the smaller of the two amounts)."""
    note_audit(request, "invoice", body.invoicetocreditid, creditinvoiceid=body.creditinvoiceid)

    async def action() -> Outcome:
        outcome = Outcome(200, None)
        amount = await credit_use.use_credit_on_invoice(
            session, billecta=billecta, settings=settings, body=body, jobs=outcome.jobs
        )
        note_audit(request, "invoice", body.invoicetocreditid, amount=str(amount))
        return outcome

    return await perform(
        session, request=request, idem=idem, action=action, queue=queue, style=service.USE_CREDIT
    )


@route(
    router,
    "POST",
    "/billecta/create-reminder-invoice",
    summary="Create a reminder invoice",
    response_model=EmptyObject,
    responses={
        **error_response(409, REPEAT, ErrorBody),
        **error_response(
            500, "Invoice missing ActionPublicId or not mirrored, or Billecta failed", ErrorBody
        ),
    },
)
async def create_reminder_invoice(
    body: ReminderInvoiceCreate,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    settings: SettingsDep,
    queue: QueueDep,
    idem: IdempotencyDep,
) -> Response:
    """Create and send a reminder invoice in Billecta with a fee and new payment terms."""
    note_audit(
        request,
        "invoice",
        None,
        actionpublicid=body.invoice_action_public_id,
        reminder_fee=str(body.reminder_fee),
        currency=body.currency_code,
    )

    async def action() -> Outcome:
        invoice = await service.invoice_by_action_public_id(
            session, body.invoice_action_public_id, service.REMINDER
        )
        note_audit(request, "invoice", invoice.id)
        outcome = Outcome(200, {})
        await service.create_reminder_invoice(
            session,
            billecta=billecta,
            settings=settings,
            invoice=invoice,
            body=body,
            jobs=outcome.jobs,
        )
        return outcome

    return await perform(
        session, request=request, idem=idem, action=action, queue=queue, style=service.REMINDER
    )


@route(
    router,
    "POST",
    "/billecta/send-to-debt-collection",
    summary="Send an invoice to debt collection",
    response_class=Response,
    responses={
        **EMPTY_OK,
        **error_response(409, f"The invoice is already in debt collection. {REPEAT}", ErrorBody),
        **error_response(
            500,
            "Invoice not found or missing Billecta invoice ID, creditor not in Billecta, "
            "or Billecta failed",
            ErrorBody,
        ),
    },
)
async def send_to_debt_collection(
    body: DebtCollectionCreate,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    settings: SettingsDep,
    queue: QueueDep,
    idem: IdempotencyDep,
) -> Response:
    """Escalate an unpaid invoice to debt collection in Billecta, then read it back."""
    note_audit(request, "invoice", body.invoice_id, delivery_method=body.delivery_method)

    async def action() -> Outcome:
        outcome = Outcome(200, None)
        await service.send_to_debt_collection(
            session, billecta=billecta, settings=settings, body=body, jobs=outcome.jobs
        )
        return outcome

    return await perform(
        session,
        request=request,
        idem=idem,
        action=action,
        queue=queue,
        style=service.DEBT_COLLECTION,
    )


@route(
    router,
    "GET",
    "/billecta/get-invoice-next-event/{invoice_id}",
    summary="Get an invoice's next event date",
    response_model=NextEventRead,
    responses={**MISSING_404, **BILLECTA_DEFAULTS},
)
async def get_invoice_next_event(
    invoice_id: InvoiceIdPath, session: SessionDep, billecta: BillectaDep, settings: SettingsDep
) -> NextEventRead:
    """The date (YYYY-MM-DD) of the invoice's next scheduled event, or null when none."""
    next_date = await service.invoice_next_event_date(
        session, billecta=billecta, settings=settings, invoice_id=invoice_id
    )
    return NextEventRead(next_event_date=next_date)


@route(
    router,
    "PUT",
    "/billecta/invoice-postpone-next-event/",
    summary="Postpone an invoice's next event",
    response_model=EmptyObject,
    responses={
        **error_response(400, "postpone_days must be a positive integer"),
        **MISSING_404,
        **error_response(409, f"The invoice has no scheduled event to postpone. {REPEAT}"),
        **BILLECTA_DEFAULTS,
    },
)
@spec_validation(postpone_validation)
async def invoice_postpone_next_event(
    body: InvoicePostpone,
    request: Request,
    session: SessionDep,
    billecta: BillectaDep,
    settings: SettingsDep,
    idem: IdempotencyDep,
) -> Response:
    """Postpone the invoice's next scheduled event in Billecta by `postpone_days` days."""
    note_audit(request, "invoice", body.invoice_id, postpone_days=body.postpone_days)

    async def action() -> Outcome:
        new_date = await service.postpone_invoice_next_event(
            session,
            billecta=billecta,
            settings=settings,
            invoice_id=body.invoice_id,
            postpone_days=body.postpone_days,
        )
        note_audit(request, "invoice", body.invoice_id, next_event_date=new_date)
        return Outcome(200, {})

    return await perform(session, request=request, idem=idem, action=action, style=service.POSTPONE)
