"""A separate gateway process for the shared rate-limit test: ``python -m
tests.limecrm.ratelimit_child <database-url> <lime-base-url> <api-key> <requests> <rate>
<bucket> <shared|local>``. It prints how many live processes the registry showed it."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy.ext.asyncio import create_async_engine

from billecta_gateway.limecrm.client import LimeClient, RateGate
from billecta_gateway.limecrm.ratelimit import SharedRateLimiter, local_rate_limiter


async def main(
    database_url: str, base_url: str, key: str, count: int, rate: float, bucket: str, mode: str
) -> None:
    engine = create_async_engine(database_url)
    shared = SharedRateLimiter(engine, rate=rate, role="test", bucket=bucket, heartbeat_seconds=0.5)
    gate: RateGate = shared if mode == "shared" else local_rate_limiter(rate)
    live = 0
    async with LimeClient(base_url=base_url, api_key=key, rate_gate=gate, max_retries=0) as client:
        for _ in range(count):
            await client.ping()
            live = max(live, shared.live_processes)
    await shared.close()
    await engine.dispose()
    print(f"live={live}", flush=True)


if __name__ == "__main__":
    db, url, key, n, r, b, m = sys.argv[1:8]
    asyncio.run(main(db, url, key, int(n), float(r), b, m))
