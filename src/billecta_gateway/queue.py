"""Enqueueing jobs after commit. Durable intent lives in Postgres; Redis only carries messages."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from billecta_gateway import tracing
from billecta_gateway.config import Settings

logger = logging.getLogger("billecta_gateway.queue")


@dataclass
class PendingJob:
    function: str
    args: tuple[Any, ...]
    job_id: str | None
    defer_by: float | None = None
    # None: the pool's default queue (the object worker's).
    queue_name: str | None = None


@dataclass
class AfterCommit:
    """Jobs to enqueue once the transaction that recorded their intent has committed.

    Usage: `jobs.add(...)` while writing, `await session.commit()`, then `await jobs.flush(queue)`.
    A failed enqueue is logged, not raised: the row that records the intent stays pending and a
    cron re-drives it.
    """

    jobs: list[PendingJob] = field(default_factory=list)

    def add(
        self,
        function: str,
        *args: Any,
        job_id: str | None = None,
        defer_by: float | None = None,
        queue_name: str | None = None,
    ) -> None:
        self.jobs.append(PendingJob(function, args, job_id, defer_by, queue_name))

    async def flush(self, queue: ArqRedis) -> int:
        """Enqueue every pending job; returns how many reached Redis."""
        sent = 0
        jobs, self.jobs = self.jobs, []
        try:
            for job in jobs:
                await queue.enqueue_job(
                    job.function,
                    *job.args,
                    _job_id=job.job_id,
                    _defer_by=job.defer_by,
                    _queue_name=job.queue_name,
                )
                sent += 1
        except (RedisError, OSError) as exc:
            logger.warning(
                "could not enqueue %d job(s), a cron will re-drive them: %s",
                len(jobs) - sent,
                type(exc).__name__,
            )
        return sent


def create_queue(settings: Settings) -> ArqRedis:
    """The arq pool of a process; connects lazily, so the API starts even while Redis is down."""
    pool = ConnectionPool.from_url(
        settings.redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )
    return ArqRedis(
        connection_pool=pool,
        default_queue_name=settings.arq_queue_name,
        # A job carries the trace context it was queued in (tracing.py).
        job_serializer=tracing.serialize_job,
        job_deserializer=tracing.deserialize_job,
    )


async def close_queue(queue: ArqRedis) -> None:
    await queue.aclose(close_connection_pool=True)


def job_id(kind: str, *parts: object) -> str:
    """A deterministic arq job id, e.g. `upsert_debtor:batch=7:obj=1001:try=1`."""
    return ":".join([kind, *(str(p) for p in parts)])
