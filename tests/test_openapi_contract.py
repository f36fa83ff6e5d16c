"""The OpenAPI document is a contract a third party can build on: valid, every route secured
or marked open, stable operation ids, an example for every body, every error it can answer."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from billecta_gateway.cli import openapi_document
from billecta_gateway.openapi_docs import OPENAPI_TAGS
from tests.conftest import LIME_KEY

PREFIX = "/limepkg-billecta-integration"
# Routes anyone may call: probes (the docs themselves are not operations).
OPEN_OPERATIONS = {"healthz", "readyz"}
# Routes authenticated by their caller's own means instead of the Lime key.
OWN_AUTHENTICATION = {
    "receive_billecta_webhook": [{"billectaWebhookKey": []}],
    "receive_lime_webhook": [{"limeWebhookSignature": []}],
}
# Routes that touch neither the database, Redis nor Billecta, so they cannot answer 503.
NO_BACKEND = {"healthz", "readyz", "report_configs"}

# The operation ids third parties' generated clients are named after: changing one breaks
# their code, so a change here is a breaking change of the API.
OPERATION_IDS = {
    "account_receivables_report",
    "account_reconciliation_report",
    "add_message_to_orderrow",
    "anonymize_debtors_in_billecta",
    "attest_orders_in_billecta",
    "backfill_from_billecta",
    "cancel_debtcollection",
    "cancel_disputed_invoice",
    "create_reminder_invoice",
    "create_swish_request",
    "credit_invoices_in_billecta",
    "delete_articles_in_billecta",
    "delete_object",
    "delete_orders_in_billecta",
    "delete_unhandled_payment",
    "dispute_invoice",
    "download_document",
    "fetch_and_save_invoice_pdf",
    "fetch_invoice_pdf",
    "get_debtcollection_next_event",
    "get_event_log",
    "get_invoice_next_event",
    "get_object",
    "get_swish_defaults",
    "get_swish_request_status",
    "healthz",
    "invoice_postpone_next_event",
    "list_objects",
    "list_webhook_events",
    "match_payment",
    "pause_invoice",
    "postpone_debtcollection_next_event",
    "put_object",
    "read_batch",
    "read_batch_logs",
    "read_batches",
    "read_webhook_event",
    "readyz",
    "receive_billecta_webhook",
    "receive_lime_webhook",
    "register_manual_payment",
    "register_writeoff_payment",
    "replay_webhook_event",
    "replay_webhook_events",
    "report_configs",
    "report_creator",
    "resume_paused_invoice",
    "retrigger_failed_webhooks",
    "send_to_bailiff",
    "send_to_debt_collection",
    "send_to_long_term_surveillance",
    "update_creditor_in_billecta",
    "upsert_articles_in_billecta",
    "upsert_attest_orders_in_billecta",
    "upsert_debtors_in_billecta",
    "upsert_orders_in_billecta",
    "use_credit_on_invoice",
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _has_example(document: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> bool:
    """True when an example can be shown: the schema's own, or one for every required part."""
    schema = _resolve(document, schema)
    if "example" in schema or schema.get("examples") or "default" in schema or "enum" in schema:
        return True
    if "const" in schema or schema.get("format") == "binary" or depth > 8:
        return True
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return any(
                _has_example(document, s, depth + 1)
                for s in schema[combinator]
                if s.get("type") != "null"
            )
    if "allOf" in schema:
        return all(_has_example(document, s, depth + 1) for s in schema["allOf"])
    if schema.get("type") == "array":
        return _has_example(document, schema.get("items", {}), depth + 1)
    properties = schema.get("properties")
    if schema.get("type") == "object" or properties:
        required = schema.get("required", [])
        return (
            bool(properties)
            and all(_has_example(document, properties[name], depth + 1) for name in required)
            and any(_has_example(document, p, depth + 1) for p in properties.values())
        )
    return False


def _media_has_example(document: dict[str, Any], media: dict[str, Any]) -> bool:
    if "example" in media or media.get("examples"):
        return True
    return _has_example(document, media.get("schema", {}))


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_operation_ids_are_the_route_function_names_and_stable(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, operation in _operations(document)]
    assert len(ids) == len(set(ids)), "operation ids must be unique"
    assert set(ids) == OPERATION_IDS, (
        "operation ids changed (a breaking change for generated clients): "
        f"added {sorted(set(ids) - OPERATION_IDS)}, removed {sorted(OPERATION_IDS - set(ids))}"
    )


def test_every_operation_declares_its_security(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["limeApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": schemes["limeApiKey"]["description"],
    }
    for where, operation in _operations(document):
        assert "security" in operation, f"{where} declares no security (nor that it is open)"
        requirements = operation["security"]
        if operation["operationId"] in OPEN_OPERATIONS:
            assert requirements == [], f"{where} is open and must say so"
            continue
        assert requirements, f"{where} is not on the open list but declares no scheme"
        for requirement in requirements:
            assert set(requirement) <= set(schemes), f"{where} names an undeclared scheme"
        expected = OWN_AUTHENTICATION.get(operation["operationId"], [{"limeApiKey": []}])
        assert requirements == expected, f"{where} declares {requirements}, not {expected}"


def test_every_body_and_success_answer_has_an_example(document: dict[str, Any]) -> None:
    missing: list[str] = []
    for where, operation in _operations(document):
        body = operation.get("requestBody")
        for content_type, media in (body or {}).get("content", {}).items():
            if not _media_has_example(document, media):
                missing.append(f"{where} request {content_type}")
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for content_type, media in response.get("content", {}).items():
                if not _media_has_example(document, media):
                    missing.append(f"{where} {status} {content_type}")
    assert not missing, "no example for:\n" + "\n".join(missing)


def test_every_operation_documents_its_common_errors_and_headers(document: dict[str, Any]) -> None:
    for where, operation in _operations(document):
        responses = operation["responses"]
        name = operation["operationId"]
        if name not in NO_BACKEND:
            assert "503" in responses, f"{where} can answer 503 but does not say so"
            assert "Retry-After" in responses["503"]["headers"]
        if name == "receive_billecta_webhook":
            # Billecta's receiver answers a body it cannot read with 400 (DESIGN §3.7).
            assert "400" in responses, where
        elif name == "receive_lime_webhook":
            # Lime's receiver stores an unreadable delivery `invalid` and answers 200: with Lime's
            # defaults one refused message disables the whole subscription.
            assert "invalid" in str(responses["200"]) or "invalid" in operation["description"]
        elif "requestBody" in operation:
            codes = {s for s, r in responses.items() if "ValidationErrorBody" in str(r)}
            assert codes, f"{where} does not document its answer to a body that is not JSON"
        if any(
            p.get("$ref", "").endswith("/IdempotencyKey") for p in operation.get("parameters", [])
        ):
            success = next(r for s, r in responses.items() if s.startswith("2"))
            assert "Idempotency-Replayed" in success["headers"], where
        for status, response in responses.items():
            assert response["headers"]["x-request-id"] == {
                "$ref": "#/components/headers/XRequestId"
            }, f"{where} {status} does not reference the x-request-id header"
            if status != "204" and not status.startswith("2"):
                assert "application/json" in response.get("content", {}), (
                    f"{where} {status} has no JSON body schema"
                )


def test_every_operation_is_tagged_with_a_declared_group(document: dict[str, Any]) -> None:
    declared = {tag["name"] for tag in OPENAPI_TAGS}
    for where, operation in _operations(document):
        tags = operation.get("tags", [])
        assert len(tags) == 1 and tags[0] in declared, f"{where}: tags {tags}"
        assert operation["description"].strip(), where


def test_integer_parameters_are_64_bit(document: dict[str, Any]) -> None:
    for where, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            for candidate in [schema, *schema.get("anyOf", [])]:
                if candidate.get("type") == "integer":
                    assert candidate["maximum"] <= 2**63 - 1, (where, parameter["name"])


async def test_swagger_authorize_sends_the_key_swagger_reads_from_the_document(
    anon_client: Any,
) -> None:
    """/docs and /openapi.json are open; the served document names the key scheme that
    Swagger's Authorize box fills in, and a call carrying that header is let in."""
    page = await anon_client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert '"persistAuthorization": true' in page.text
    served = (await anon_client.get("/openapi.json")).json()
    scheme = served["components"]["securitySchemes"]["limeApiKey"]
    operation = served["paths"][f"{PREFIX}/integration-monitor/batches"]["get"]
    assert operation["security"] == [{"limeApiKey": []}]
    url = f"{PREFIX}/integration-monitor/batches"
    assert (await anon_client.get(url)).status_code == 401
    authorized = await anon_client.get(url, headers={scheme["name"]: LIME_KEY})
    assert authorized.status_code == 200, authorized.text
