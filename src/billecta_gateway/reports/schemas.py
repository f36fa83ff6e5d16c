"""Request and response bodies of the report endpoints (field names as the spec documents)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FileFormat = Literal["xlsx", "pdf"]
DATE_SELECTION_TYPES: tuple[str, ...] = ("invoice_date", "due_date", "payment_date")
MAX_ID = 2**63 - 1


class AccountReceivablesReportRequest(BaseModel):
    """Open receivables of a creditor at a date (Kundreskontra)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "idcreditor": 1001,
                    "date": "2025-09-30",
                    "exclude_invoices_with_period_outside_date": False,
                    "is_period_specific": False,
                    "file_format": "xlsx",
                }
            ]
        }
    )

    idcreditor: int = Field(ge=1, le=MAX_ID, description="The creditor's Lime id")
    date: dt.date = Field(description="Report date (YYYY-MM-DD): receivables open at its end")
    exclude_invoices_with_period_outside_date: bool = Field(
        default=False,
        description=(
            "Leave out invoices whose period (invoice or row periods) begins after the date"
        ),
    )
    is_period_specific: bool = Field(
        default=False,
        description=(
            "Count only the part of each invoice whose rows' periods begin on or before the "
            "date; amounts of rows for later periods are left out"
        ),
    )
    file_format: FileFormat = Field(default="xlsx", description="`xlsx` or `pdf`")


class AccountReconciliationReportRequest(BaseModel):
    """Lime and Billecta compared for a creditor, a period and a bookkeeping account."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "idcreditor": 1001,
                    "from_date": "2025-01-01",
                    "to_date": "2025-09-30",
                    "account": "1920",
                    "date_selection_type": "invoice_date",
                    "opening_balance": 10000.50,
                    "file_format": "xlsx",
                }
            ]
        }
    )

    idcreditor: int = Field(ge=1, le=MAX_ID, description="The creditor's Lime id")
    from_date: dt.date = Field(description="First day of the period (YYYY-MM-DD)")
    to_date: dt.date = Field(description="Last day of the period (YYYY-MM-DD)")
    account: str = Field(
        min_length=1, max_length=16, description="General ledger account to reconcile"
    )
    date_selection_type: str = Field(
        description="Which date selects the records: `invoice_date`, `due_date` or `payment_date`",
        json_schema_extra={"enum": list(DATE_SELECTION_TYPES)},
    )
    opening_balance: Decimal | None = Field(
        default=None,
        max_digits=16,
        decimal_places=2,
        description="The account's balance at the start of the period (0 when not given)",
    )
    file_format: FileFormat = Field(default="xlsx", description="`xlsx` or `pdf`")


class ReportCreatorRequest(BaseModel):
    """A configured report; the report's own parameters are further fields of the body."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "config_key": "accounts_receivable",
                    "limetype": "creditor",
                    "idlimeobject": 1001,
                    "file_format": "xlsx",
                    "date_from": "2025-01-01",
                    "date_to": "2025-09-30",
                }
            ]
        },
    )

    config_key: str = Field(min_length=1, max_length=128, description="Key of the report")
    limetype: str = Field(
        min_length=1, max_length=64, description="Limetype of the object the report is run on"
    )
    idlimeobject: int = Field(ge=1, le=MAX_ID, description="Id of the object the report is for")
    file_format: FileFormat = Field(default="xlsx", description="`xlsx` or `pdf`")

    def report_parameters(self) -> dict[str, Any]:
        """The fields beyond the fixed ones: the report's own parameters."""
        return dict(self.model_extra or {})


class ReportDocument(BaseModel):
    """The stored report; download it from `documents/{iddocument}`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"iddocument": 5043}]})

    iddocument: int


class ReportParameterRead(BaseModel):
    """A parameter the report creator dialog asks for."""

    name: str
    type: Literal["date", "boolean", "option", "string", "integer", "decimal"]
    label: str
    required: bool
    options: list[str] | None = None
    default: Any = None
    description: str | None = None


class ReportColumnRead(BaseModel):
    """A column of the report."""

    field: str
    label: str
    format: str
    sum: bool


class ReportConfigRead(BaseModel):
    """One configured report: what it reads, what it asks for and what it shows."""

    config_key: str
    title: str
    description: str | None
    limetype: str = Field(description="The source limetype whose objects are the report's rows")
    owner_limetypes: list[str] = Field(description="Limetypes the report can be run on")
    file_formats: list[FileFormat]
    parameters: list[ReportParameterRead]
    columns: list[ReportColumnRead]
    sort: list[str]


class ReportConfigList(BaseModel):
    """Every configured report."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "config_key": "payment_summary",
                            "title": "Payment Summary",
                            "description": "Payments received in a period",
                            "limetype": "payment",
                            "owner_limetypes": ["creditor"],
                            "file_formats": ["xlsx", "pdf"],
                            "parameters": [
                                {
                                    "name": "date_from",
                                    "type": "date",
                                    "label": "From date",
                                    "required": True,
                                    "options": None,
                                    "default": None,
                                    "description": None,
                                }
                            ],
                            "columns": [
                                {
                                    "field": "amount",
                                    "label": "Amount",
                                    "format": "money",
                                    "sum": True,
                                }
                            ],
                            "sort": ["paymentdate"],
                        }
                    ]
                }
            ]
        }
    )

    items: list[ReportConfigRead]
