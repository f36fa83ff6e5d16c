"""A Lime sandbox over HTTP for the package, reset (settings included) before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from billecta_gateway.limesandbox import LimeSandboxConfig
from tests.limecrm.support import API_KEY, APPLICATION, LimeSandboxServer, serve_lime_sandbox


@pytest.fixture(scope="package")
async def lime_server() -> AsyncIterator[LimeSandboxServer]:
    async with serve_lime_sandbox(
        LimeSandboxConfig(api_key=API_KEY, application=APPLICATION, default_limit=10)
    ) as server:
        yield server


@pytest.fixture
async def lime(lime_server: LimeSandboxServer) -> LimeSandboxServer:
    """The sandbox with its start settings, no objects, no faults, empty request log."""
    await lime_server.settings(**lime_server.defaults)
    assert (await lime_server.control.post("/_lime-sandbox/reset")).status_code == 200
    return lime_server
