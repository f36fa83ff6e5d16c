"""Every Lime-facing router, mounted under the `/limepkg-billecta-integration` prefix."""

from __future__ import annotations

from fastapi import APIRouter

from billecta_gateway.lime.router import router as lime_router
from billecta_gateway.monitor.router import router as monitor_router

LIME_ROUTERS: list[APIRouter] = [lime_router, monitor_router]
