"""Liveness and readiness probes (open, no API key)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from billecta_gateway.db import ping
from billecta_gateway.openapi_docs import OPEN

router = APIRouter(tags=["health"])
logger = logging.getLogger("billecta_gateway.health")


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(examples=["ok"])
    checks: dict[str, str] = Field(examples=[{"postgres": "ok", "redis": "ok"}])


@router.get("/healthz", summary="Liveness", response_model=Health, openapi_extra={"security": OPEN})
async def healthz() -> Health:
    """The process is up; checks no dependency."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=Readiness,
    openapi_extra={"security": OPEN},
    responses={503: {"model": Readiness, "description": "PostgreSQL or Redis unreachable"}},
)
async def readyz(request: Request) -> JSONResponse:
    """PostgreSQL and Redis are reachable (503 otherwise)."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(ping(request.app.state.engine), timeout=3)
        checks["postgres"] = "ok"
    except Exception as exc:
        logger.warning("readiness: postgres unreachable: %s", type(exc).__name__)
        checks["postgres"] = "unreachable"
    try:
        await asyncio.wait_for(request.app.state.queue.ping(), timeout=3)
        checks["redis"] = "ok"
    except Exception as exc:
        logger.warning("readiness: redis unreachable: %s", type(exc).__name__)
        checks["redis"] = "unreachable"
    ok = all(v == "ok" for v in checks.values())
    body = Readiness(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(status_code=200 if ok else 503, content=body.model_dump())
