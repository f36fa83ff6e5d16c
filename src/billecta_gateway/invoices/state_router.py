"""Invoice state changes of the spec: dispute, pause and their undoing, from one endpoint
factory. Each answers an empty 200, or the documented 404 / 500."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from billecta_gateway.deps import BillectaDep, QueueDep, SessionDep, SettingsDep
from billecta_gateway.idempotency import IdempotencyDep
from billecta_gateway.invoices import service
from billecta_gateway.invoices.operations import Outcome, add_route, note_audit, perform
from billecta_gateway.invoices.router import EMPTY_OK, MISSING_404
from billecta_gateway.invoices.schemas import InvoiceIdBody
from billecta_gateway.openapi_docs import ErrorBody, error_response

router = APIRouter(tags=["invoices"])

STATE_CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **EMPTY_OK,
    **MISSING_404,
    **error_response(500, "Billecta failed", ErrorBody),
}


def _state_change_endpoint(
    change: service.StateChange, name: str, doc: str
) -> Callable[..., Awaitable[Response]]:
    """The endpoint of one invoice state change (dispute, pause and their undoing)."""

    async def endpoint(
        body: InvoiceIdBody,
        request: Request,
        session: SessionDep,
        billecta: BillectaDep,
        settings: SettingsDep,
        queue: QueueDep,
        idem: IdempotencyDep,
    ) -> Response:
        note_audit(request, "invoice", body.invoice_id, operation=change.method)

        async def action() -> Outcome:
            outcome = Outcome(200, None)
            await service.change_invoice_state(
                session,
                billecta=billecta,
                settings=settings,
                invoice_id=body.invoice_id,
                change=change,
                jobs=outcome.jobs,
            )
            return outcome

        # A toggle: repeating it is harmless, and after its undo an identical request is meant.
        return await perform(
            session,
            request=request,
            idem=idem,
            action=action,
            queue=queue,
            style=service.INVOICE_STATE_CHANGE,
            exactly_once=False,
        )

    endpoint.__name__ = endpoint.__qualname__ = name  # the OpenAPI operation id
    endpoint.__doc__ = doc
    return endpoint


for _path, _summary, _change, _name, _doc in (
    (
        "/billecta/dispute-invoice",
        "Dispute an invoice",
        service.DISPUTE,
        "dispute_invoice",
        "Mark an invoice disputed in Billecta (stops reminders), then read it back.",
    ),
    (
        "/billecta/cancel-disputed-invoice",
        "Cancel an invoice's dispute",
        service.UNDISPUTE,
        "cancel_disputed_invoice",
        "Remove an invoice's dispute in Billecta (collection resumes), then read it back.",
    ),
    (
        "/billecta/pause-invoice",
        "Pause an invoice",
        service.PAUSE,
        "pause_invoice",
        "Pause an invoice in Billecta (no reminders or escalation).",
    ),
    (
        "/billecta/resume-paused-invoice",
        "Resume a paused invoice",
        service.RESUME,
        "resume_paused_invoice",
        "Resume a paused invoice in Billecta, then read it back.",
    ),
):
    add_route(
        router,
        "PUT",
        _path,
        _state_change_endpoint(_change, _name, _doc),
        summary=_summary,
        response_class=Response,
        responses=STATE_CHANGE_RESPONSES,
    )
