"""Integration monitor batches and logs: creation, atomic progress counting and the safety nets.

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
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    column,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from billecta_gateway.errors import InvalidInput, NotFound
from billecta_gateway.models import IntegrationMonitorBatch, IntegrationMonitorLog
from billecta_gateway.models.system import LOG_STATUSES
from billecta_gateway.tasks.locks import xact_lock

T = TypeVar("T")

Batch = IntegrationMonitorBatch
Log = IntegrationMonitorLog

LOST_JOB_MESSAGE = "The job was lost (worker stopped or queue flushed) before it finished"
UNFINISHED = ("pending", "running")
FINISHED = ("ok", "error")
CLOSED = ("ok", "donewitherror")
# A daily batch stores its day under this key of `parameters`; it is closed once the day is over.
DAILY_KEY = "daily"
# The first key of the two-key advisory lock serialising daily-batch creation.
_DAILY_LOCK_NAMESPACE = "integration_monitor_daily_batch"
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


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated listing; `next_cursor` is None on the last page."""

    items: list[T]
    next_cursor: int | None


def _aware(value: datetime | None) -> datetime | None:
    """Read a naive date-time as UTC (asyncpg refuses naive values for timestamptz)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _is_daily() -> Any:
    return func.coalesce(Batch.parameters.has_key(DAILY_KEY), False)


async def create_batch(
    session: AsyncSession,
    *,
    title: str,
    task: str,
    created_by: str | None,
    parameters: dict[str, Any] | None = None,
) -> IntegrationMonitorBatch:
    """Create a `running` batch with no logs yet."""
    stmt = (
        insert(Batch)
        .values(
            title=title[:255],
            task=task[:64],
            created_by=created_by[:255] if created_by else None,
            parameters=parameters,
            status="running",
            total=0,
            done=0,
            failed=0,
        )
        .returning(Batch)
    )
    return (await session.execute(stmt)).scalar_one()


async def add_logs(
    session: AsyncSession, *, batch_id: int, limetype: str, object_ids: Sequence[int]
) -> list[tuple[int, int]]:
    """Create one `pending` log per object in a single INSERT and add them to the batch's total.

    Repeated object ids get one log (job ids derive from batch and object, so a second log for
    the same object would never finish). Answers (log id, object id) pairs.
    """
    unique_ids = list(dict.fromkeys(object_ids))
    if not unique_ids:
        return []
    source = select(
        literal(batch_id, BigInteger),
        literal(limetype, String),
        func.unnest(literal(unique_ids, ARRAY(BigInteger))),
        literal("pending", String),
    ).where(exists().where(Batch.id == batch_id))
    stmt = (
        insert(Log)
        .from_select(["batch_id", "limetype", "object_id", "status"], source)
        .returning(Log.id, type_coerce(Log.object_id, BigInteger))
    )
    rows = [(int(r[0]), int(r[1])) for r in await session.execute(stmt)]
    if not rows:
        raise NotFound(f"Integration monitor batch {batch_id} not found")
    await _count(session, batch_id=batch_id, added=len(rows), finished=0, failed=0)
    return rows


async def add_log(
    session: AsyncSession,
    *,
    batch_id: int,
    limetype: str,
    object_id: int | None,
    status: str,
    message: str | None = None,
    task_id: str | None = None,
) -> int:
    """Add one log to a batch (already finished when `status` is `ok` or `error`); answers its id.

    Counters follow: total + 1, and done + 1 (failed + 1 on error) for a finished log.
    """
    if status not in LOG_STATUSES:
        raise ValueError(f"Unknown integration monitor log status {status!r}")
    source = select(
        literal(batch_id, BigInteger),
        literal(limetype, String),
        literal(object_id, BigInteger),
        literal(status, String),
        literal(message, String),
        literal(task_id, String),
    ).where(exists().where(Batch.id == batch_id))
    stmt = (
        insert(Log)
        .from_select(["batch_id", "limetype", "object_id", "status", "message", "task_id"], source)
        .returning(Log.id)
    )
    log_id = (await session.execute(stmt)).scalar_one_or_none()
    if log_id is None:
        raise NotFound(f"Integration monitor batch {batch_id} not found")
    await _count(
        session,
        batch_id=batch_id,
        added=1,
        finished=1 if status in FINISHED else 0,
        failed=1 if status == "error" else 0,
    )
    return int(log_id)


async def set_log_task(session: AsyncSession, *, log_id: int, task_id: str, attempt: int) -> None:
    """Record the queued job's id and attempt number on an unfinished log."""
    await set_log_tasks(session, tasks=[(log_id, task_id, attempt)])


async def set_log_tasks(session: AsyncSession, *, tasks: Sequence[tuple[int, str, int]]) -> None:
    """Record (log id, job id, attempt) for many unfinished logs in one UPDATE per 5,000 logs.

    Refreshes `updated_at`, so a log that was just (re-)enqueued is not taken for a lost job.
    """
    for start in range(0, len(tasks), _UPDATE_CHUNK):
        chunk = tasks[start : start + _UPDATE_CHUNK]
        data = (
            func.unnest(
                literal([t[0] for t in chunk], ARRAY(BigInteger)),
                literal([t[1] for t in chunk], ARRAY(String)),
                literal([t[2] for t in chunk], ARRAY(Integer)),
            )
            .table_valued(
                column("log_id", BigInteger), column("task_id", String), column("attempt", Integer)
            )
            .render_derived(name="task_data")
        )
        stmt = (
            update(Log)
            .where(Log.id == data.c.log_id, Log.status.in_(UNFINISHED))
            .values(task_id=data.c.task_id, attempt=data.c.attempt, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )
        await session.execute(stmt)


async def start_log(session: AsyncSession, *, log_id: int) -> bool:
    """Mark a log `running`; False when it is already finished (or gone) and the job must stop."""
    return await start_log_attempt(session, log_id=log_id) is not None


# The statements every per-object job runs are built once, on the tables rather than the
# mapped classes: building and ORM-compiling them per call cost more CPU than the round trips.
_log: Table = Log.__table__  # type: ignore[assignment]
_batch: Table = Batch.__table__  # type: ignore[assignment]
_UNFINISHED_ARRAY = literal(list(UNFINISHED), ARRAY(String))

_START_LOG = (
    update(_log)
    .where(_log.c.id == bindparam("log_id"), _log.c.status == func.any(_UNFINISHED_ARRAY))
    .values(status="running", updated_at=func.now())
    .returning(_log.c.attempt)
)
# The same, also taking an advisory lock once the log is started (none when it is finished).
_START_LOG_LOCKING = (
    update(_log)
    .where(_log.c.id == bindparam("log_id"), _log.c.status == func.any(_UNFINISHED_ARRAY))
    .values(status="running", updated_at=func.now())
    .returning(_log.c.attempt, xact_lock(bindparam("lock_key", type_=String)))
)


def _counted(stmt: Any, *, added: Any = 0, finished: Any, failed: Any) -> Any:
    """`stmt` (an UPDATE of batches) adding to the counters and answering only what `_settle`
    needs (`_COUNTERS`), not the whole row."""
    values: dict[str, Any] = {
        "done": _batch.c.done + finished,
        "failed": _batch.c.failed + failed,
        "updated_at": func.now(),
    }
    if not isinstance(added, int) or added:
        values["total"] = _batch.c.total + added
    return (
        stmt.values(**values)
        .returning(
            _batch.c.status,
            _batch.c.total,
            _batch.c.done,
            _batch.c.failed,
            _batch.c.updated_at,
            func.coalesce(_batch.c.parameters.has_key(DAILY_KEY), False).label("daily"),
        )
        .execution_options(synchronize_session=False)
    )


_COUNTERS = ("status", "total", "done", "failed", "updated_at", "daily")
_FINISHED = (
    update(_log)
    .where(_log.c.id == bindparam("log_id"), _log.c.status == func.any(_UNFINISHED_ARRAY))
    .values(status=bindparam("new_status"), message=bindparam("new_message"), updated_at=func.now())
    .returning(_log.c.batch_id)
    .cte("finished")
)
_FINISHED_COUNTED = _counted(
    update(_batch).where(_batch.c.id == _FINISHED.c.batch_id),
    finished=1,
    failed=bindparam("failed_add"),
).cte("counted")
# The log and its batch's counters in one statement; no row when the log was already finished.
_FINISH_LOG = select(
    _FINISHED.c.batch_id, *(_FINISHED_COUNTED.c[name] for name in _COUNTERS)
).select_from(_FINISHED.outerjoin(_FINISHED_COUNTED, true()))


async def start_log_attempt(
    session: AsyncSession, *, log_id: int, lock_key: str | None = None
) -> int | None:
    """Mark a log `running` and answer its attempt number in one statement; None when it is
    already finished (or gone) and the job must stop.

    The UPDATE holds the log row's lock until the transaction ends: a second run of the same
    job waits here and then finds the log finished. With `lock_key` the statement also takes
    that advisory lock (tasks.locks) for the rest of the transaction, once the log is started;
    what the transaction reads afterwards is read under the lock.
    """
    if lock_key is None:
        result = await session.execute(_START_LOG, {"log_id": log_id})
    else:
        result = await session.execute(_START_LOG_LOCKING, {"log_id": log_id, "lock_key": lock_key})
    row = result.first()
    return None if row is None else int(row[0] or 1)


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


async def _count(
    session: AsyncSession, *, batch_id: int, added: int, finished: int, failed: int
) -> tuple[str | None, bool]:
    """Add to a batch's counters and settle its status; answers (status, closed by this call).

    The counter UPDATE takes the batch row's lock, so the follow-up UPDATEs of `_settle` see
    the counters as this transaction left them and no concurrent finisher can interleave.
    """
    stmt = _counted(
        update(_batch).where(_batch.c.id == batch_id), added=added, finished=finished, failed=failed
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
            _, was_closed = await _count(
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


async def daily_batch(
    session: AsyncSession, *, title: str, task: str, day: date
) -> IntegrationMonitorBatch:
    """The one batch of `day` titled `title`, created on first use.

    Race-safe: creation is serialised by a transaction-scoped advisory lock on (title, day).
    """
    await session.execute(
        select(
            func.pg_advisory_xact_lock(
                func.hashtext(_DAILY_LOCK_NAMESPACE), func.hashtext(f"{title}|{day.isoformat()}")
            )
        )
    )
    existing = await session.scalar(
        select(Batch)
        .where(Batch.title == title, Batch.parameters[DAILY_KEY].astext == day.isoformat())
        .order_by(Batch.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if existing is not None:
        return existing
    return await create_batch(
        session, title=title, task=task, created_by=None, parameters={DAILY_KEY: day.isoformat()}
    )


async def list_batches(
    session: AsyncSession,
    *,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: int | None = None,
) -> Page[IntegrationMonitorBatch]:
    """Batches newest first, filtered by status and start time (`since` ≤ starttime < `until`)."""
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and since > until:
        raise InvalidInput(
            "since must not be later than until",
            errors=[{"loc": ["query", "since"], "field": "since", "message": "after until"}],
        )
    stmt = select(Batch)
    if status is not None:
        stmt = stmt.where(Batch.status == status)
    if since is not None:
        stmt = stmt.where(Batch.starttime >= since)
    if until is not None:
        stmt = stmt.where(Batch.starttime < until)
    if cursor is not None:
        stmt = stmt.where(Batch.id < cursor)
    stmt = stmt.order_by(Batch.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(stmt.execution_options(populate_existing=True))).all())
    return _page(rows, limit)


async def get_batch(session: AsyncSession, *, batch_id: int) -> IntegrationMonitorBatch:
    """One batch; NotFound when there is none with this id."""
    batch = await session.get(Batch, batch_id, populate_existing=True)
    if batch is None:
        raise NotFound(f"Integration monitor batch {batch_id} not found")
    return batch


async def list_logs(
    session: AsyncSession,
    *,
    batch_id: int,
    status: str | None = None,
    limit: int = 50,
    cursor: int | None = None,
) -> Page[IntegrationMonitorLog]:
    """A batch's logs newest first, optionally of one status; NotFound for an unknown batch."""
    if (await session.scalar(select(Batch.id).where(Batch.id == batch_id))) is None:
        raise NotFound(f"Integration monitor batch {batch_id} not found")
    stmt = select(Log).where(Log.batch_id == batch_id)
    if status is not None:
        stmt = stmt.where(Log.status == status)
    if cursor is not None:
        stmt = stmt.where(Log.id < cursor)
    stmt = stmt.order_by(Log.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(stmt.execution_options(populate_existing=True))).all())
    return _page(rows, limit)


async def list_logs_for_object(
    session: AsyncSession, *, limetype: str, object_id: int, limit: int = 50
) -> list[IntegrationMonitorLog]:
    """The latest logs of one object across all batches, newest first."""
    stmt = (
        select(Log)
        .where(Log.limetype == limetype, Log.object_id == object_id)
        .order_by(Log.id.desc())
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


def _page(rows: list[Any], limit: int) -> Page[Any]:
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(items=rows, next_cursor=int(rows[-1].id))
    return Page(items=rows, next_cursor=None)
