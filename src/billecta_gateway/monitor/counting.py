"""Integration monitor counting: finishing logs, settling and closing batches, the safety nets.

A batch counts its finished logs in `done` and the failed ones in `failed`; the transaction that
finishes the last log closes it (`ok` or `donewitherror`). Counting happens in single UPDATE
statements under the batch row's lock, so concurrent jobs never lose a count nor close a batch
twice. Daily batches (one per title and day, e.g. "Billecta webhooks") stay open until their day
is over and are then closed by `finish_running_batches`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from billecta_gateway.errors import NotFound
from billecta_gateway.models import IntegrationMonitorBatch, IntegrationMonitorLog

Batch = IntegrationMonitorBatch
Log = IntegrationMonitorLog

LOST_JOB_MESSAGE = "The job was lost (worker stopped or queue flushed) before it finished"
UNFINISHED = ("pending", "running")
FINISHED = ("ok", "error")
CLOSED = ("ok", "donewitherror")
# A daily batch stores its day under this key of `parameters`; it is closed once the day is over.
DAILY_KEY = "daily"
# A task batch keeps its object ids under this key of `parameters` until its fan-out ran.
UNFANNED_KEY = "object_ids"
# The first key of the two-key advisory lock serialising daily-batch creation.
_UPDATE_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class FinishResult:
    """What `finish_log` did: `finished` is False when the log was already finished (or gone)."""

    finished: bool
    batch_id: int | None = None
    batch_status: str | None = None
    batch_closed: bool = False


@dataclass(frozen=True, slots=True)
class FinishSummary:
    """What a `finish_running_batches` run did."""

    closed: int
    logs_failed: int


def _aware(value: datetime | None) -> datetime | None:
    """Read a naive date-time as UTC (asyncpg refuses naive values for timestamptz)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _is_daily() -> Any:
    return func.coalesce(Batch.parameters.has_key(DAILY_KEY), False)


# The statements every per-object job runs are built once, on the tables rather than the
# mapped classes: building and ORM-compiling them per call cost more CPU than the round trips.
LOG_TABLE: Table = Log.__table__  # type: ignore[assignment]
BATCH_TABLE: Table = Batch.__table__  # type: ignore[assignment]
UNFINISHED_ARRAY = literal(list(UNFINISHED), ARRAY(String))


def _counted(stmt: Any, *, added: Any = 0, finished: Any, failed: Any) -> Any:
    """`stmt` (an UPDATE of batches) adding to the counters and answering only what `_settle`
    needs (`_COUNTERS`), not the whole row."""
    values: dict[str, Any] = {
        "done": BATCH_TABLE.c.done + finished,
        "failed": BATCH_TABLE.c.failed + failed,
        "updated_at": func.now(),
    }
    if not isinstance(added, int) or added:
        values["total"] = BATCH_TABLE.c.total + added
    return (
        stmt.values(**values)
        .returning(
            BATCH_TABLE.c.status,
            BATCH_TABLE.c.total,
            BATCH_TABLE.c.done,
            BATCH_TABLE.c.failed,
            BATCH_TABLE.c.updated_at,
            func.coalesce(BATCH_TABLE.c.parameters.has_key(DAILY_KEY), False).label("daily"),
        )
        .execution_options(synchronize_session=False)
    )


_COUNTERS = ("status", "total", "done", "failed", "updated_at", "daily")
_FINISHED = (
    update(LOG_TABLE)
    .where(LOG_TABLE.c.id == bindparam("log_id"), LOG_TABLE.c.status == func.any(UNFINISHED_ARRAY))
    .values(status=bindparam("new_status"), message=bindparam("new_message"), updated_at=func.now())
    .returning(LOG_TABLE.c.batch_id)
    .cte("finished")
)
_FINISHED_COUNTED = _counted(
    update(BATCH_TABLE).where(BATCH_TABLE.c.id == _FINISHED.c.batch_id),
    finished=1,
    failed=bindparam("failed_add"),
).cte("counted")
# The log and its batch's counters in one statement; no row when the log was already finished.
_FINISH_LOG = select(
    _FINISHED.c.batch_id, *(_FINISHED_COUNTED.c[name] for name in _COUNTERS)
).select_from(_FINISHED.outerjoin(_FINISHED_COUNTED, true()))


async def finish_log(
    session: AsyncSession, *, log_id: int, ok: bool, message: str | None
) -> FinishResult:
    """Finish a log `ok` or `error`, count it on its batch and close the batch on the last log.

    Idempotent: only the first call for a log changes anything. Call it last before the commit:
    from here on the transaction holds the batch row's lock. The log and its batch's counters
    change in one statement; closing the batch (once per batch) takes one more.
    """
    params = {
        "log_id": log_id,
        "new_status": "ok" if ok else "error",
        "new_message": message,
        "failed_add": 0 if ok else 1,
    }
    row = (await session.execute(_FINISH_LOG, params)).one_or_none()
    if row is None:
        return FinishResult(finished=False)
    batch_id = int(row[0])
    status, closed = await _settle(session, batch_id, _Counters.of(row[1:]))
    return FinishResult(finished=True, batch_id=batch_id, batch_status=status, batch_closed=closed)


@dataclass(frozen=True, slots=True)
class _Counters:
    """A batch row's status and counters as a counting UPDATE left them (None: no batch)."""

    status: str
    total: int
    done: int
    failed: int
    updated_at: datetime
    daily: bool

    @classmethod
    def of(cls, row: Sequence[Any]) -> _Counters | None:
        status, total, done, failed, updated_at, daily = row
        if status is None:
            return None
        return cls(str(status), int(total), int(done), int(failed), updated_at, bool(daily))


async def count_logs(
    session: AsyncSession, *, batch_id: int, added: int, finished: int, failed: int
) -> tuple[str | None, bool]:
    """Add to a batch's counters and settle its status; answers (status, closed by this call).

    The counter UPDATE takes the batch row's lock, so the follow-up UPDATEs of `_settle` see
    the counters as this transaction left them and no concurrent finisher can interleave.
    """
    stmt = _counted(
        update(BATCH_TABLE).where(BATCH_TABLE.c.id == batch_id),
        added=added,
        finished=finished,
        failed=failed,
    )
    row = (await session.execute(stmt)).one_or_none()
    return await _settle(session, batch_id, None if row is None else _Counters.of(row))


async def _settle(
    session: AsyncSession, batch_id: int, counters: _Counters | None
) -> tuple[str | None, bool]:
    """Close, reopen or re-settle a batch whose counters just changed (this transaction holds
    its row lock); answers (status, closed by this call)."""
    if counters is None:
        return None, False
    _remember_counters(session, batch_id, counters)
    if counters.status == "running":
        if counters.daily or counters.done < counters.total:
            return counters.status, False
        closed = await _close(session, batch_id=batch_id, failed=counters.failed)
        return closed or counters.status, closed is not None
    if counters.status in CLOSED:
        if counters.done < counters.total:
            # New unfinished logs in a closed batch (a fan-out in several steps): open it again.
            values: dict[str, Any] = {"status": "running", "endtime": None}
        else:
            # A late log in a closed daily batch: it still tells whether the day had errors.
            values = {
                "status": "donewitherror" if counters.failed else "ok",
                "endtime": func.greatest(Batch.endtime, func.now()),
            }
        settled = (
            update(Batch)
            .where(Batch.id == batch_id)
            .values(**values)
            .returning(Batch)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        return (await session.execute(settled)).scalar_one().status, False
    return counters.status, False


def _remember_counters(session: AsyncSession, batch_id: int, counters: _Counters) -> None:
    """Bring a batch this session already holds up to date with the counting UPDATE (which
    answers a few columns, not an ORM row)."""
    batch = session.identity_map.get(identity_key(Batch, batch_id))
    if isinstance(batch, Batch):
        for name in ("status", "total", "done", "failed", "updated_at"):
            set_committed_value(batch, name, getattr(counters, name))


async def _close(session: AsyncSession, *, batch_id: int, failed: int) -> str | None:
    """Close a running batch whose logs are all finished; endtime is the latest log update.

    Answers the status it closed with, or None when the batch was not running."""
    latest = select(func.max(Log.updated_at)).where(Log.batch_id == batch_id).scalar_subquery()
    stmt = (
        update(Batch)
        .where(Batch.id == batch_id, Batch.status == "running")
        .values(
            status="donewitherror" if failed else "ok",
            endtime=func.coalesce(latest, func.now()),
            updated_at=func.now(),
        )
        .returning(Batch)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    batch = (await session.execute(stmt)).scalar_one_or_none()
    return None if batch is None else batch.status


async def fail_batch(session: AsyncSession, *, batch_id: int, message: str) -> None:
    """Mark a batch `error`: the batch itself could not run (its logs keep their own status)."""
    stmt = (
        update(Batch)
        .where(Batch.id == batch_id)
        .values(status="error", message=message, endtime=func.now(), updated_at=func.now())
        .returning(Batch)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        raise NotFound(f"Integration monitor batch {batch_id} not found")


async def finish_running_batches(
    session: AsyncSession,
    *,
    now: datetime,
    job_exists: Callable[[str], Awaitable[bool]] | None = None,
    stale_after: timedelta = timedelta(hours=1),
) -> FinishSummary:
    """Close every running batch whose logs are all finished (the spec's `finish_running_imb`).

    With `job_exists` (the nightly variant) a pending or running log untouched for `stale_after`
    whose job no longer exists is first marked `error` and counted. A batch without logs closes
    `ok` once older than `stale_after`; a daily batch only once its day is over.
    """
    now = _aware(now) or datetime.now(UTC)
    cutoff = now - stale_after
    closed = 0
    logs_failed = 0
    if job_exists is not None:
        failed_per_batch = await _fail_lost_logs(session, cutoff=cutoff, job_exists=job_exists)
        for batch_id in sorted(failed_per_batch):
            count = failed_per_batch[batch_id]
            logs_failed += count
            _, was_closed = await count_logs(
                session, batch_id=batch_id, added=0, finished=count, failed=count
            )
            closed += was_closed
    closed += await _close_finished_batches(session, now=now, cutoff=cutoff)
    return FinishSummary(closed=closed, logs_failed=logs_failed)


async def _fail_lost_logs(
    session: AsyncSession, *, cutoff: datetime, job_exists: Callable[[str], Awaitable[bool]]
) -> Counter[int]:
    """Mark stale unfinished logs whose job is gone `error`; answers the count per batch."""
    stale = await session.execute(
        select(Log.id, Log.task_id)
        .where(Log.status.in_(UNFINISHED), Log.updated_at < cutoff)
        .order_by(Log.id)
    )
    lost: list[int] = []
    for log_id, task_id in stale.all():
        if task_id is None or not await job_exists(task_id):
            lost.append(log_id)
    per_batch: Counter[int] = Counter()
    for start in range(0, len(lost), _UPDATE_CHUNK):
        chunk = lost[start : start + _UPDATE_CHUNK]
        # The staleness test is repeated: a job that started meanwhile refreshed updated_at.
        stmt = (
            update(Log)
            .where(
                Log.id == func.any(literal(chunk, ARRAY(BigInteger))),
                Log.status.in_(UNFINISHED),
                Log.updated_at < cutoff,
            )
            .values(status="error", message=LOST_JOB_MESSAGE, updated_at=func.now())
            .returning(Log.batch_id)
            .execution_options(synchronize_session=False)
        )
        per_batch.update(int(b) for b in (await session.execute(stmt)).scalars())
    return per_batch


async def _close_finished_batches(session: AsyncSession, *, now: datetime, cutoff: datetime) -> int:
    """Close, from their logs, the running batches whose logs are all finished."""
    stats = (
        select(
            Batch.id.label("batch_id"),
            func.count(Log.id).label("logs"),
            func.count(Log.id).filter(Log.status.in_(FINISHED)).label("finished"),
            func.count(Log.id).filter(Log.status == "error").label("errors"),
            func.max(Log.updated_at).label("last_update"),
        )
        .select_from(Batch)
        .outerjoin(Log, Log.batch_id == Batch.id)
        .where(Batch.status == "running")
        .group_by(Batch.id)
        .cte("batch_stats")
    )
    day_not_over = and_(_is_daily(), cast(Batch.parameters[DAILY_KEY].astext, Date) >= now.date())
    stmt = (
        update(Batch)
        .where(
            Batch.id == stats.c.batch_id,
            Batch.status == "running",
            # Re-checked on the locked row: logs added meanwhile keep the batch open.
            Batch.total == stats.c.logs,
            stats.c.finished == stats.c.logs,
            or_(stats.c.logs > 0, Batch.starttime < cutoff),
            # A task whose fan-out never ran has no logs yet: the re-drive sends it again.
            not_(func.coalesce(Batch.parameters.has_key(UNFANNED_KEY), False)),
            not_(func.coalesce(day_not_over, False)),
        )
        .values(
            status=case((stats.c.errors > 0, "donewitherror"), else_="ok"),
            done=stats.c.finished,
            failed=stats.c.errors,
            endtime=func.coalesce(stats.c.last_update, now),
            updated_at=func.now(),
        )
        .returning(Batch.id)
        .execution_options(synchronize_session=False)
    )
    return len((await session.execute(stmt)).all())
