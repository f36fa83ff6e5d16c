"""What every cron shares: a clock tests can drive, the record of its last successful run (so a
missed night is caught up), watermarks, and a line in the integration monitor.

arq skips cron runs missed while no worker was up; a cron therefore reads when it last
succeeded (`cron_run.last_success_at`) and covers everything since.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.db import session_scope
from billecta_gateway.logs import job_id_var
from billecta_gateway.models import CronRun
from billecta_gateway.monitor import service as monitor
from billecta_gateway.tasks.runner import error_sentence

logger = logging.getLogger("billecta_gateway.scheduled")

MONITOR_TITLE = "Scheduled jobs"
MONITOR_TASK = "scheduled_jobs"
_ERROR_LIMIT = 2_000


def utcnow() -> datetime:
    return datetime.now(UTC)


def clock(ctx: Mapping[str, Any] | Any) -> datetime:
    """The time of a job: the context's `clock` when a test put one there, else now (UTC)."""
    custom = cast(Mapping[str, Any], ctx).get("clock")
    if custom is not None:
        return cast(Callable[[], datetime], custom)()
    return utcnow()


@dataclass(frozen=True, slots=True)
class CronWindow:
    """One run of a cron: when it started and when the previous run succeeded (None: never)."""

    name: str
    started_at: datetime
    last_success_at: datetime | None


async def _upsert(session: AsyncSession, name: str, **values: Any) -> None:
    stmt = pg_insert(CronRun).values(name=name, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[CronRun.name], set_=values))


@asynccontextmanager
async def recorded_run(
    sessionmaker: async_sessionmaker[AsyncSession], name: str, *, now: datetime
) -> AsyncIterator[CronWindow]:
    """Record a cron run in `cron_run`: its start, then its success or its error.

    The success time only moves forward, so the next run catches up from the last run that
    completed. An error is recorded (and logged in the monitor) and re-raised.
    """
    async with session_scope(sessionmaker) as session:
        previous = await session.scalar(
            select(CronRun.last_success_at).where(CronRun.name == name).with_for_update()
        )
        await _upsert(session, name, last_started_at=now)
    window = CronWindow(name=name, started_at=now, last_success_at=previous)
    try:
        yield window
    except Exception as exc:
        message = stored_error(exc)[:_ERROR_LIMIT]
        logger.exception("cron %s failed", name)
        async with session_scope(sessionmaker) as session:
            await _upsert(session, name, last_error=message)
            await log_run(
                session, name=name, now=now, ok=False, message=f"{name} failed: {message}"
            )
        raise
    async with session_scope(sessionmaker) as session:
        await _upsert(session, name, last_success_at=now, last_error=None)


def stored_error(exc: Exception) -> str:
    """A failure as stored: a database error (which quotes the values it was given) as a
    sentence pointing at the log line, anything else as it reads."""
    if isinstance(exc, SQLAlchemyError):
        return error_sentence(exc, job_id=job_id_var.get())
    return f"{type(exc).__name__}: {exc}"


async def get_watermark(session: AsyncSession, name: str) -> datetime | None:
    """The time up to which `name` (e.g. one creditor's reconciliation) has been done."""
    return await session.scalar(select(CronRun.last_success_at).where(CronRun.name == name))


async def set_watermark(session: AsyncSession, name: str, at: datetime) -> None:
    """Move the watermark `name` forward to `at` (never backwards)."""
    stmt = pg_insert(CronRun).values(name=name, last_started_at=at, last_success_at=at)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CronRun.name],
            set_={"last_success_at": at, "last_error": None},
            where=(CronRun.last_success_at.is_(None)) | (CronRun.last_success_at < at),
        )
    )


async def log_run(
    session: AsyncSession, *, name: str, now: datetime, ok: bool, message: str
) -> None:
    """One log for a cron run in the day's "Scheduled jobs" batch of the integration monitor."""
    batch = await monitor.daily_batch(
        session, title=MONITOR_TITLE, task=MONITOR_TASK, day=now.date()
    )
    await monitor.add_log(
        session,
        batch_id=batch.id,
        limetype="cron_run",
        object_id=None,
        status="ok" if ok else "error",
        message=message[:_ERROR_LIMIT],
        task_id=f"cron:{name}",
    )
