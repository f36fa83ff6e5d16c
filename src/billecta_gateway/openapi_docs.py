"""The OpenAPI document: shared error bodies, tags, security schemes and the post-processing
that gives every route its operation id, common headers and the errors it can answer.

Everything that is the same for every route lives here, so a route added later gets it
without touching this file: `install_openapi(app)` runs once per generated document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from billecta_gateway.auth import LIME_API_KEY
from billecta_gateway.deps import get_billecta, get_queue, get_session
from billecta_gateway.idempotency import HEADER as IDEMPOTENCY_HEADER
from billecta_gateway.idempotency import REPLAY_HEADER
from billecta_gateway.input_guard import INT64_MAX, INT64_MIN, flat_dependants
from billecta_gateway.webhooks.intake import get_intake

# The security scheme names; routes declare them with `openapi_extra={"security": ...}`
# when their authentication is not a dependency (the Lime key is `require_api_key`).
BILLECTA_WEBHOOK_KEY = "billectaWebhookKey"
LIME_WEBHOOK_SIGNATURE = "limeWebhookSignature"
Security = list[dict[str, list[str]]]
OPEN: Security = []
BILLECTA_WEBHOOK_SECURITY: Security = [{BILLECTA_WEBHOOK_KEY: []}]
LIME_WEBHOOK_SECURITY: Security = [{LIME_WEBHOOK_SIGNATURE: []}]


class ErrorBody(BaseModel):
    error_message: str = Field(examples=["Invoice not found or missing Billecta invoice ID"])


class FieldError(BaseModel):
    loc: list[str] = Field(examples=[["body", "invoice_id"]])
    field: str = Field(examples=["invoice_id"])
    message: str = Field(examples=["Field required"])
    type: str = Field(examples=["missing"])


class ValidationErrorBody(BaseModel):
    error_message: str = Field(examples=["Invalid request: invoice_id: Field required"])
    errors: list[FieldError]


VALIDATION_DESCRIPTION = (
    "The request is not valid: a field error, a body that is not JSON or not UTF-8, a control "
    "character in a string, or an integer beyond 64 bits"
)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid `x-api-key`"},
    422: {"model": ValidationErrorBody, "description": VALIDATION_DESCRIPTION},
    500: {"model": ErrorBody, "description": "Unexpected error (the body carries a request id)"},
}

OPENAPI_TAGS: list[dict[str, str]] = [
    {"name": "health", "description": "Liveness and readiness probes"},
    {
        "name": "lime objects",
        "description": "Object ingestion from Lime, the read API and the change feed",
    },
    {"name": "lime connector", "description": "The connection to Lime CRM: inbox, poll, import"},
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
    status: int, description: str, model: Any = ErrorBody
) -> dict[int | str, dict[str, Any]]:
    """One documented error response for a route's `responses=` (`model` may be a union)."""
    return {status: {"model": model, "description": description}}


def operation_id(route: APIRoute) -> str:
    """The operation id of a route: its function name (`register_manual_payment`)."""
    return route.name


def security_schemes(webhook_header: str) -> dict[str, Any]:
    """The three ways a caller authenticates, as OpenAPI security schemes."""
    return {
        LIME_API_KEY: {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "One of the configured Lime API keys (`LIME_API_KEYS`)",
        },
        BILLECTA_WEBHOOK_KEY: {
            "type": "apiKey",
            "in": "header",
            "name": webhook_header,
            "description": (
                "The key Billecta sends with every webhook (`WEBHOOK_API_KEY`, header "
                "`WEBHOOK_HEADER_NAME`); two comma-separated keys are accepted during rotation"
            ),
        },
        LIME_WEBHOOK_SIGNATURE: {
            "type": "apiKey",
            "in": "header",
            "name": "X-Lime-Signature",
            "description": (
                "Lime's webhook signature: `sha256=<hex>`, the HMAC-SHA256 of the raw body "
                "keyed with the subscription's secret, compared in constant time"
            ),
        },
    }


COMMON_HEADERS: dict[str, Any] = {
    "XRequestId": {
        "description": (
            "The request's id, in every answer and in every log line of the request; an "
            "incoming `x-request-id` of 1 to 64 letters, digits, `.`, `_` or `-` is kept"
        ),
        "schema": {"type": "string", "examples": ["4f1d0c2b9a8e7d6c5b4a39281706f5e4"]},
    },
    "RetryAfter": {
        "description": "Seconds to wait before retrying, when the gateway knows",
        "schema": {"type": "integer", "minimum": 0, "examples": [60]},
    },
    "IdempotencyReplayed": {
        "description": (
            "`true` when this answer is the stored result of an earlier call made with the "
            "same `Idempotency-Key`; Billecta was not called again"
        ),
        "schema": {"type": "string", "enum": ["true"]},
    },
}

IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes the call safe to repeat: a repeat with the same key within "
        "`IDEMPOTENCY_TTL_HOURS` answers the first result without calling Billecta again; "
        "the same key with a different request is a 422"
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[!-~]+$",
        "examples": ["3f1c2b9e-7d4a-4e61-9a0b-1c2d3e4f5a6b"],
    },
}

UNAVAILABLE = {
    "description": "The database, Redis or Billecta is unavailable; retry later",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def _uses_backend(route: APIRoute) -> bool:
    """True when the route reaches the database, Redis or Billecta (so it can answer 503)."""
    backends: set[Callable[..., Any]] = {get_session, get_billecta, get_queue, get_intake}
    return any(d.call in backends for d in flat_dependants(route.dependant))


def _header_refs(status: str, operation: dict[str, Any]) -> dict[str, Any]:
    headers: dict[str, Any] = {"x-request-id": {"$ref": "#/components/headers/XRequestId"}}
    if status in ("429", "503"):
        headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
    idempotent = any(
        p.get("$ref") == "#/components/parameters/IdempotencyKey"
        for p in operation.get("parameters", ())
    )
    if idempotent and status.startswith("2"):
        headers[REPLAY_HEADER] = {"$ref": "#/components/headers/IdempotencyReplayed"}
    return headers


def _int64(parameter: dict[str, Any]) -> None:
    """Integer path and query parameters are 64-bit: a larger value is a 422."""
    schema = parameter.get("schema", {})
    for candidate in [schema, *schema.get("anyOf", ())]:
        if candidate.get("type") == "integer":
            candidate.setdefault("format", "int64")
            candidate.setdefault("maximum", INT64_MAX)
            candidate.setdefault("minimum", INT64_MIN)


_SAMPLE_ERRORS = [
    {"loc": ["body", "x"], "field": "x", "message": "Field required", "type": "missing"}
]


def _document_spec_validation(responses: dict[str, Any], shape: Callable[..., Any]) -> None:
    """Document each status the route's own validation answer gives (DESIGN §3.3)."""
    for errors in ([], _SAMPLE_ERRORS):
        status, body = shape("Invalid request", errors)
        entry = responses.setdefault(str(status), {"description": VALIDATION_DESCRIPTION})
        media = entry.setdefault("content", {}).setdefault("application/json", {})
        model = "ValidationErrorBody" if "errors" in body else "ErrorBody"
        wanted = {"$ref": f"#/components/schemas/{model}"}
        documented = media.get("schema")
        if documented is None:
            media["schema"] = wanted
        elif wanted != documented and wanted not in documented.get("anyOf", []):
            # The route answers the same status for its own checks with another body.
            media["schema"] = {"anyOf": [wanted, documented]}


def _complete(route: APIRoute, operation: dict[str, Any]) -> None:
    """Add what every operation documents: headers, 503, the validation answer, int64."""
    parameters = operation.get("parameters", [])
    for index, parameter in enumerate(parameters):
        if parameter.get("in") == "header" and parameter.get("name") == IDEMPOTENCY_HEADER:
            parameters[index] = {"$ref": "#/components/parameters/IdempotencyKey"}
        elif parameter.get("in") in ("path", "query"):
            _int64(parameter)
    responses: dict[str, Any] = operation["responses"]
    if _uses_backend(route) and "503" not in responses:
        responses["503"] = dict(UNAVAILABLE)
    shape = getattr(route.endpoint, "__spec_validation__", None)
    if shape is not None:
        _document_spec_validation(responses, shape)
    for status, response in responses.items():
        empty = status.startswith("2") and "content" not in response
        if empty and response.get("description") == "Successful Response":
            response["description"] = "Done; the answer has no body"
        response.setdefault("headers", {}).update(_header_refs(status, operation))


def _routes(app: FastAPI) -> dict[str, APIRoute]:
    """The documented routes by operation id (their function names are unique)."""
    found: dict[str, APIRoute] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            found[operation_id(route)] = route
    return found


def install_openapi(app: FastAPI, *, webhook_header: str) -> None:
    """Replace `app.openapi` by the generator that completes every operation."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        components = document.setdefault("components", {})
        components["securitySchemes"] = security_schemes(webhook_header)
        components["headers"] = COMMON_HEADERS
        components["parameters"] = {"IdempotencyKey": IDEMPOTENCY_PARAMETER}
        schemas = components.setdefault("schemas", {})
        schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
        routes = _routes(app)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                route = routes.get(operation.get("operationId", ""))
                if route is not None:
                    _complete(route, operation)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
