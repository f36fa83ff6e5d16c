"""Every Lime-facing router, mounted under the `/limepkg-billecta-integration` prefix."""

from __future__ import annotations

from fastapi import APIRouter

LIME_ROUTERS: list[APIRouter] = []
