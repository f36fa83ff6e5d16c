"""Running one object's job: start the log, run the handler, finish the log, retry or record.

The rules of DESIGN §3.5 and arq's sharp edges meet here:
- only `arq.Retry` retries a job, so transient failures (Billecta 429/5xx/timeouts, database
  or Redis unreachable, deadlocks) are turned into `Retry` with exponential backoff that
  honours Billecta's `Retry-After`;
- arq never calls a job whose tries are exhausted, so on the final try (`job_try >= max_tries`)
  the job records the failure itself: the log ends `error`, never `running`;
- the handler runs under a time budget shorter than arq's timeout, so a slow job is retried
  like a transient failure instead of being killed with its log left `running`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Any

from arq import Retry
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta.errors import BillectaApiRequestException
from billecta_gateway.lime.counters import changed_since, read_counter
from billecta_gateway.monitor import service as monitor
from billecta_gateway.tasks.contract import (
    Outcome,
    TaskContext,
    TaskFailed,
    TaskKind,
    context_resources,
    object_job_id,
    on_change_lock,
)
from billecta_gateway.tasks.locks import (
    advisory_lock,
    lock_key,
    pinned_sessionmaker,
    session_lock,
)

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

logger = logging.getLogger("billecta_gateway.tasks")

RETRY_BASE_DELAY = 5.0
RETRY_MAX_DELAY = 600.0
# Serialization failure, deadlock, lock not available, and the server going away (shutdown,
# crash, starting up): the same work succeeds when retried.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03"})
# Connection exceptions (08xxx, e.g. 08003 when the server closes the connection mid-query).
_TRANSIENT_SQLSTATE_CLASSES = ("08",)
_jitter = random.Random()  # noqa: S311 - backoff jitter, not a secret


def retry_delay(job_try: int, retry_after: float | None = None) -> float:
    """Seconds before the next try: Billecta's `Retry-After` when it sent one, else an
    exponential backoff (5 s, 10 s, 20 s, ...) with jitter, capped at 10 minutes."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_MAX_DELAY)
    ceiling = min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2.0 ** max(job_try - 1, 0))
    return ceiling / 2 + _jitter.uniform(0, ceiling / 2)


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def transient(exc: BaseException) -> tuple[bool, float | None]:
    """Whether a failure is worth retrying, and the delay Billecta asked for (if any)."""
    if isinstance(exc, BillectaApiRequestException):
        return exc.retryable, exc.retry_after
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True, None
    if isinstance(exc, DBAPIError):
        # A connection that died under the job (the worker's pool does not pre-ping) is
        # invalidated by SQLAlchemy, and the next try gets a fresh one.
        if exc.connection_invalidated:
            return True, None
        state = _sqlstate(exc) or ""
        return state in _TRANSIENT_SQLSTATES or state.startswith(_TRANSIENT_SQLSTATE_CLASSES), None
    if isinstance(exc, TimeoutError | RedisError | ConnectionError):
        return True, None
    return False, None


def describe(
    exc: BaseException, *, retryable: bool, job_try: int, budget: float, job_id: str | None = None
) -> str:
    """The sentence recorded on the log and the object for a failure.

    Never the text of a database or unexpected error: it may quote the row being written
    (personal data); the log line carries the details under the job id named here.
    """
    if isinstance(exc, TaskFailed):
        return exc.message
    if isinstance(exc, BillectaApiRequestException):
        if retryable:
            return f"Billecta was unavailable after {job_try} tries: {exc.message}"
        return f"Billecta rejected the request: {exc.message}"
    if isinstance(exc, TimeoutError):
        return f"The job did not finish within {budget:.0f} s after {job_try} tries"
    if retryable:
        return f"A service the gateway depends on was unavailable after {job_try} tries"
    return error_sentence(exc, job_id=job_id)


def error_sentence(exc: BaseException, *, job_id: str | None = None) -> str:
    """What is stored (on a log, a cron run, an object) about an unexpected error: a sentence
    naming its type and the job whose log line has the details, never the error's text (a
    database error quotes the statement's values, personal data among them)."""
    where = f" (see the worker log for job {job_id})" if job_id else " (see the worker log)"
    if isinstance(exc, SQLAlchemyError):
        return f"A database error ({type(exc).__name__}) stopped the job{where}"
    return f"Unexpected error ({type(exc).__name__}){where}"


async def _requeue(ctx: dict[str, Any], log_id: int) -> None:
    """Before a retry: show the log `pending` again (its job is deferred in Redis, not
    running), best effort. `running` then always means a try in flight, which the re-drive
    relies on to tell a dead worker's job from a live one."""
    try:
        async with ctx["sessionmaker"]() as session:
            await monitor.requeue_log(session, log_id=log_id)
            await session.commit()
    except Exception as exc:
        logger.warning("could not mark log %s pending: %s", log_id, type(exc).__name__)


async def record_failure(
    ctx: WorkerContext | dict[str, Any],
    kind: TaskKind,
    *,
    log_id: int,
    object_id: int,
    message: str,
    phase: str = "",
) -> None:
    """Write a failure on the object (the kind's `on_failure`) and finish its log `error`.

    Nothing is written when the log is already finished (another run of the job finished it):
    its object is as that run left it.
    """
    async with ctx["sessionmaker"]() as session:
        if kind.on_failure is not None:
            await kind.on_failure(session, object_id, message, phase)
        result = await monitor.finish_log(session, log_id=log_id, ok=False, message=message)
        if not result.finished:
            await session.rollback()
            return
        await session.commit()


async def _start(
    session: AsyncSession, kind: TaskKind, log_id: int, object_id: int
) -> tuple[int, int | None] | None:
    """Lock the object, mark the log `running` and read the object's counter, committed on
    their own; (attempt, counter), or None when the log is already finished.

    The kind's lock is session-level (held across the handler's Billecta calls). The
    on-change lock is held only by this short transaction: a request that is queueing a sync
    of this object (and saw this log pending) commits first, so the handler reads its change.
    """
    if kind.lock:
        await session_lock(session, lock_key(kind.lock, object_id))
    await advisory_lock(session, on_change_lock(kind), object_id)
    attempt = await monitor.start_log_attempt(session, log_id=log_id)
    counter = None if attempt is None else await read_counter(session, kind.limetype, object_id)
    await session.commit()
    return None if attempt is None else (attempt, counter)


async def _follow_up(
    session: AsyncSession, kind: TaskKind, log_id: int, object_id: int, sent: int | None
) -> tuple[int, str] | None:
    """When the object changed while the job ran (its counter moved), a new `pending` log in
    the same batch and its job, to enqueue once this transaction commits."""
    if not kind.follow_up:
        return None
    now = await read_counter(session, kind.limetype, object_id, wait_for_writers=True)
    if not changed_since(sent, now):
        return None
    follow_up = await monitor.add_follow_up_log(
        session,
        log_id=log_id,
        job=lambda batch, attempt: object_job_id(kind, batch, object_id, attempt),
    )
    return follow_up


async def _enqueue_follow_up(
    ctx: dict[str, Any], kind: TaskKind, object_id: int, log_id: int, task_id: str
) -> None:
    """Queue a follow-up job; when Redis fails, its pending log is re-driven by the cron."""
    try:
        await ctx["redis"].enqueue_job(
            kind.job,
            log_id,
            object_id,
            _job_id=task_id,
            _queue_name=kind.queue_for(ctx["settings"]),
        )
    except (RedisError, OSError) as exc:
        logger.warning("could not enqueue follow-up %s: %s", task_id, type(exc).__name__)


async def run_object_task(
    ctx: WorkerContext | dict[str, Any], kind: TaskKind, log_id: int, object_id: int
) -> str:
    """Run `kind`'s handler for one object under its monitor log; answers ok, error or skipped.

    The transaction rule (DESIGN §3.5): the job pins one connection and holds the kind's lock
    on it as a session-level lock, released when the job ends. The log goes `running` (with
    the object's counter read) in a short transaction of its own; the handler's work on the
    object and the finished log commit together; if the object's counter moved meanwhile, a
    follow-up log is added to the batch in that same transaction and its job enqueued after.

    Idempotent: a log that is already finished is skipped (a second run of the same job waits
    for the first on the object's lock, then finds the log finished), and handlers look
    objects up in Billecta before creating them.
    """
    data: dict[str, Any] = dict(ctx)
    job_try = int(data.get("job_try") or 1)
    final = job_try >= kind.max_tries
    run: TaskContext | None = None
    try:
        schema, mappings = context_resources(data)
        async with (
            pinned_sessionmaker(data["sessionmaker"]) as sessionmaker,
            sessionmaker() as session,
        ):
            # The budget covers the wait for the object's lock too.
            async with asyncio.timeout(kind.budget_for(data["settings"])):
                started = await _start(session, kind, log_id, object_id)
                if started is None:
                    return "skipped"
                attempt, counter = started
                run = TaskContext(
                    session=session,
                    # Not the pinned one: sessions a handler opens get connections (and
                    # transactions) of their own, committed as it goes.
                    sessionmaker=data["sessionmaker"],
                    billecta=data["billecta"],
                    settings=data["settings"],
                    schema=schema,
                    mappings=mappings,
                    job_try=job_try,
                    attempt=attempt,
                    final_try=final,
                    log_id=log_id,
                    held_lock=lock_key(kind.lock, object_id) if kind.lock else None,
                    counter=counter,
                )
                outcome: Outcome = await kind.handler(run, object_id)
            follow_up = await _follow_up(session, kind, log_id, object_id, counter)
            await monitor.finish_log(session, log_id=log_id, ok=outcome.ok, message=outcome.message)
            await session.commit()
        if follow_up is not None:
            await _enqueue_follow_up(data, kind, object_id, *follow_up)
        return "ok" if outcome.ok else "error"
    except Exception as exc:
        retryable, retry_after = transient(exc)
        if retryable and not final:
            delay = retry_delay(job_try, retry_after)
            logger.warning(
                "%s for %s %s failed (%s), try %d/%d, retrying in %.1f s",
                kind.job,
                kind.limetype,
                object_id,
                type(exc).__name__,
                job_try,
                kind.max_tries,
                delay,
            )
            if run is not None:
                await _requeue(data, log_id)
            raise Retry(defer=delay) from exc
        if not retryable and not isinstance(exc, TaskFailed | BillectaApiRequestException):
            logger.exception("%s for %s %s failed unexpectedly", kind.job, kind.limetype, object_id)
        message = describe(
            exc,
            retryable=retryable,
            job_try=job_try,
            budget=kind.budget_for(data["settings"]),
            job_id=data.get("job_id"),
        )
        phase = run.phase if run is not None else ""
        try:
            await record_failure(
                data, kind, log_id=log_id, object_id=object_id, message=message, phase=phase
            )
        except Exception as record_exc:
            # The failure could not be written (database down): retry while tries remain;
            # otherwise the re-drive cron finds the log still running.
            if transient(record_exc)[0] and not final:
                raise Retry(defer=retry_delay(job_try)) from record_exc
            raise
        return "error"
