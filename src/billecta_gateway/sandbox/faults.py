"""Fault injection per route (by route-table name, or ``*`` for all) and global latency.

A rule can add latency, answer an error status, answer 429 with ``Retry-After``, or never answer
within the client's timeout. ``rate`` is the share of requests it hits (drawn from the seeded
random generator, so a run is repeatable), ``times`` how many hits it has before it disappears,
and ``after_handling`` makes it fail *after* the change was made: an answer lost on the way back.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from billecta_gateway.billecta.routes import ROUTES

FaultKind = Literal["error", "rate_limit", "timeout", "latency"]
ALL_ROUTES = "*"


class FaultSpec(BaseModel):
    """One fault rule (the body of ``PUT /_sandbox/faults/{route}``)."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind = "error"
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    status: int = Field(default=500, ge=400, le=599)
    message: str | None = None
    retry_after: float = Field(default=1.0, ge=0.0)
    latency_ms: float = Field(default=0.0, ge=0.0)
    times: int | None = Field(default=None, ge=1)
    after_handling: bool = False


@dataclass(frozen=True)
class Outcome:
    """What a fault does to one request."""

    kind: FaultKind
    status: int
    message: str
    retry_after: float
    after_handling: bool


@dataclass(frozen=True)
class Plan:
    latency_s: float
    outcome: Outcome | None


class Faults:
    """The active rules, the global latency and the switch that releases hanging requests."""

    def __init__(self, *, latency_ms: float, seed: str | None, hang_seconds: float) -> None:
        self.latency_ms = latency_ms
        self.hang_seconds = hang_seconds
        self.rules: dict[str, FaultSpec] = {}
        self._random = random.Random(f"faults:{seed}")  # noqa: S311 - simulation only
        self._release = asyncio.Event()

    @staticmethod
    def check_route(route: str) -> None:
        if route != ALL_ROUTES and route not in ROUTES:
            raise KeyError(route)

    def set(self, route: str, spec: FaultSpec) -> None:
        self.check_route(route)
        self.rules[route] = spec

    def clear(self, route: str | None = None) -> None:
        """Remove one rule (or all), releasing requests that hang."""
        if route is None:
            self.rules.clear()
        else:
            self.rules.pop(route, None)
        self.release_hangs()

    def release_hangs(self) -> None:
        self._release.set()
        self._release = asyncio.Event()

    def plan(self, route: str) -> Plan:
        """Decide, for one request, its latency and whether a fault hits it."""
        key = route if route in self.rules else ALL_ROUTES
        spec = self.rules.get(key)
        latency = self.latency_ms
        if spec is None:
            return Plan(latency / 1000, None)
        latency += spec.latency_ms
        hit = spec.rate >= 1.0 or self._random.random() < spec.rate
        if not hit:
            return Plan(latency / 1000, None)
        if spec.times is not None:
            remaining = spec.times - 1
            if remaining <= 0:
                del self.rules[key]
            else:
                self.rules[key] = spec.model_copy(update={"times": remaining})
        if spec.kind == "latency":
            return Plan(latency / 1000, None)
        status = {"rate_limit": 429, "timeout": 504}.get(spec.kind, spec.status)
        message = spec.message or {
            "rate_limit": "Too many requests; slow down",
            "timeout": "The operation timed out",
        }.get(spec.kind, "An error has occurred (injected fault)")
        outcome = Outcome(spec.kind, status, message, spec.retry_after, spec.after_handling)
        return Plan(latency / 1000, outcome)

    async def hang(self) -> None:
        """Wait as a request that never answers would (until released or the hang ends)."""
        release = self._release
        try:
            await asyncio.wait_for(release.wait(), self.hang_seconds)
        except TimeoutError:
            return

    def describe(self) -> dict[str, object]:
        return {
            "latency_ms": self.latency_ms,
            "rules": {route: spec.model_dump() for route, spec in self.rules.items()},
        }
