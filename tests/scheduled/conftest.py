"""Fixtures for the scheduled jobs: a job context with a clock on the rolled-back transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.config import Settings
from tests.webhooks.support import Clock, close_context, job_context


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 22, 0, 30, tzinfo=UTC))


@pytest.fixture
async def ctx(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    redis: ArqRedis,
    clock: Clock,
) -> AsyncIterator[Any]:
    context = job_context(sessionmaker, settings, clock=clock)
    yield context
    await close_context(context)
