"""The log of Billecta requests the sandbox received, so tests and benchmarks can count them.

Entries are kept up to a limit (oldest dropped first); the per-route counters never drop.
"""

from __future__ import annotations

from collections import Counter, deque
from datetime import datetime
from typing import Any


class RequestLog:
    def __init__(self, limit: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.total = 0

    def start(
        self, *, at: datetime, method: str, path: str, query: str, body: Any
    ) -> dict[str, Any]:
        """Record a request as it arrives (its route and status are filled in later)."""
        self.total += 1
        entry: dict[str, Any] = {
            "seq": self.total,
            "at": at.isoformat(),
            "method": method,
            "route": None,
            "path": path,
            "query": query,
            "body": body,
            "status": None,
            "duration_ms": None,
        }
        self._entries.append(entry)
        return entry

    def finish(self, entry: dict[str, Any], *, route: str | None, status: int, ms: float) -> None:
        entry["route"] = route
        entry["status"] = status
        entry["duration_ms"] = round(ms, 3)
        self.counts[route or "(unknown)"] += 1
        self.statuses[status] += 1

    def query(
        self,
        *,
        route: str | None = None,
        method: str | None = None,
        status: int | None = None,
        since: int = 0,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Entries after sequence number ``since``, oldest first, filtered."""
        found: list[dict[str, Any]] = []
        for entry in self._entries:
            if entry["seq"] <= since:
                continue
            if route is not None and entry["route"] != route:
                continue
            if method is not None and entry["method"] != method.upper():
                continue
            if status is not None and entry["status"] != status:
                continue
            found.append(entry)
            if len(found) >= limit:
                break
        return found

    def summary(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_route": dict(sorted(self.counts.items())),
            "by_status": {str(k): v for k, v in sorted(self.statuses.items())},
        }

    def clear(self) -> None:
        self._entries.clear()
        self.counts.clear()
        self.statuses.clear()
        self.total = 0
