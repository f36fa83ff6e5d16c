"""Liveness and readiness probes (open, no API key)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from billecta_gateway.binding.service import binding_details
from billecta_gateway.health.readiness import check_readiness
from billecta_gateway.openapi_docs import OPEN

router = APIRouter(tags=["health"])
logger = logging.getLogger("billecta_gateway.health")


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(
        description="`ok`; `degraded` (200) when only Redis is down; `unavailable` (503) when "
        "PostgreSQL or the receiver's pool is unreachable or the database is behind the "
        "code's migrations",
        examples=["ok"],
    )
    checks: dict[str, str] = Field(
        examples=[{"postgres": "ok", "migrations": "ok", "receiver_pool": "ok", "redis": "ok"}]
    )
    details: dict[str, str] = Field(
        default_factory=dict,
        description="Which Billecta the database is bound to, and whether Billecta last "
        "accepted or refused the credentials (informational: they do not change `status`); "
        "why a check is not `ok`",
        examples=[
            {
                "billecta_binding": "bound to https://apitest.billecta.com",
                "billecta_credentials": "Billecta refused the credentials (401 to GET "
                "/v1/creditors/creditors at 2026-12-01T08:00:00+00:00)",
            }
        ],
    )


@router.get("/healthz", summary="Liveness", response_model=Health, openapi_extra={"security": OPEN})
async def healthz() -> Health:
    """The process is up; checks no dependency."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=Readiness,
    openapi_extra={"security": OPEN},
    responses={
        503: {
            "model": Readiness,
            "description": "PostgreSQL or the receiver's pool unreachable, or the database "
            "behind the code's migrations",
        }
    },
)
async def readyz(request: Request) -> JSONResponse:
    """PostgreSQL, its migrations and the receiver's pool (503 otherwise) and Redis (200
    `degraded` when down); details on Billecta's binding and credentials."""
    state = request.app.state
    result = await check_readiness(engine=state.engine, intake=state.intake, redis=state.queue)
    details = await _billecta_details(request) if result.checks["postgres"] == "ok" else {}
    body = Readiness(
        status=result.status, checks=result.checks, details={**details, **result.details}
    )
    return JSONResponse(status_code=200 if result.serving else 503, content=body.model_dump())


async def _billecta_details(request: Request) -> dict[str, str]:
    billecta = request.app.state.billecta
    try:
        async with request.app.state.sessionmaker() as session:
            return await asyncio.wait_for(
                binding_details(
                    session, base_url=billecta.base_url, local=billecta.credentials_refused
                ),
                timeout=3,
            )
    except Exception as exc:
        logger.warning("readiness: billecta binding unreadable: %s", type(exc).__name__)
        return {"billecta_binding": "unknown", "billecta_credentials": "unknown"}
