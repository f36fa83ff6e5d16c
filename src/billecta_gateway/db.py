"""Engine and session factory, built by the app lifespan and the worker start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from billecta_gateway.config import Settings


def create_engine(settings: Settings, *, pre_ping: bool = True) -> AsyncEngine:
    """One engine per process, sized from settings.

    `pre_ping` tests every connection on checkout (with asyncpg: BEGIN, an empty query and a
    ROLLBACK, three round trips). The API keeps it, so a request never fails on a connection
    PostgreSQL dropped while it sat in the pool. The worker turns it off: a job checks out a
    connection per try, and a dead one is a transient error that the job retries (the pool
    then discards it and every connection as old as it).
    """
    return create_async_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        # Errors and log lines never carry a statement's values (personal data).
        hide_parameters=True,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session for a job or a cron: commits at the end, rolls back on error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def ping(engine: AsyncEngine) -> None:
    """Raise if PostgreSQL cannot answer a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def next_gateway_id(session: AsyncSession) -> int:
    """An id for an object the gateway creates itself (never collides with Lime's ids)."""
    from billecta_gateway.models import GATEWAY_ID_SEQUENCE

    result = await session.execute(text(f"SELECT nextval('{GATEWAY_ID_SEQUENCE}')"))
    return int(result.scalar_one())
