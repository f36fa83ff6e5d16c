"""`/readyz`: PostgreSQL, the receiver's pool and the migrations decide; Redis only degrades."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from billecta_gateway.main import create_app
from billecta_gateway.schema_version import code_revisions
from billecta_gateway.webhooks.intake import Intake
from tests.conftest import TEST_DATABASE_URL, make_settings

DOWN_REDIS = "redis://127.0.0.1:1/0"
DOWN_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
# A database of this test's own: only its `alembic_version` matters to the check.
STAMPED_URL = make_url(TEST_DATABASE_URL).set(
    database=f"{make_url(TEST_DATABASE_URL).database}_ready"
)


@contextlib.asynccontextmanager
async def running(**overrides: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(make_settings(**overrides), configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield app, client


async def stamp(*revisions: str) -> str:
    """(Re)create the scratch database with `alembic_version` holding ``revisions``."""
    admin = create_async_engine(STAMPED_URL.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{STAMPED_URL.database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{STAMPED_URL.database}"'))
    await admin.dispose()
    engine = create_async_engine(STAMPED_URL)
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        )
        for revision in revisions:
            await conn.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
    await engine.dispose()
    return STAMPED_URL.render_as_string(hide_password=False)


async def test_everything_up_is_ok(migrated_database: str) -> None:
    async with running() as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {
        "postgres": "ok",
        "migrations": "ok",
        "receiver_pool": "ok",
        "redis": "ok",
    }


async def test_only_redis_down_is_degraded_but_ready(migrated_database: str) -> None:
    async with running(redis_url=DOWN_REDIS) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"] == "unreachable"
    assert body["checks"]["postgres"] == "ok"
    assert "webhooks are still stored" in body["details"]["redis"]
    # The Billecta binding's details are still read from PostgreSQL.
    assert "billecta_credentials" in body["details"]


async def test_postgres_down_is_unavailable() -> None:
    async with running(redis_url=DOWN_REDIS, database_url=DOWN_DATABASE) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {
            "postgres": "unreachable",
            "receiver_pool": "unreachable",
            "redis": "unreachable",
        },
        "details": {
            "redis": "unreachable: webhooks are still stored and queued once it is back; "
            "tasks and operations that queue jobs answer 503"
        },
    }


async def test_the_receivers_own_pool_is_checked(migrated_database: str) -> None:
    @contextlib.asynccontextmanager
    async def exhausted() -> AsyncIterator[Any]:
        raise TimeoutError("no connection free in the pool")
        yield

    async with running() as (app, client):
        await app.state.intake.close()
        app.state.intake = Intake(exhausted)
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["receiver_pool"] == "unreachable"
    assert body["checks"]["postgres"] == "ok"


async def test_a_database_behind_the_code_is_unavailable() -> None:
    code = code_revisions()
    assert code is not None
    older = next(rev for rev in code.lineage if rev not in code.heads)
    url = await stamp(older)
    async with running(database_url=url) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["migrations"] == "behind"
    assert body["details"]["migrations"] == (
        f"database at {older}; code at {', '.join(sorted(code.heads))}"
    )


async def test_a_database_never_migrated_is_unavailable() -> None:
    url = await stamp()
    async with running(database_url=url) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "behind"


@pytest.mark.parametrize("extra", [(), ("0001",)])
async def test_a_database_ahead_of_the_code_stays_ready(extra: tuple[str, ...]) -> None:
    # A rolling deploy: the next release migrated first, to a revision this code does not know.
    url = await stamp("9999_from_the_next_release", *extra)
    async with running(database_url=url) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["migrations"] == "ahead"
    assert "9999_from_the_next_release" in body["details"]["migrations"]
