"""Fixtures shared by the task tests; each test package's conftest imports them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.config import Settings
from tests.conftest import BILLECTA_URL, LIME_KEY, make_settings
from tests.tasks.support import FakeBillecta, job_context, make_billecta


@pytest.fixture
async def app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Any]:
    """The app with the task routers mounted, its sessions joined to the test's transaction."""
    from billecta_gateway.main import create_app

    application = create_app(settings, configure_logs=False)
    async with application.router.lifespan_context(application):
        application.state.sessionmaker = sessionmaker
        yield application


@pytest.fixture
def fake() -> Iterator[FakeBillecta]:
    """A stateful Billecta on respx; every request it receives is recorded in `fake.sent`."""
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as mock:
        yield FakeBillecta(mock).install()


@pytest.fixture
async def billecta() -> AsyncIterator[BillectaClient]:
    client = make_billecta()
    yield client
    await client.aclose()


@pytest.fixture
def ctx(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    billecta: BillectaClient,
    redis: ArqRedis,
) -> dict[str, Any]:
    """A worker context on the test's transaction, the fake Billecta and the test Redis."""
    return job_context(settings=settings, sessionmaker=sessionmaker, billecta=billecta, redis=redis)


@pytest.fixture
async def committed_client(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[httpx.AsyncClient]:
    """The API on committed sessions, so a real worker sees what the requests wrote."""
    from billecta_gateway.main import create_app

    application = create_app(make_settings(), configure_logs=False)
    async with application.router.lifespan_context(application):
        application.state.sessionmaker = committed_sessionmaker
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test", headers={"x-api-key": LIME_KEY}
        ) as client:
            yield client
