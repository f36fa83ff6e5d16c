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
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from billecta_gateway.billecta.errors import BillectaApiRequestException
from billecta_gateway.monitor import service as monitor
from billecta_gateway.tasks.contract import (
    Outcome,
    TaskContext,
    TaskFailed,
    TaskKind,
    context_resources,
)
from billecta_gateway.tasks.locks import lock_key

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


def describe(exc: BaseException, *, retryable: bool, job_try: int, budget: float) -> str:
    """The sentence recorded on the log and the object for a failure."""
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
    return f"Unexpected error ({type(exc).__name__}): {exc}"


async def _mark_running(ctx: dict[str, Any], log_id: int) -> None:
    """After a try that will be retried: show the log `running` (the try's own mark was rolled
    back with its transaction) and refresh its time, best effort."""
    try:
        async with ctx["sessionmaker"]() as session:
            await monitor.start_log(session, log_id=log_id)
            await session.commit()
    except Exception as exc:
        logger.warning("could not mark log %s running: %s", log_id, type(exc).__name__)


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


async def run_object_task(
    ctx: WorkerContext | dict[str, Any], kind: TaskKind, log_id: int, object_id: int
) -> str:
    """Run `kind`'s handler for one object under its monitor log; answers ok, error or skipped.

    One transaction does it all: the log goes `running` (and its attempt number is read) in
    its first statement, the handler runs, and the log finishes and is counted on its batch
    just before the commit, so the object's new state and its log commit together.

    Idempotent: a log that is already finished is skipped (a second run of the same job waits
    for the first's commit on the log row, then finds it finished), and handlers look objects
    up in Billecta before creating them.
    """
    data: dict[str, Any] = dict(ctx)
    job_try = int(data.get("job_try") or 1)
    final = job_try >= kind.max_tries
    sessionmaker = data["sessionmaker"]
    run: TaskContext | None = None
    try:
        schema, mappings = context_resources(data)
        held = lock_key(kind.lock, object_id) if kind.lock else None
        async with sessionmaker() as session:
            # The budget covers the wait for the log row and the kind's lock too.
            async with asyncio.timeout(kind.budget):
                attempt = await monitor.start_log_attempt(session, log_id=log_id, lock_key=held)
                if attempt is None:
                    return "skipped"
                run = TaskContext(
                    session=session,
                    sessionmaker=sessionmaker,
                    billecta=data["billecta"],
                    settings=data["settings"],
                    schema=schema,
                    mappings=mappings,
                    job_try=job_try,
                    attempt=attempt,
                    final_try=final,
                    log_id=log_id,
                    held_lock=held,
                )
                outcome: Outcome = await kind.handler(run, object_id)
            await monitor.finish_log(session, log_id=log_id, ok=outcome.ok, message=outcome.message)
            await session.commit()
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
            if run is not None and not isinstance(exc, DBAPIError | PoolTimeoutError):
                await _mark_running(data, log_id)
            raise Retry(defer=delay) from exc
        if not retryable and not isinstance(exc, TaskFailed | BillectaApiRequestException):
            logger.exception("%s for %s %s failed unexpectedly", kind.job, kind.limetype, object_id)
        message = describe(exc, retryable=retryable, job_try=job_try, budget=kind.budget)
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
