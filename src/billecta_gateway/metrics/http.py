"""HTTP metrics of the API, and its `/metrics` endpoint."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billecta_gateway.metrics import CONTENT_TYPE, HTTP_LATENCY, HTTP_REQUESTS, render

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint() -> Response:
    """Prometheus metrics of the API processes (open, like the health checks)."""
    return Response(render(), media_type=CONTENT_TYPE)


def route_template(scope: Scope) -> str:
    """The matched route's full path template (bounded: never an id); `unmatched` otherwise.

    FastAPI includes a router by reference, so the matched route knows its path below the
    router's prefix only; the prefix is the part of the request path before the route's
    pattern matches (static: the gateway includes routers under PREFIX, never under ids).
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return "unmatched"
    pattern = getattr(route, "path_regex", None)
    path: str = scope.get("path", "")
    if pattern is not None:
        for start, char in enumerate(path):
            if char == "/" and pattern.fullmatch(path[start:]):
                return path[:start] + template
    return template


class HttpMetricsMiddleware:
    """Count every HTTP request by method, route template and status, with its latency."""

    def __init__(self, app: ASGIApp, *, skip: frozenset[str] = frozenset({"/metrics"})) -> None:
        self.app = app
        self.skip = skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.skip:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = route_template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
