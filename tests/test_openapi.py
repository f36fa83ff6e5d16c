"""The committed OpenAPI document is the one the app generates."""

from __future__ import annotations

from pathlib import Path

from billecta_gateway.cli import openapi_document, render_openapi

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_openapi(), (
        "openapi/openapi.json is out of date: run `billecta-gateway openapi`"
    )


def test_every_route_is_documented() -> None:
    document = openapi_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            assert operation.get("description"), f"{where} has no description (docstring)"
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (
                f"{where} has no success response"
            )
            if path.startswith("/limepkg-billecta-integration/"):
                assert "401" in responses, f"{where} does not document 401"


def test_readme_lists_every_billecta_route() -> None:
    from billecta_gateway.cli import readme_with_routes

    readme = (COMMITTED.parent.parent / "README.md").read_text(encoding="utf-8")
    assert readme == readme_with_routes(readme), (
        "README's Billecta route table is stale: run `billecta-gateway routes --readme README.md`"
    )
