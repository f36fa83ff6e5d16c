"""No personal data in stored errors or log lines (issue 16 item 10): engines hide statement
parameters, and a database error is stored as a sentence, never as its text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.db import create_engine
from billecta_gateway.models import CronRun
from billecta_gateway.scheduled.runs import recorded_run
from billecta_gateway.tasks.runner import describe
from tests.conftest import make_settings

PII = "anna.svensson@example.se"


async def test_the_engine_never_puts_statement_values_in_an_error() -> None:
    engine = create_engine(make_settings())
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as caught:
                await conn.execute(text("SELECT 1 / 0 WHERE :email <> ''"), {"email": PII})
    finally:
        await engine.dispose()
    assert "division by zero" in str(caught.value)
    assert PII not in str(caught.value)
    assert "parameters hidden" in str(caught.value)


def _db_error() -> DBAPIError:
    return DBAPIError("UPDATE debtor SET email = $1", {"email": PII}, Exception(f"bad {PII}"))


def test_a_job_stores_a_database_error_as_a_sentence_naming_the_job() -> None:
    message = describe(_db_error(), retryable=False, job_try=5, budget=75, job_id="upsert:1:2:1")
    assert PII not in message
    assert message == "A database error (DBAPIError) stopped the job (see the worker log for " + (
        "job upsert:1:2:1)"
    )


async def test_a_cron_stores_a_database_error_as_a_sentence(
    sessionmaker: Any, session: AsyncSession
) -> None:
    with pytest.raises(DBAPIError):
        async with recorded_run(sessionmaker, "nightly", now=datetime.now(UTC)):
            raise _db_error()
    run = await session.get(CronRun, "nightly", populate_existing=True)
    assert run is not None and run.last_error is not None
    assert PII not in run.last_error
    assert run.last_error.startswith("A database error (DBAPIError)")
