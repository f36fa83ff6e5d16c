"""What `/readyz` checks: PostgreSQL (the ORM engine and the receiver's own pool), the
database's migrations against the code's, and Redis.

PostgreSQL unreachable, or a database behind the code's migrations, takes the process out of
service (503). Redis down only degrades it (200 `degraded`): the receiver keeps storing
webhooks, the inbox cron queues them once Redis is back, and every other job intent already
lives in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from billecta_gateway.schema_version import SchemaState, applied_revisions, code_revisions
from billecta_gateway.webhooks.intake import Intake

logger = logging.getLogger("billecta_gateway.health")

CHECK_TIMEOUT_SECONDS = 3.0
OK = "ok"
UNREACHABLE = "unreachable"


@dataclass
class Readiness:
    """The outcome of the checks: each check's word, and details for an operator."""

    checks: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)

    @property
    def serving(self) -> bool:
        """False when the process must be taken out of service."""
        return (
            self.checks.get("postgres") == OK
            and self.checks.get("receiver_pool") == OK
            and self.checks.get("migrations") != SchemaState.BEHIND
        )

    @property
    def status(self) -> str:
        """`ok`, `degraded` (serving without Redis) or `unavailable`."""
        if not self.serving:
            return "unavailable"
        return OK if all(v in (OK, SchemaState.AHEAD) for v in self.checks.values()) else "degraded"


async def _timed(what: str, check: Awaitable[Any]) -> bool:
    try:
        await asyncio.wait_for(check, timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        logger.warning("readiness: %s unreachable: %s", what, type(exc).__name__)
        return False
    return True


async def _database(engine: AsyncEngine, result: Readiness) -> None:
    applied: set[str] = set()

    async def query() -> None:
        async with engine.connect() as conn:
            applied.update(await applied_revisions(conn))

    if not await _timed("postgres", query()):
        result.checks["postgres"] = UNREACHABLE
        return
    result.checks["postgres"] = OK
    code = code_revisions()
    if code is None:
        result.checks["migrations"] = SchemaState.UNKNOWN
        result.details["migrations"] = "no migrations folder ships with this code"
        return
    state = code.compare(applied)
    result.checks["migrations"] = state
    if state is not SchemaState.CURRENT:
        result.details["migrations"] = (
            f"database at {', '.join(sorted(applied)) or 'no revision'}; "
            f"code at {', '.join(sorted(code.heads))}"
        )


async def check_readiness(*, engine: AsyncEngine, intake: Intake, redis: Any) -> Readiness:
    """Run every check at once, each bounded by CHECK_TIMEOUT_SECONDS."""
    result = Readiness()
    _, pool_ok, redis_ok = await asyncio.gather(
        _database(engine, result),
        _timed("the receiver's pool", intake.ping()),
        _timed("redis", redis.ping()),
    )
    result.checks["receiver_pool"] = OK if pool_ok else UNREACHABLE
    result.checks["redis"] = OK if redis_ok else UNREACHABLE
    if not redis_ok:
        result.details["redis"] = (
            "unreachable: webhooks are still stored and queued once it is back; "
            "tasks and operations that queue jobs answer 503"
        )
    return result
