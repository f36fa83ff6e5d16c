"""The platform: auth, error bodies, request ids, CORS, health, audit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.auth import require_api_key
from billecta_gateway.errors import Conflict, SpecError, spec_validation, validation_400
from billecta_gateway.main import create_app
from billecta_gateway.models import AuditRecord
from tests.conftest import LIME_KEY_2, make_settings

PREFIX = "/limepkg-billecta-integration"


class ProbeBody(BaseModel):
    invoice_id: int
    postpone_days: int


probe = APIRouter(prefix="/probe")


@probe.post("/validate")
async def probe_validate(body: ProbeBody) -> dict[str, int]:
    return {"invoice_id": body.invoice_id}


@probe.put("/spec-400")
@spec_validation(validation_400)
async def probe_spec_400(body: ProbeBody) -> dict[str, int]:
    return {"invoice_id": body.invoice_id}


@probe.put("/conflict/{invoice_id}")
async def probe_conflict(invoice_id: int) -> None:
    raise Conflict(f"Invoice {invoice_id} is already credited")


@probe.post("/spec-500")
async def probe_spec_500() -> None:
    raise SpecError(500, {"status_code": 500, "error_message": "Billecta said no"})


@probe.post("/boom")
async def probe_boom() -> None:
    raise RuntimeError("something unforeseen")


@pytest.fixture
async def probed(app: Any) -> Any:
    app.include_router(probe, prefix=PREFIX, dependencies=[Depends(require_api_key)])
    return app


async def test_healthz_needs_no_key(anon_client: httpx.AsyncClient) -> None:
    response = await anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}, {"x-api-key": ""}])
async def test_lime_endpoints_need_a_valid_key(
    probed: Any, anon_client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await anon_client.post(
        f"{PREFIX}/probe/validate", json={"invoice_id": 1, "postpone_days": 2}, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error_message": "Missing or invalid x-api-key header"}


async def test_any_configured_key_is_accepted(probed: Any, anon_client: httpx.AsyncClient) -> None:
    response = await anon_client.post(
        f"{PREFIX}/probe/validate",
        json={"invoice_id": 7, "postpone_days": 2},
        headers={"x-api-key": LIME_KEY_2},
    )
    assert response.status_code == 200
    assert response.json() == {"invoice_id": 7}


async def test_validation_error_is_422_json_with_field_errors(
    probed: Any, client: httpx.AsyncClient
) -> None:
    response = await client.post(f"{PREFIX}/probe/validate", json={"invoice_id": "abc"})
    assert response.status_code == 422
    body = response.json()
    assert body["error_message"].startswith("Invalid request")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"invoice_id", "postpone_days"}


async def test_malformed_json_is_a_json_error(probed: Any, client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{PREFIX}/probe/validate",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "error_message" in response.json()


async def test_endpoint_can_answer_the_spec_400(probed: Any, client: httpx.AsyncClient) -> None:
    response = await client.put(
        f"{PREFIX}/probe/spec-400", json={"invoice_id": 1, "postpone_days": "x"}
    )
    assert response.status_code == 400
    assert "postpone_days" in response.json()["error_message"]


async def test_domain_errors_and_spec_bodies(probed: Any, client: httpx.AsyncClient) -> None:
    conflict = await client.put(f"{PREFIX}/probe/conflict/5")
    assert conflict.status_code == 409
    assert conflict.json() == {"error_message": "Invoice 5 is already credited"}
    spec = await client.post(f"{PREFIX}/probe/spec-500")
    assert spec.status_code == 500
    assert spec.json() == {"status_code": 500, "error_message": "Billecta said no"}


async def test_unexpected_error_is_500_json_with_request_id(
    probed: Any, client: httpx.AsyncClient
) -> None:
    response = await client.post(f"{PREFIX}/probe/boom", headers={"x-request-id": "req-abc-123"})
    assert response.status_code == 500
    assert response.json()["request_id"] == "req-abc-123"
    assert "req-abc-123" in response.json()["error_message"]
    assert response.headers["x-request-id"] == "req-abc-123"


async def test_unknown_path_and_method_are_json(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"{PREFIX}/no/such/endpoint")
    assert missing.status_code == 404
    assert missing.json()["error_message"].startswith("No endpoint")
    wrong = await client.delete("/healthz")
    assert wrong.status_code == 405
    assert "error_message" in wrong.json()


async def test_request_id_is_generated_and_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert len(response.headers["x-request-id"]) == 32
    hostile = await client.get("/healthz", headers={"x-request-id": "bad id\nwith newline"})
    assert hostile.headers["x-request-id"] != "bad id\nwith newline"


async def test_state_changing_calls_are_audited(
    probed: Any, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await client.put(f"{PREFIX}/probe/conflict/77", headers={"x-lime-user": "anna@lime"})
    ok = await client.post(f"{PREFIX}/probe/validate", json={"invoice_id": 1, "postpone_days": 1})
    assert ok.status_code == 200
    await client.get("/healthz")
    rows = (await session.scalars(select(AuditRecord).order_by(AuditRecord.id))).all()
    assert [(r.method, r.actor, r.object_id, r.status_code, r.result) for r in rows] == [
        ("PUT", "anna@lime", 77, 409, "error"),
        ("POST", None, None, 200, "ok"),
    ]
    assert rows[0].path == f"{PREFIX}/probe/conflict/77"
    assert rows[0].action == "probe_conflict"


async def test_cors_allows_the_configured_lime_origin(sessionmaker: Any) -> None:
    settings = make_settings(cors_allowed_origins="https://acme.lime-crm.com")
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        app.state.sessionmaker = sessionmaker
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            allowed = await client.options(
                "/healthz",
                headers={
                    "origin": "https://acme.lime-crm.com",
                    "access-control-request-method": "GET",
                    "access-control-request-headers": "x-api-key",
                },
            )
            refused = await client.get("/healthz", headers={"origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://acme.lime-crm.com"
    assert "access-control-allow-origin" not in refused.headers
