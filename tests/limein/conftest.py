"""Fixtures: settings with the Lime webhook secrets (two, as during a rotation), the app, and
a Lime sandbox over HTTP with the connector of the worker pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from billecta_gateway.config import Settings
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.connect import LimeConnector, open_lime
from billecta_gateway.limesandbox import LimeSandboxConfig
from tests.conftest import make_settings
from tests.limecrm.support import API_KEY, APPLICATION, LimeSandboxServer, serve_lime_sandbox
from tests.limein.support import OLD_SECRET, SECRET


@pytest.fixture(scope="package")
async def lime_server() -> AsyncIterator[LimeSandboxServer]:
    async with serve_lime_sandbox(
        LimeSandboxConfig(api_key=API_KEY, application=APPLICATION, default_limit=10)
    ) as server:
        yield server


@pytest.fixture
async def lime(lime_server: LimeSandboxServer) -> LimeSandboxServer:
    """The sandbox with its start settings, no objects, no subscriptions, no faults."""
    await lime_server.settings(**lime_server.defaults)
    assert (await lime_server.control.post("/_lime-sandbox/reset")).status_code == 200
    return lime_server


def lime_settings(lime_server: LimeSandboxServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "lime_base_url": lime_server.base_url,
        "lime_api_key": API_KEY,
        "lime_rate_limit": 200,
        "lime_webhook_secret": f"{SECRET},{OLD_SECRET}",
        "public_base_url": "http://gateway.test",
    }
    values.update(overrides)
    return make_settings(**values)


@pytest.fixture
def settings(lime_server: LimeSandboxServer) -> Settings:
    return lime_settings(lime_server)


@pytest.fixture
async def connector(settings: Settings, engine: AsyncEngine) -> AsyncIterator[LimeConnector]:
    """The worker's Lime connector, pointed at the sandbox."""
    found = open_lime(
        settings, engine, role="worker", schema=LimeSchema.load(settings.lime_schema_file)
    )
    assert found is not None
    yield found
    await found.aclose()


@pytest.fixture
async def hook(app: Any, redis: ArqRedis) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the app with no API key (Lime signs its deliveries instead)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as client:
        yield client


@pytest.fixture
async def committed_app(settings: Settings, committed_sessionmaker: Any) -> AsyncIterator[Any]:
    """The app on a real engine (its commits are real), for deliveries arriving concurrently."""
    from billecta_gateway.main import create_app

    application = create_app(settings, configure_logs=False)
    async with application.router.lifespan_context(application):
        application.state.sessionmaker = committed_sessionmaker
        yield application
