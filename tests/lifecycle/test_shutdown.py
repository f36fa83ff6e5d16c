"""SIGTERM to a real worker process: running jobs finish (within JOB_COMPLETION_WAIT), they are
not cancelled and retried."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.lifecycle.slow_worker import FINISHED, STARTED

ROOT = Path(__file__).resolve().parent.parent.parent
QUEUE = "billecta-gateway:shutdown-test"

pytestmark = pytest.mark.worker


async def until(check: Callable[[], Any]) -> None:
    for _ in range(600):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached within 30 s")


@pytest.fixture
async def start_worker(
    redis: ArqRedis, committed_sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Callable[[int], Any]]:
    """Start `slow_worker` with a JOB_COMPLETION_WAIT; ready once its health key exists."""
    processes: list[subprocess.Popen[bytes]] = []

    async def start(wait: int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for below
            [sys.executable, "-m", "tests.lifecycle.slow_worker", str(wait), QUEUE],
            cwd=ROOT,
            env=os.environ.copy(),
        )
        processes.append(process)
        await until(lambda: redis.exists(f"{QUEUE}:health-check"))
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


async def stopped(process: subprocess.Popen[bytes]) -> float:
    """Seconds the process took to exit after SIGTERM (at most 20)."""
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(process.wait, 20)
    return time.monotonic() - sent


async def test_sigterm_lets_a_running_job_finish_on_its_first_try(
    redis: ArqRedis, start_worker: Callable[[int], Any]
) -> None:
    process = await start_worker(15)
    job = await redis.enqueue_job("slow_job", 2.0, _queue_name=QUEUE, _job_id="slow-1")
    assert job is not None
    await until(lambda: redis.llen(STARTED))

    took = await stopped(process)

    assert process.returncode == 0
    assert await redis.lrange(STARTED, 0, -1) == [b"1"]
    assert await redis.lrange(FINISHED, 0, -1) == [b"1"]
    info = await Job("slow-1", redis, _queue_name=QUEUE).result_info()
    assert info is not None and info.success and info.result == "done" and info.job_try == 1
    # Nothing left to run again: the job is complete, not back in the queue.
    assert await Job("slow-1", redis, _queue_name=QUEUE).status() == JobStatus.complete
    assert took < 10


async def test_a_job_longer_than_the_wait_is_cancelled_when_it_runs_out(
    redis: ArqRedis, start_worker: Callable[[int], Any]
) -> None:
    process = await start_worker(1)
    await redis.enqueue_job("slow_job", 60.0, _queue_name=QUEUE, _job_id="slow-2")
    await until(lambda: redis.llen(STARTED))

    took = await stopped(process)

    assert took < 8  # bounded by JOB_COMPLETION_WAIT, not by the job
    assert await redis.lrange(FINISHED, 0, -1) == []
    # arq puts a cancelled job back for a later try.
    assert await Job("slow-2", redis, _queue_name=QUEUE).status() == JobStatus.queued
