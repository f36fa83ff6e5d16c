"""Shared fixtures: a real PostgreSQL built by `alembic upgrade head` once per session, each test
inside a transaction that is rolled back, a real Redis, and the app over ASGITransport."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from billecta_gateway.config import Settings
from billecta_gateway.webhooks.intake import Acquire, Intake

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/billecta_gateway_test"
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
LIME_KEY = "lime-test-key-7f3a9c"
LIME_KEY_2 = "lime-second-key-11aa"
WEBHOOK_KEY = "webhook-test-key-b81d"
BILLECTA_AUTH = "SecureToken dGVzdC1zZWN1cmUtdG9rZW4tOTk="
BILLECTA_URL = "https://billecta.test"


def make_settings(**overrides: Any) -> Settings:
    """Settings for a test; nothing is read from the environment that a test did not give."""
    values: dict[str, Any] = {
        "database_url": TEST_DATABASE_URL,
        "redis_url": TEST_REDIS_URL,
        "billecta_base_url": BILLECTA_URL,
        "billecta_authentication": BILLECTA_AUTH,
        "lime_api_keys": f"{LIME_KEY},{LIME_KEY_2}",
        "webhook_api_key": WEBHOOK_KEY,
        "billecta_max_retries": 0,
        # No worker /metrics server unless a test asks for one (ports are shared).
        "metrics_port": 0,
        "log_format": "console",
        "log_level": "INFO",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logger"] = False
    return cfg


async def _recreate_database(url: str) -> None:
    db_name = make_url(url).database
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def migrated_database() -> str:
    """The test database, created anew and migrated to head once per session."""
    await _recreate_database(TEST_DATABASE_URL)
    import asyncio

    await asyncio.to_thread(command.upgrade, alembic_config(TEST_DATABASE_URL), "head")
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
async def engine(migrated_database: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(migrated_database, pool_size=5, max_overflow=10)
    yield eng
    await eng.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            if trans.is_active:
                await trans.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions joined to the test's transaction: their commits release savepoints only."""
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def redis() -> AsyncIterator[ArqRedis]:
    """A real Redis (a database of its own for tests), emptied before and after each test."""
    pool = ArqRedis.from_url(TEST_REDIS_URL)
    await pool.flushdb()
    yield pool
    await pool.flushdb()
    await pool.aclose()


@pytest.fixture
async def app(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    connection: AsyncConnection,
) -> AsyncIterator[Any]:
    """The app with its lifespan running, its sessions joined to the test's transaction."""
    from billecta_gateway.main import create_app

    application = create_app(settings, configure_logs=False)
    async with application.router.lifespan_context(application):
        await join_test_transaction(application, sessionmaker, connection)
        yield application


async def join_test_transaction(
    app: Any, sessionmaker: async_sessionmaker[AsyncSession], connection: AsyncConnection
) -> None:
    """Point a running app's sessions and its webhook receiver at the test's transaction."""
    app.state.sessionmaker = sessionmaker
    await app.state.intake.close()
    app.state.intake = Intake(driver_savepoint(connection))


def driver_savepoint(connection: AsyncConnection) -> Acquire:
    """The receiver's driver connection inside the test's transaction: each write in a savepoint
    of its own (released on success, as the sessions' commits are), rolled back with the test."""

    @contextlib.asynccontextmanager
    async def acquire() -> AsyncIterator[Any]:
        await connection.execute(text("SELECT 1"))  # the test's transaction has begun
        driver = (await connection.get_raw_connection()).driver_connection
        async with driver.transaction():
            yield driver

    return acquire


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app that sends a valid Lime API key."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway.test", headers={"x-api-key": LIME_KEY}
    ) as c:
        yield c


@pytest.fixture
async def anon_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that sends no API key."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


TABLES_TO_CLEAN = (
    'payment, debtcollection, invoice, orderrow, "order", contract, creditorarticle, article, '
    "creditordebtor, debtor, company, person, creditor, integration_monitor_log, "
    "integration_monitor_batch, webhook_event_object, webhook_event, document, audit, "
    "idempotency_record, object_alias, tombstone, cron_run, billecta_binding, "
    "uncertain_operation, credit_note_use, lime_webhook_event, lime_object_stamp, lime_poll_mark"
)


@pytest.fixture
async def committed_sessionmaker(
    engine: AsyncEngine,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that really commit (for workers and concurrency); every table is emptied after."""
    maker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    yield maker
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES_TO_CLEAN} RESTART IDENTITY CASCADE"))


async def run_worker_burst(settings: Settings, **overrides: Any) -> Any:
    """Run a real arq worker in burst mode until the queue is empty; returns the worker."""
    from billecta_gateway.worker import create_worker

    options: dict[str, Any] = {"poll_delay": 0.05, "cron_jobs": []}
    options.update(overrides)
    worker = create_worker(settings, burst=True, **options)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker
