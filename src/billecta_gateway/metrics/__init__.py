"""Prometheus metrics: every series the gateway exports, and the small API code reports through.

The API for callers (all cheap, safe in any process, never raising):

- :func:`observe_call` ``(client, route, status, seconds)``: one request to an upstream API
  (``client`` is ``"billecta"`` or ``"lime"``; ``route`` the route's name, never an id;
  ``status`` the HTTP status, or ``timeout`` / ``unreachable`` / ``deadline`` / ``error``);
- :func:`observe_retry` ``(client, route)``: a request about to be repeated;
- :func:`observe_slots` ``(client, priority, in_flight, waiting)``: a client's bound on calls
  in flight, per priority (``interactive`` / ``bulk``);
- :func:`gauge` defines a gauge of the gateway (name prefixed), and
  :func:`register_gauge_source` an async callback the worker runs every
  METRICS_REFRESH_SECONDS to set gauges derived from the database or Redis
  (see :mod:`billecta_gateway.metrics.gauges`). Only the worker runs them, so N API processes
  do not each query the database.

HTTP requests are counted by :mod:`billecta_gateway.metrics.http`. Under
``api --workers N`` the processes share PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode, set up by the CLI before the processes start): counters and histograms are
summed over the processes, the client gauges over the live ones.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

logger = logging.getLogger("billecta_gateway.metrics")

PREFIX = "billecta_gateway_"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# prometheus-client chose where values live when it was imported (just above), from this.
_MULTIPROCESS = bool(os.environ.get(MULTIPROC_ENV))
if _MULTIPROCESS:
    # Values are files there from the first metric on (a worker given the API's setting).
    Path(os.environ[MULTIPROC_ENV]).mkdir(parents=True, exist_ok=True)
# Billecta answers in tens of milliseconds to seconds; the deadline is 20 s.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)

HTTP_REQUESTS = Counter(
    f"{PREFIX}http_requests_total",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    f"{PREFIX}http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
CLIENT_REQUESTS = Counter(
    f"{PREFIX}client_requests_total",
    "Requests to an upstream API (billecta, lime), by route name and outcome",
    ["client", "route", "status"],
)
CLIENT_LATENCY = Histogram(
    f"{PREFIX}client_request_duration_seconds",
    "Time an upstream API took to answer one request (one attempt), by route name",
    ["client", "route"],
    buckets=LATENCY_BUCKETS,
)
CLIENT_RETRIES = Counter(
    f"{PREFIX}client_retries_total",
    "Requests to an upstream API repeated after a transient failure, by route name",
    ["client", "route"],
)
CLIENT_IN_FLIGHT = Gauge(
    f"{PREFIX}client_requests_in_flight",
    "Requests to an upstream API holding a slot now, by priority",
    ["client", "priority"],
    multiprocess_mode="livesum",
)
CLIENT_WAITING = Gauge(
    f"{PREFIX}client_requests_waiting",
    "Requests to an upstream API waiting for a free slot now, by priority",
    ["client", "priority"],
    multiprocess_mode="livesum",
)
GAUGE_REFRESH_ERRORS = Counter(
    f"{PREFIX}metrics_refresh_errors_total",
    "Gauge sources that failed to refresh (their gauges keep the last value)",
    ["source"],
)


def observe_call(client: str, route: str, status: int | str, seconds: float) -> None:
    """Count one upstream request and its latency."""
    CLIENT_REQUESTS.labels(client, route, str(status)).inc()
    CLIENT_LATENCY.labels(client, route).observe(seconds)


def observe_retry(client: str, route: str) -> None:
    """Count one upstream request about to be repeated."""
    CLIENT_RETRIES.labels(client, route).inc()


def observe_slots(client: str, priority: str, in_flight: int, waiting: int) -> None:
    """Set how many upstream requests of ``priority`` are in flight and waiting."""
    CLIENT_IN_FLIGHT.labels(client, priority).set(in_flight)
    CLIENT_WAITING.labels(client, priority).set(waiting)


def gauge(name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
    """A gauge named ``billecta_gateway_<name>``, set by a gauge source in the worker."""
    return Gauge(f"{PREFIX}{name}", documentation, list(labels), multiprocess_mode="livemostrecent")


# A gauge source sets its gauges from what it reads; it gets the worker's context.
GaugeSource = Callable[[Any], Awaitable[None]]
_sources: dict[str, GaugeSource] = {}


def register_gauge_source(name: str, source: GaugeSource) -> None:
    """Have the worker run ``source(ctx)`` every METRICS_REFRESH_SECONDS (a name once)."""
    _sources[name] = source


def gauge_sources() -> dict[str, GaugeSource]:
    """The registered gauge sources, by name."""
    return dict(_sources)


def registry() -> CollectorRegistry:
    """What a scrape reads: every process's files in multiprocess mode, else this process."""
    if not _MULTIPROCESS:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    return collected


def render() -> bytes:
    """The text exposition of :func:`registry`."""
    return generate_latest(registry())


def prepare_multiprocess_dir(directory: Path) -> None:
    """Empty ``directory`` (files of an earlier run would be summed in) and point the
    processes about to start at it."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)


_PID_FILE = re.compile(r"_(\d+)\.db$")


def forget_dead_processes() -> None:
    """Drop the live gauges of processes that are gone (a restarted API worker), so their
    last in-flight counts stop adding up."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not _MULTIPROCESS or not directory or not Path(directory).is_dir():
        return
    pids = {int(m.group(1)) for p in Path(directory).iterdir() if (m := _PID_FILE.search(p.name))}
    for pid in pids - {os.getpid()}:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:
            continue
