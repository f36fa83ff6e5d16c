"""The sandbox app: every route of the Billecta route table, served from memory.

A request is matched with ``find_route`` (the table the client uses), authenticated, slowed or
failed by the fault rules, its body validated with the route's request model, handled, and its
answer checked against the route's response model before it leaves, so the client and the
sandbox cannot drift apart. Control endpoints live under ``/_sandbox`` (see ``control.py``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.types import Receive, Scope, Send

from billecta_gateway.billecta.routes import ROUTES, Route, find_route
from billecta_gateway.sandbox import (  # noqa: F401 - registers the route handlers
    aspnet,
    creditors,
    debtcollection,
    debtors,
    files,
    invoice_ops,
    invoices,
    lists,
    payments,
    products,
    swish,
)
from billecta_gateway.sandbox.config import SandboxConfig
from billecta_gateway.sandbox.faults import Faults, Outcome
from billecta_gateway.sandbox.requestlog import RequestLog
from billecta_gateway.sandbox.state import SandboxError, Store
from billecta_gateway.sandbox.webhooks import WebhookDispatcher
from billecta_gateway.sandbox.wire import HANDLERS, Call, normalize_enums

logger = logging.getLogger("billecta_gateway.sandbox")


def _message(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"Message": message}, status_code=status, headers=headers)


def validation_message(exc: ValidationError, prefix: str = "") -> str:
    """Billecta-style text naming each invalid field (at most five)."""
    parts = []
    for error in exc.errors(include_input=False)[:5]:
        loc = prefix + ".".join(str(p) for p in error["loc"])
        if error["type"] == "missing":
            parts.append(f"The {loc} field is required.")
        else:
            parts.append(f"{loc}: {error['msg']}.")
    return "The request is invalid: " + " ".join(parts)


class Sandbox:
    """State, faults, request log and webhook dispatcher of one sandbox app."""

    def __init__(
        self, config: SandboxConfig, *, webhook_transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        missing = sorted(set(ROUTES) - set(HANDLERS))
        if missing:
            raise RuntimeError(f"the sandbox has no handler for routes {missing}")
        self.config = config
        self.store = Store(config)
        self.faults = Faults(
            latency_ms=config.latency_ms, seed=config.seed, hang_seconds=config.timeout_hang_seconds
        )
        self.requests = RequestLog(config.request_log_limit)
        self.webhooks = WebhookDispatcher(config, self.store, transport=webhook_transport)
        self._response_adapters: dict[str, TypeAdapter[Any]] = {}

    def reset(self) -> None:
        """Back to the configured start: seeded creditors only, no faults, empty logs."""
        self.store = Store(self.config)
        self.faults.clear()
        self.faults.latency_ms = self.config.latency_ms
        self.requests.clear()
        self.webhooks.reset(self.store)

    def commit(self) -> None:
        """Hand the webhooks the last change queued to the dispatcher."""
        events = self.store.drain()
        if events:
            self.webhooks.enqueue(events)

    async def aclose(self) -> None:
        self.faults.release_hangs()
        await self.webhooks.aclose()

    # the Billecta API

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        raw = await request.body()
        body = _decode(raw)
        path: str = request.scope["path"]
        entry = self.requests.start(
            at=self.store.clock.now(),
            method=request.method,
            path=path,
            query=request.scope["query_string"].decode("latin-1"),
            body=body if body is not _NOT_JSON else raw[:2000].decode("utf-8", "replace"),
        )
        route_name: str | None = None
        response: Response | None = None
        try:
            found = find_route(request.method, path)
            route_name = found[0].name if found else None
            response = await self._answer(request, found, raw, body)
            return response
        finally:
            status = response.status_code if response is not None else 500
            self.requests.finish(
                entry, route=route_name, status=status, ms=(time.perf_counter() - started) * 1000
            )

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("authorization", "").strip()
        return hmac.compare_digest(given.encode(), self.config.authentication.encode())

    async def _answer(
        self,
        request: Request,
        found: tuple[Route, dict[str, str]] | None,
        raw: bytes,
        decoded: Any,
    ) -> Response:
        if not self._authorized(request):
            return _message(401, "Authorization has been denied for this request.")
        if found is None:
            return aspnet.unmatched(request)
        route, params = found
        unbound = aspnet.missing_query(request, route)
        if unbound is not None:
            return unbound
        plan = self.faults.plan(route.name)
        if plan.latency_s > 0:
            await asyncio.sleep(plan.latency_s)
        if plan.outcome is not None and not plan.outcome.after_handling:
            return await self._fault(plan.outcome)
        try:
            body, wire = self._parse(route, raw, decoded)
            call = Call(self.store, route, params, request.query_params, body, wire)
            result = HANDLERS[route.name](call)
            response = self._render(route, result)
        except SandboxError as exc:
            response = _message(exc.status, exc.message)
        finally:
            self.commit()
        if plan.outcome is not None:
            return await self._fault(plan.outcome)
        return response

    async def _fault(self, outcome: Outcome) -> Response:
        if outcome.kind == "timeout":
            await self.faults.hang()
            return _message(504, outcome.message)
        if outcome.kind == "rate_limit":
            retry_after = f"{outcome.retry_after:g}"
            return _message(429, outcome.message, {"Retry-After": retry_after})
        return _message(outcome.status, outcome.message)

    def _parse(self, route: Route, raw: bytes, data: Any) -> tuple[Any, Any]:
        """The body validated with the route's request model, and as Billecta JSON."""
        model = route.request_model
        if model is None:
            return None, None
        if not raw.strip():
            raise SandboxError(400, f"The request body is required ({model.__name__}).")
        if data is _NOT_JSON:
            raise SandboxError(400, "The request body is not valid JSON.")
        if route.request_is_list:
            if not isinstance(data, list):
                raise SandboxError(400, "The request is invalid: the body must be a JSON array.")
            models = [self._validate(model, item, f"[{i}].") for i, item in enumerate(data)]
            return models, [_wire(m) for m in models]
        parsed = self._validate(model, data, "")
        return parsed, _wire(parsed)

    @staticmethod
    def _validate(model: type[BaseModel], data: Any, prefix: str) -> BaseModel:
        if not isinstance(data, dict):
            raise SandboxError(400, "The request is invalid: the body must be a JSON object.")
        normalize_enums(data, prefix)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise SandboxError(400, validation_message(exc, prefix)) from None

    def _render(self, route: Route, result: Any) -> Response:
        if route.returns_bytes:
            return Response(content=bytes(result), media_type="application/pdf")
        if result is None:
            return Response(status_code=200)
        if self.config.validate_responses and route.response_model is not None:
            self._check_response(route, result)
        return Response(
            content=json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode(),
            media_type="application/json; charset=utf-8",
        )

    def _check_response(self, route: Route, result: Any) -> None:
        adapter = self._response_adapters.get(route.name)
        if adapter is None:
            model: Any = route.response_model
            adapter = TypeAdapter(list[model] if route.response_is_list else model)
            self._response_adapters[route.name] = adapter
        try:
            adapter.validate_python(result)
        except ValidationError as exc:
            raise SandboxError(
                500, f"The sandbox built an invalid {route.name} answer: {validation_message(exc)}"
            ) from None


def _wire(model: BaseModel) -> dict[str, Any]:
    """A validated body as Billecta JSON (by alias, nulls omitted)."""
    wire: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return wire


_NOT_JSON = object()


def _decode(raw: bytes) -> Any:
    """The JSON of a body (None when empty, ``_NOT_JSON`` when it is not JSON)."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _NOT_JSON


_OWN_PATHS = ("/_sandbox", "/docs", "/redoc", "/openapi.json")


class SandboxApp(FastAPI):
    """FastAPI for the control endpoints and docs; every other path is served as Billecta
    before FastAPI's middleware and routing, so a benchmark's thousands of requests cost the
    sandbox little CPU."""

    sandbox: Sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(_OWN_PATHS):
            try:
                response = await self.sandbox.handle(Request(scope, receive))
            except Exception:
                logger.exception("the sandbox failed on %s %s", scope["method"], scope["path"])
                response = _message(500, "An error has occurred in the sandbox.")
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_sandbox_app(
    config: SandboxConfig, *, webhook_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The sandbox as an ASGI app; ``app.state.sandbox`` is its :class:`Sandbox`.

    ``webhook_transport`` lets tests deliver webhooks in-process (e.g. an ``ASGITransport``
    into the gateway); without it they go over the network to the configured URL.
    """
    from billecta_gateway.sandbox.control import router as control_router

    sandbox = Sandbox(config, webhook_transport=webhook_transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await sandbox.aclose()

    app = SandboxApp(
        title="Billecta sandbox",
        description="A stateful, in-memory simulator of the Billecta API v1 routes the "
        "gateway calls, with control endpoints under /_sandbox.",
        lifespan=lifespan,
    )
    app.sandbox = sandbox
    app.state.sandbox = sandbox

    @app.exception_handler(SandboxError)
    async def sandbox_error(request: Request, exc: SandboxError) -> Response:
        return _message(exc.status, exc.message)

    app.include_router(control_router)
    return app
