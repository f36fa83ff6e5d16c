"""Shared OpenAPI pieces: tags and the error responses every Lime-facing route documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error_message: str = Field(examples=["Invoice not found or missing Billecta invoice ID"])


class FieldError(BaseModel):
    loc: list[str]
    field: str
    message: str
    type: str


class ValidationErrorBody(BaseModel):
    error_message: str = Field(examples=["Invalid request: invoice_id: Field required"])
    errors: list[FieldError]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid `x-api-key`"},
    422: {"model": ValidationErrorBody, "description": "The request is not valid"},
    500: {"model": ErrorBody, "description": "Unexpected error (the body carries a request id)"},
}

OPENAPI_TAGS: list[dict[str, str]] = [
    {"name": "health", "description": "Liveness and readiness probes"},
    {
        "name": "lime objects",
        "description": "Object ingestion from Lime, the read API and the change feed",
    },
    {"name": "integration monitor", "description": "Batches and logs of background work"},
    {"name": "articles", "description": "Articles → Billecta products (background tasks)"},
    {"name": "creditors", "description": "Creditor settings in Billecta (background task)"},
    {"name": "debtors", "description": "Debtors → Billecta, anonymization (background tasks)"},
    {
        "name": "orders",
        "description": "Orders → Billecta invoice actions, attest, delete; message rows",
    },
    {
        "name": "invoices",
        "description": "Payments, write-offs, credits, disputes, pauses, reminders, PDFs",
    },
    {"name": "payments", "description": "Matching and deleting unhandled payments"},
    {
        "name": "debt collection",
        "description": "Next event, postpone, cancel, bailiff, surveillance",
    },
    {"name": "swish", "description": "Swish payment requests for invoices"},
    {"name": "event log", "description": "The event history of an object"},
    {"name": "documents", "description": "Stored reports and invoice PDFs"},
    {
        "name": "reports",
        "description": "Accounts receivable, account reconciliation, report creator",
    },
    {"name": "webhooks", "description": "Billecta webhook receiver, inbox, retrigger and backfill"},
]


def error_response(
    status: int, description: str, model: type[BaseModel] = ErrorBody
) -> dict[int | str, dict[str, Any]]:
    """One documented error response for a route's `responses=`."""
    return {status: {"model": model, "description": description}}
