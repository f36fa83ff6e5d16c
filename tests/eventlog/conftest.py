"""Fixtures: the app with the Billecta operation routers mounted."""

from __future__ import annotations
