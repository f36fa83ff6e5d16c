"""Report endpoints: accounts receivable, account reconciliation, report creator and the list
of configured reports. Each generated file is stored as a document of the object it is for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from billecta_gateway.auth import ActorDep
from billecta_gateway.deps import BillectaDep, LimeSchemaDep, SessionDep, SettingsDep
from billecta_gateway.openapi_docs import ErrorBody, ValidationErrorBody, error_response
from billecta_gateway.reports import service
from billecta_gateway.reports.schemas import (
    AccountReceivablesReportRequest,
    AccountReconciliationReportRequest,
    ReportConfigList,
    ReportCreatorRequest,
    ReportDocument,
)

router = APIRouter(tags=["reports"])

_TOO_LARGE = error_response(
    422,
    "The request is not valid, or a PDF would have more than 5,000 rows (use xlsx)",
    ValidationErrorBody,
)
_BILLECTA = {
    **error_response(502, "Billecta rejected a call (Billecta's message is kept)"),
    **error_response(503, "Billecta or the database is unreachable"),
}
_NO_CREDITOR = error_response(404, "Creditor not found or without its Billecta creditor id")


@router.post(
    "/billecta/account-receivables-report",
    summary="Generate an accounts receivable report (Kundreskontra)",
    response_model=ReportDocument,
    responses={**_NO_CREDITOR, **_TOO_LARGE, **_BILLECTA},
)
async def account_receivables_report(
    request: Request,
    body: AccountReceivablesReportRequest,
    session: SessionDep,
    billecta: BillectaDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> ReportDocument:
    """Open invoices of a creditor at a date with an aging summary, stored as a document."""
    request.state.audit = {"limetype": "creditor", "object_id": body.idcreditor}
    document = await service.create_account_receivables_report(
        session, billecta=billecta, settings=settings, params=body, actor=actor
    )
    await session.commit()
    return ReportDocument(iddocument=document.id)


@router.post(
    "/billecta/account-reconciliation-report",
    summary="Generate an account reconciliation report",
    response_model=ReportDocument,
    responses={
        **error_response(400, "from_date is after to_date, or date_selection_type is unknown"),
        **_NO_CREDITOR,
        **_TOO_LARGE,
        **_BILLECTA,
    },
)
async def account_reconciliation_report(
    request: Request,
    body: AccountReconciliationReportRequest,
    session: SessionDep,
    billecta: BillectaDep,
    settings: SettingsDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> ReportDocument:
    """Lime compared with Billecta for a period, and one account's movements, as a document."""
    request.state.audit = {"limetype": "creditor", "object_id": body.idcreditor}
    document = await service.create_account_reconciliation_report(
        session, billecta=billecta, settings=settings, schema=schema, params=body, actor=actor
    )
    await session.commit()
    return ReportDocument(iddocument=document.id)


@router.post(
    "/billecta/report-creator",
    summary="Generate a configured report",
    response_model=ReportDocument,
    responses={
        **error_response(
            400,
            "A report parameter is missing, ill-typed or unknown, or the report cannot be run "
            "on this limetype (field errors listed in `errors` when there are some)",
            ValidationErrorBody | ErrorBody,
        ),
        **error_response(404, "No report with this config_key, or the object does not exist"),
        **_TOO_LARGE,
    },
)
async def report_creator(
    request: Request,
    body: ReportCreatorRequest,
    session: SessionDep,
    settings: SettingsDep,
    schema: LimeSchemaDep,
    actor: ActorDep,
) -> ReportDocument:
    """A report defined in the reports configuration, run on one object, stored as a document."""
    request.state.audit = {"limetype": body.limetype, "object_id": body.idlimeobject}
    document = await service.create_configured_report(
        session, settings=settings, schema=schema, params=body, actor=actor
    )
    await session.commit()
    return ReportDocument(iddocument=document.id)


@router.get(
    "/billecta/report-configs",
    summary="List the configured reports",
    response_model=ReportConfigList,
)
async def report_configs(
    settings: SettingsDep,
    schema: LimeSchemaDep,
    limetype: Annotated[
        str | None, Query(max_length=64, description="Only reports that run on this limetype")
    ] = None,
) -> ReportConfigList:
    """Every configured report with its parameters and columns (for the report creator)."""
    return ReportConfigList(items=service.list_report_configs(settings, schema, limetype=limetype))
