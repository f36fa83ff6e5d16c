"""A real worker process, as `billecta-gateway worker` builds it, with one extra slow job.

Run as `python -m tests.lifecycle.slow_worker JOB_COMPLETION_WAIT QUEUE_NAME` (the test
database and Redis from the environment). The job records its tries in Redis.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from arq.worker import func

from billecta_gateway.worker import FUNCTIONS, create_worker
from tests.conftest import make_settings

STARTED = "slow_job:started"
FINISHED = "slow_job:finished"


async def slow_job(ctx: dict[str, Any], seconds: float) -> str:
    """Sleep ``seconds``, recording the try when it starts and when it finishes."""
    await ctx["redis"].rpush(STARTED, ctx["job_try"])
    await asyncio.sleep(seconds)
    await ctx["redis"].rpush(FINISHED, ctx["job_try"])
    return "done"


def main() -> None:
    wait, queue_name = int(sys.argv[1]), sys.argv[2]
    settings = make_settings(job_completion_wait=wait, arq_queue_name=queue_name, metrics_port=0)
    functions = [*FUNCTIONS, func(slow_job, timeout=120)]  # type: ignore[arg-type]
    create_worker(settings, functions=functions, cron_jobs=[]).run()


if __name__ == "__main__":
    main()
