"""The report services: check the request, gather and render the report, store the document.

Services never commit; the route commits once after the document is stored. Every check that
can refuse a request runs before anything is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.config import ConfigurationError, Settings
from billecta_gateway.errors import BadRequest, GatewayError, NotFound
from billecta_gateway.lime.read import resolve_alias
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.models import Creditor, Document
from billecta_gateway.reports.creator import build_creator_report, check_parameters
from billecta_gateway.reports.definitions import ReportsConfig, json_value, load_reports_config
from billecta_gateway.reports.output import render_report, store_report
from billecta_gateway.reports.receivables import build_receivables_report
from billecta_gateway.reports.reconciliation import build_reconciliation_report
from billecta_gateway.reports.schemas import (
    DATE_SELECTION_TYPES,
    AccountReceivablesReportRequest,
    AccountReconciliationReportRequest,
    ReportColumnRead,
    ReportConfigRead,
    ReportCreatorRequest,
    ReportParameterRead,
)


def reports_config(settings: Settings, schema: LimeSchema) -> ReportsConfig:
    """The configured reports (a broken configuration file is a 500 that says what is wrong)."""
    try:
        return load_reports_config(settings.reports_config_file, schema)
    except ConfigurationError as exc:
        raise GatewayError(f"The reports configuration is invalid: {exc}") from exc


async def billecta_creditor(session: AsyncSession, creditor_id: int) -> tuple[Creditor, str]:
    """The creditor and its Billecta id, or a 404 saying which is missing."""
    creditor = await session.get(Creditor, await resolve_alias(session, "creditor", creditor_id))
    if creditor is None:
        raise NotFound(f"Creditor {creditor_id} not found")
    if not creditor.creditorpublicid:
        raise NotFound(f"Creditor {creditor_id} has no Billecta creditor id (creditorpublicid)")
    return creditor, creditor.creditorpublicid


async def create_account_receivables_report(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    params: AccountReceivablesReportRequest,
    actor: str | None,
) -> Document:
    """Render the accounts receivable report of a creditor at a date and store it."""
    creditor, public_id = await billecta_creditor(session, params.idcreditor)
    report, streams = await build_receivables_report(
        session,
        billecta=billecta,
        creditor=creditor,
        creditor_public_id=public_id,
        params=params,
        zone=settings.timezone,
        today=datetime.now(settings.timezone).date(),
    )
    data = await render_report(report, params.file_format, streams=streams)
    return await store_report(
        session,
        report=report,
        file_format=params.file_format,
        data=data,
        owner_limetype="creditor",
        owner_id=creditor.id,
        parameters={"report": "account_receivables", **params.model_dump(mode="json")},
        created_by=actor,
    )


async def create_account_reconciliation_report(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    schema: LimeSchema,
    params: AccountReconciliationReportRequest,
    actor: str | None,
) -> Document:
    """Render the reconciliation of a creditor's account for a period and store it."""
    if params.date_selection_type not in DATE_SELECTION_TYPES:
        raise BadRequest(
            f"date_selection_type {params.date_selection_type[:40]!r} is not allowed; use "
            f"{', '.join(DATE_SELECTION_TYPES)}"
        )
    if params.from_date > params.to_date:
        raise BadRequest(
            f"from_date ({params.from_date.isoformat()}) is after to_date "
            f"({params.to_date.isoformat()})"
        )
    config = reports_config(settings, schema)
    creditor, public_id = await billecta_creditor(session, params.idcreditor)
    report = await build_reconciliation_report(
        session,
        billecta=billecta,
        creditor=creditor,
        creditor_public_id=public_id,
        params=params,
        plan=config.accounts,
        zone=settings.timezone,
        today=datetime.now(settings.timezone).date(),
    )
    data = await render_report(report, params.file_format)
    return await store_report(
        session,
        report=report,
        file_format=params.file_format,
        data=data,
        owner_limetype="creditor",
        owner_id=creditor.id,
        parameters={"report": "account_reconciliation", **params.model_dump(mode="json")},
        created_by=actor,
    )


async def create_configured_report(
    session: AsyncSession,
    *,
    settings: Settings,
    schema: LimeSchema,
    params: ReportCreatorRequest,
    actor: str | None,
) -> Document:
    """Render a configured report for an object and store it as that object's document."""
    config = reports_config(settings, schema)
    report = config.reports.get(params.config_key)
    if report is None:
        raise NotFound(f"No report is configured with config_key {params.config_key!r}")
    if params.limetype not in report.owners:
        raise BadRequest(
            f"Report {report.key} cannot be run on {params.limetype[:64]!r}; it runs on "
            f"{', '.join(sorted(report.owners))}"
        )
    values = check_parameters(report, params.report_parameters())
    spec = schema.limetypes[params.limetype]
    owner_id = await resolve_alias(session, params.limetype, params.idlimeobject)
    owner = await session.get(spec.model, owner_id)
    if owner is None:
        raise NotFound(f"{params.limetype} {params.idlimeobject} not found")
    data, streams = await build_creator_report(
        session,
        schema=schema,
        report=report,
        owner_limetype=params.limetype,
        owner_id=owner.id,
        owner_name=getattr(owner, "name", None),
        values=values,
        zone=settings.timezone,
    )
    content = await render_report(data, params.file_format, streams=streams)
    stored: dict[str, Any] = {
        "report": report.key,
        "config_key": report.key,
        "limetype": params.limetype,
        "idlimeobject": params.idlimeobject,
        "file_format": params.file_format,
        **{name: json_value(value) for name, value in values.items()},
    }
    return await store_report(
        session,
        report=data,
        file_format=params.file_format,
        data=content,
        owner_limetype=params.limetype,
        owner_id=owner.id,
        parameters=stored,
        created_by=actor,
    )


def list_report_configs(
    settings: Settings, schema: LimeSchema, *, limetype: str | None = None
) -> list[ReportConfigRead]:
    """The configured reports (those runnable on `limetype` when given), by config key."""
    config = reports_config(settings, schema)
    items = []
    for key in sorted(config.reports):
        report = config.reports[key]
        if limetype is not None and limetype not in report.owners:
            continue
        items.append(
            ReportConfigRead(
                config_key=key,
                title=report.title,
                description=report.description,
                limetype=report.limetype,
                owner_limetypes=sorted(report.owners),
                file_formats=["xlsx", "pdf"],
                parameters=[
                    ReportParameterRead(
                        name=p.name,
                        type=p.type,
                        label=p.label,
                        required=p.required,
                        options=list(p.options) or None,
                        default=json_value(p.default),
                        description=p.description,
                    )
                    for p in report.parameters
                ],
                columns=[
                    ReportColumnRead(field=c.field, label=c.label, format=c.format, sum=c.sum)
                    for c in report.columns
                ],
                sort=list(report.sort),
            )
        )
    return items
