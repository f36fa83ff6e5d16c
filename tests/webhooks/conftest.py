"""Fixtures: the app with the webhook routers, clients, and a job context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.config import Settings
from billecta_gateway.main import create_app
from tests.webhooks.support import close_context, hook_client, job_context


@pytest.fixture
async def hook(app: Any, redis: ArqRedis) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends Billecta's webhook key (Redis is emptied around the test)."""
    async with hook_client(app) as client:
        yield client


@pytest.fixture
async def committed_app(
    settings: Settings, committed_sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Any]:
    """The app on a real engine (its commits are real): for concurrency and worker tests."""
    application = create_app(settings, configure_logs=False)
    async with application.router.lifespan_context(application):
        application.state.sessionmaker = committed_sessionmaker
        yield application


@pytest.fixture
async def ctx(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, redis: ArqRedis
) -> AsyncIterator[Any]:
    """A job context on the test's rolled-back transaction."""
    context = job_context(sessionmaker, settings)
    yield context
    await close_context(context)
