"""Models and migrations agree, and downgrade/upgrade round-trips."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from billecta_gateway.models import Base
from tests.conftest import TEST_DATABASE_URL, _recreate_database, alembic_config

# A database of its own beside the test database, so parallel sessions with their own
# TEST_DATABASE_URL never share it.
_test_url = make_url(TEST_DATABASE_URL)
MIGRATION_DB = _test_url.set(database=f"{_test_url.database}_migrations").render_as_string(
    hide_password=False
)


async def _diff(url: str) -> list[Any]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:

        def compare(sync_conn: Any) -> list[Any]:
            ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))

        diff = await conn.run_sync(compare)
    await engine.dispose()
    return diff


async def _scalar(url: str, sql: str) -> Any:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        value = (await conn.execute(text(sql))).scalar()
    await engine.dispose()
    return value


async def test_models_and_migrations_agree_and_round_trip() -> None:
    import os

    url = os.environ.get("TEST_MIGRATIONS_DATABASE_URL", MIGRATION_DB)
    await _recreate_database(url)
    cfg = alembic_config(url)
    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await _diff(url) == []

    await asyncio.to_thread(command.downgrade, cfg, "base")
    tables = await _scalar(
        url,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_name <> 'alembic_version'",
    )
    assert tables == 0
    assert await _scalar(url, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'gateway_%'") == 0

    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await _diff(url) == []
    triggers = await _scalar(
        url, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_change_no' AND NOT tgisinternal"
    )
    assert triggers == 13


async def test_change_number_and_tombstone_are_written_by_the_database(connection: Any) -> None:
    await connection.execute(text("INSERT INTO creditor (id, name) VALUES (42, 'Acme')"))
    first = (
        await connection.execute(text("SELECT change_no FROM creditor WHERE id = 42"))
    ).scalar()
    xid = (await connection.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar()
    assert first == xid
    await connection.execute(text("DELETE FROM creditor WHERE id = 42"))
    tomb = (
        await connection.execute(
            text("SELECT change_no FROM tombstone WHERE limetype = 'creditor' AND object_id = 42")
        )
    ).scalar()
    assert tomb == xid
    await connection.execute(text("INSERT INTO creditor (id, name) VALUES (42, 'Acme again')"))
    gone = (
        await connection.execute(text("SELECT count(*) FROM tombstone WHERE object_id = 42"))
    ).scalar()
    assert gone == 0


async def test_gateway_ids_start_above_lime_ids(connection: Any) -> None:
    from billecta_gateway.models import GATEWAY_ID_START

    value = (await connection.execute(text("SELECT nextval('gateway_object_id_seq')"))).scalar()
    assert GATEWAY_ID_START <= value < 2**53
