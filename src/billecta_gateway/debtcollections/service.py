"""Debt collection operations against Billecta (spec: Debt collection handlers).

The case and its ``actionpublicid`` are checked before Billecta is called; a Billecta failure is
written to the case's ``billecta_error_message`` and a success clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.config import Settings
from billecta_gateway.invoices.operations import (
    ErrorStyle,
    call_billecta,
    error_message_body,
    load,
    succeeded,
)
from billecta_gateway.invoices.state import local_date
from billecta_gateway.models import DebtCollection

MISSING_NEXT_EVENT = "Debt collection not found in Billecta or missing Billecta ID"
POSTPONE_DAYS_MESSAGE = "postpone_days must be a positive integer"
BAILIFF_OPTION_MESSAGE = 'bailiff_option must be either "bailiff" or "assistance-with-bailiff"'

NEXT_EVENT = ErrorStyle(error_message_body, missing_status=404)
POSTPONE = ErrorStyle(error_message_body, missing_status=400, billecta_status=500)
CASE_OPERATION = ErrorStyle(error_message_body, missing_status=404, billecta_status=500)


async def case_in_billecta(
    session: AsyncSession, debtcollection_id: int, style: ErrorStyle, message: str | None = None
) -> tuple[DebtCollection, str]:
    """The case and its ``actionpublicid``; ``style.missing`` when either is missing."""
    case = await load(session, DebtCollection, debtcollection_id)
    if case is None:
        raise style.missing(message or f"Debt collection {debtcollection_id} not found")
    if not case.actionpublicid:
        raise style.missing(
            message
            or f"Debt collection {debtcollection_id} has no actionpublicid: it is not in Billecta"
        )
    return case, case.actionpublicid


async def next_event_date(
    session: AsyncSession, *, billecta: BillectaClient, settings: Settings, debtcollection_id: int
) -> date | None:
    """The date of the case's next scheduled event in Billecta (None when none)."""
    _, action_id = await case_in_billecta(
        session, debtcollection_id, NEXT_EVENT, MISSING_NEXT_EVENT
    )
    action = await call_billecta(
        billecta.get_debt_collection_action(action_id),
        style=NEXT_EVENT,
        what="Could not read the debt collection from Billecta",
        not_found_message=MISSING_NEXT_EVENT,
    )
    return local_date(action.state.next_event_date if action.state else None, settings.timezone)


async def postpone_next_event(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    debtcollection_id: int,
    postpone_days: int,
) -> date:
    """Move the case's next event ``postpone_days`` later; returns the new date.

    A case with no scheduled event cannot be postponed (409).
    """
    case, action_id = await case_in_billecta(session, debtcollection_id, POSTPONE)
    what = "Could not postpone the debt collection's next event in Billecta"
    action = await call_billecta(
        billecta.get_debt_collection_action(action_id), style=POSTPONE, what=what, obj=case
    )
    base = local_date(action.state.next_event_date if action.state else None, settings.timezone)
    if base is None:
        raise POSTPONE.conflict(f"Debt collection {case.id} has no scheduled event to postpone")
    new_date = base + timedelta(days=postpone_days)
    await call_billecta(
        billecta.postpone_debt_collection(action_id, new_date),
        style=POSTPONE,
        what=what,
        obj=case,
    )
    succeeded(case)
    return new_date


@dataclass(frozen=True)
class CaseOperation:
    """One of the operations that only name the case (cancel, surveillance, bailiff)."""

    method: str
    what: str


CANCEL = CaseOperation("cancel_debt_collection", "Could not cancel the debt collection in Billecta")
LONG_TERM_SURVEILLANCE = CaseOperation(
    "send_to_long_term_surveillance",
    "Could not send the debt collection to long-term surveillance in Billecta",
)
BAILIFF = CaseOperation(
    "send_to_bailiff", "Could not send the debt collection to the bailiff in Billecta"
)
ASSISTANCE_WITH_BAILIFF = CaseOperation(
    "send_to_assistance_with_bailiff",
    "Could not send the debt collection to eviction and bailiff in Billecta",
)
BAILIFF_OPERATIONS: dict[str, CaseOperation] = {
    "bailiff": BAILIFF,
    "assistance-with-bailiff": ASSISTANCE_WITH_BAILIFF,
}


async def run_case_operation(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    debtcollection_id: int,
    operation: CaseOperation,
) -> DebtCollection:
    """Cancel a case, or send it to long-term surveillance, the bailiff, or eviction and bailiff."""
    case, action_id = await case_in_billecta(session, debtcollection_id, CASE_OPERATION)
    call = getattr(billecta, operation.method)(action_id)
    await call_billecta(call, style=CASE_OPERATION, what=operation.what, obj=case)
    succeeded(case)
    return case
