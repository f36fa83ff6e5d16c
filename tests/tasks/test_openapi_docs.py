"""Every task route documents its summary, description, request example and errors."""

from __future__ import annotations

from typing import Any

from tests.conftest import make_settings

PREFIX = "/limepkg-billecta-integration"
TASK_PATHS = [
    "/task/upsert-articles-in-billecta",
    "/task/delete-articles-in-billecta",
    "/task/update-creditor-in-billecta",
    "/task/upsert-debtors-in-billecta",
    "/task/anonymize-debtors-in-billecta",
    "/task/credit-invoices-in-billecta",
    "/task/upsert-orders-in-billecta",
    "/task/attest-orders-in-billecta",
    "/task/upsert-attest-orders-in-billecta",
    "/task/delete-orders-in-billecta",
]


def _document() -> dict[str, Any]:
    from billecta_gateway.main import create_app

    app = create_app(make_settings(), configure_logs=False)
    return app.openapi()


def test_task_routes_are_documented_with_the_spec_examples() -> None:
    paths = _document()["paths"]
    for path in [*TASK_PATHS, "/add-message-to-orderrow/"]:
        operation = paths[f"{PREFIX}{path}"]["post"]
        assert operation["summary"], path
        assert operation["description"], path
        assert {"200", "401", "422"} <= set(operation["responses"]), path
        content = operation["requestBody"]["content"]["application/json"]
        assert content["examples"]["spec"]["value"], path
    upsert = paths[f"{PREFIX}/task/upsert-debtors-in-billecta"]["post"]
    example = upsert["requestBody"]["content"]["application/json"]["examples"]["spec"]["value"]
    assert example == {
        "integration_monitor_batch_title": "Upsert debtors in Billecta",
        "query_filter": {"key": "_id", "op": "IN", "exp": [1001, 1002, 1003]},
    }
    started = upsert["responses"]["200"]["content"]["application/json"]["schema"]
    assert started["$ref"].endswith("/TaskStarted")


def test_add_message_without_trailing_slash_is_served_but_not_listed() -> None:
    paths = _document()["paths"]
    assert f"{PREFIX}/add-message-to-orderrow/" in paths
    assert f"{PREFIX}/add-message-to-orderrow" not in paths
