"""The Lime rate limit shared through PostgreSQL: across processes (counted by the sandbox),
the interactive reserve, the registry, and the bounded fallback when the database is gone."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from billecta_gateway.billecta.limiter import Priority
from billecta_gateway.limecrm.ratelimit import GUARD_SECONDS, SharedRateLimiter
from tests.conftest import ROOT
from tests.limecrm.support import API_KEY, LimeSandboxServer


@pytest.fixture
async def committed_engine(migrated_database: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose transactions commit (the limiter's state must be seen by others)."""
    engine = create_async_engine(migrated_database)
    yield engine
    await engine.dispose()


def bucket() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


async def _children(
    lime: LimeSandboxServer, database_url: str, *, mode: str, rate: float, count: int
) -> list[str]:
    name = bucket()
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.limecrm.ratelimit_child",
            database_url,
            lime.base_url,
            API_KEY,
            str(count),
            str(rate),
            name,
            mode,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    return [out.decode().strip() for out, _ in outputs]


async def test_two_processes_together_never_exceed_the_limit(
    lime: LimeSandboxServer, migrated_database: str
) -> None:
    await lime.settings(rate_limit=10)  # the sandbox answers 429 above 10 in any second
    printed = await _children(lime, migrated_database, mode="shared", rate=10, count=12)
    seen = await lime.requests()
    statuses = {r["status"] for r in seen["requests"]}
    assert seen["total"] == 24 and statuses == {200}
    assert seen["max_per_second"] <= 10
    assert "live=2" in printed  # each process saw the other in the registry
    times = [r["t"] for r in seen["requests"]]
    assert times[-1] - times[0] >= 23 * (1 + GUARD_SECONDS) / 10 * 0.95


async def test_without_the_shared_bucket_two_processes_exceed_it(
    lime: LimeSandboxServer, migrated_database: str
) -> None:
    """The control experiment: the same two processes limiting themselves alone."""
    await _children(lime, migrated_database, mode="local", rate=10, count=12)
    assert (await lime.requests())["max_per_second"] > 10


async def test_interactive_calls_keep_their_reserved_share(committed_engine: AsyncEngine) -> None:
    name = bucket()
    # Six processes' worth of background work and one process serving a user, one bucket.
    limiters = [
        SharedRateLimiter(committed_engine, rate=5, interactive_reserved=2, bucket=name)
        for _ in range(7)
    ]
    grants: dict[Priority, int] = {Priority.BULK: 0, Priority.INTERACTIVE: 0}

    async def caller(limiter: SharedRateLimiter, priority: Priority) -> None:
        while True:
            await limiter.wait(priority)
            grants[priority] += 1

    window = 2.0
    tasks = [asyncio.create_task(caller(lim, Priority.BULK)) for lim in limiters[:6]]
    tasks.append(asyncio.create_task(caller(limiters[6], Priority.INTERACTIVE)))
    await asyncio.sleep(window)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for limiter in limiters:
        await limiter.close()
    slot = 1 + GUARD_SECONDS
    # Bulk work gets at most (rate - reserved) per second; the user keeps the rest.
    assert grants[Priority.BULK] <= window * 3 / slot + 1
    assert grants[Priority.INTERACTIVE] >= window * 2 / slot - 1
    assert sum(grants.values()) <= window * 5 / slot + 1


async def test_the_registry_lists_live_processes_and_forgets_closed_ones(
    committed_engine: AsyncEngine,
) -> None:
    name = bucket()
    first = SharedRateLimiter(committed_engine, rate=50, bucket=name, role="api")
    second = SharedRateLimiter(committed_engine, rate=50, bucket=name, role="worker")
    await first.wait(Priority.BULK)
    await second.wait(Priority.BULK)
    assert second.live_processes >= 2
    async with committed_engine.connect() as conn:
        roles = (
            await conn.execute(
                text("SELECT role FROM lime_rate_process WHERE id IN (:a, :b) ORDER BY role"),
                {"a": first.process_id, "b": second.process_id},
            )
        ).scalars()
        assert list(roles) == ["api", "worker"]
    await first.close()
    await second.close()
    async with committed_engine.connect() as conn:
        left = await conn.scalar(
            text("SELECT count(*) FROM lime_rate_process WHERE id IN (:a, :b)"),
            {"a": first.process_id, "b": second.process_id},
        )
    assert left == 0


async def test_losing_the_database_keeps_a_bounded_local_share() -> None:
    dead = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    limiter = SharedRateLimiter(dead, rate=10, bucket=bucket())
    limiter.live_processes = 2  # as last seen in the registry
    started = time.monotonic()
    for _ in range(4):
        await limiter.wait(Priority.BULK)
    elapsed = time.monotonic() - started
    await dead.dispose()
    assert limiter.fallback_grants == 4 and limiter.grants == 0
    # 10/s shared by two processes: 5/s each, guard included, never unlimited.
    assert elapsed >= 3 * (1 + GUARD_SECONDS) / 5 * 0.95
