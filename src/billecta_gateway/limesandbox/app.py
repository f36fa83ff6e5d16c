"""The Lime sandbox app: the documented REST surface of one Lime application, from memory.

``/<application>/api/v1/...`` serves limeobjects, the Query, Limetype, File and Subscription
APIs behind ``x-api-key``; every request is logged (for counting), may be slowed or failed by a
fault rule, and is answered 429 above the configured rate. Control endpoints live under
``/_lime-sandbox`` (``control.py``).
"""

from __future__ import annotations

import asyncio
import bisect
import json
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limesandbox.config import LimeSandboxConfig
from billecta_gateway.limesandbox.demo import DEMO_OBJECTS
from billecta_gateway.limesandbox.listing import list_objects, run_query
from billecta_gateway.limesandbox.schema import build_limetypes
from billecta_gateway.limesandbox.store import LimeSandboxError, ObjectStore, Renderer
from billecta_gateway.limesandbox.webhooks import LIFECYCLE, Webhooks

_DISPOSITION = re.compile(r"^;filename\*=\"UTF-8''([^\"]+)\"$")
_ID = r"(\d+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), name)
    for m, p, name in [
        ("GET", r"", "root"),
        ("GET", r"limeobject/(\w+)/", "list"),
        ("POST", r"limeobject/(\w+)/", "create"),
        ("GET", rf"limeobject/(\w+)/{_ID}/", "get"),
        ("PUT", rf"limeobject/(\w+)/{_ID}/", "update"),
        ("DELETE", rf"limeobject/(\w+)/{_ID}/", "delete"),
        ("GET", rf"limeobject/(\w+)/{_ID}/(\w+)/", "related"),
        ("GET", r"query/", "query"),
        ("GET", r"limetype/", "limetypes"),
        ("GET", r"limetype/(\w+)/", "limetype"),
        ("POST", r"file/", "upload"),
        ("GET", rf"file/{_ID}/", "file"),
        ("GET", rf"file/{_ID}/contents/", "contents"),
        ("GET", r"subscription/", "subscriptions"),
        ("POST", r"subscription/", "subscribe"),
        ("GET", r"subscription/available/", "available"),
        ("GET", rf"subscription/{_ID}/?", "subscription"),
        ("PUT", rf"subscription/{_ID}/?", "resubscribe"),
        ("DELETE", rf"subscription/{_ID}/?", "unsubscribe"),
    ]
]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


class LimeSandbox:
    """State, webhooks, faults and request log of one Lime sandbox."""

    def __init__(
        self,
        config: LimeSandboxConfig,
        *,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.limetypes = build_limetypes(LimeSchema.load(config.schema_file))
        events = [f"{lt}.{ev}" for lt in self.limetypes for ev in LIFECYCLE]
        self.webhooks = Webhooks(config, events, transport=webhook_transport)
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Back to the configured start (the demo data if configured), no faults, no logs."""
        self.store = ObjectStore(self.config, self.limetypes, lambda: datetime.now(UTC))
        self.webhooks.reset()
        self.faults: list[dict[str, Any]] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=self.config.request_log_limit)
        self.arrivals: list[float] = []
        self._accepted: deque[float] = deque()
        self._seq = 0
        if self.config.demo_data:
            self.seed_demo()

    def seed_demo(self) -> list[dict[str, Any]]:
        """Create the demo objects that do not exist yet (without webhooks)."""
        created = []
        for limetype, object_id, values in DEMO_OBJECTS:
            if object_id not in self.store.objects[limetype]:
                self.store.create(limetype, values, object_id=object_id, notify=False)
                created.append({"limetype": limetype, "id": object_id})
        return created

    def settings(self, values: dict[str, Any]) -> LimeSandboxConfig:
        """Change settings in place (the schema file and demo data apply at the next reset)."""
        self.config = LimeSandboxConfig.model_validate(self.config.model_dump() | values)
        self.store.config = self.config
        self.webhooks.config = self.config
        return self.config

    def max_per_second(self) -> int:
        """The most API requests that arrived within any one second."""
        times, best = self.arrivals, 0
        for i, start in enumerate(times):
            best = max(best, bisect.bisect_left(times, start + 1.0, lo=i) - i)
        return best

    def api_base(self, request: Request) -> str:
        return (
            f"{request.url.scheme}://{request.url.netloc}/{quote(self.config.application)}/api/v1/"
        )

    async def handle(self, request: Request, application: str, rest: str) -> Response:
        now = self.clock()
        self._seq += 1
        self.arrivals.append(now)
        raw = await request.body()
        entry: dict[str, Any] = {
            "seq": self._seq,
            "t": now,
            "method": request.method,
            "path": rest,
            "query": request.url.query,
            "user_agent": request.headers.get("user-agent"),
            "content_type": request.headers.get("content-type"),
            "content_disposition": request.headers.get("content-disposition"),
            "body": _loggable(raw),
            "status": None,
        }
        self.requests.append(entry)
        response = await self._answer(request, application, rest, raw, now)
        entry["status"] = response.status_code
        return response

    async def _answer(
        self, request: Request, application: str, rest: str, raw: bytes, now: float
    ) -> Response:
        if unquote(application) != self.config.application:
            return _error(404, f"no application {unquote(application)!r}")
        key = request.headers.get("x-api-key")
        if key != self.config.api_key:
            return _error(401, "a valid x-api-key is required")
        limit = self.config.rate_limit
        while self._accepted and self._accepted[0] <= now - 1.0:
            self._accepted.popleft()
        if limit is not None and len(self._accepted) >= limit:
            return _error(429, "rate limit exceeded", {"Retry-After": "1"})
        self._accepted.append(now)
        fault = self._fault(request.method, rest)
        if fault is not None:
            if fault.get("delay_ms"):
                await asyncio.sleep(float(fault["delay_ms"]) / 1000)
            if fault.get("status"):
                headers = (
                    {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else None
                )
                return _error(int(fault["status"]), "injected fault", headers)
        for method, pattern, name in _ROUTES:
            match = pattern.fullmatch(rest)
            if match and method == request.method:
                try:
                    return await self._route(name, match.groups(), request, raw)
                except LimeSandboxError as exc:
                    return _error(exc.status, exc.message)
        return _error(404, f"nothing at {request.method} /api/v1/{rest}")

    def _fault(self, method: str, rest: str) -> dict[str, Any] | None:
        for rule in self.faults:
            if rule["count"] <= 0:
                continue
            if rule.get("method") and rule["method"].upper() != method:
                continue
            if rule.get("path_contains") and rule["path_contains"] not in rest:
                continue
            rule["count"] -= 1
            return rule
        return None

    async def _route(
        self, name: str, args: tuple[str, ...], request: Request, raw: bytes
    ) -> Response:
        store = self.store
        renderer = Renderer(store, self.api_base(request))
        params = list(request.query_params.multi_items())
        if name == "root":
            return JSONResponse({"_links": {"limetype": {"href": f"{renderer.api}limetype/"}}})
        if name == "list":
            spec = store.limetype(args[0])
            href = f"{renderer.api}limeobject/{spec.name}/"
            return JSONResponse(list_objects(spec, store.live(spec.name), params, renderer, href))
        if name == "related":
            obj = store.get(args[0], int(args[1]))
            prop = store.limetype(args[0]).properties.get(args[2])
            if prop is None or prop.type not in ("hasmany", "belongsto"):
                raise LimeSandboxError(404, f"{args[0]} has no relation {args[2]!r}")
            target = store.limetype(prop.related or "")
            if prop.type == "hasmany":
                related = store.related(obj, prop)
            else:
                one = store.objects[target.name].get(obj.values.get(prop.name) or 0)
                related = [one] if one and not one.deleted else []
            href = f"{renderer.api}limeobject/{args[0]}/{obj.id}/{args[2]}/"
            return JSONResponse(list_objects(target, related, params, renderer, href))
        if name == "get":
            embed = [v for k, v in params if k == "_embed"]
            return JSONResponse(renderer.obj(store.get(args[0], int(args[1])), embed))
        if name == "create":
            obj = store.create(args[0], _json(raw))
            self._publish(renderer)
            return JSONResponse(renderer.obj(obj), status_code=201)
        if name == "update":
            obj = store.update(args[0], int(args[1]), _json(raw))
            self._publish(renderer)
            return JSONResponse(renderer.obj(obj))
        if name == "delete":
            store.delete(args[0], int(args[1]))
            self._publish(renderer)
            return Response(status_code=204)
        if name == "query":
            return JSONResponse(run_query(request.query_params.get("q"), renderer))
        if name == "limetypes":
            return JSONResponse(
                {
                    "_embedded": {
                        "limetypes": [lt.describe(renderer.api) for lt in self.limetypes.values()]
                    }
                }
            )
        if name == "limetype":
            return JSONResponse(store.limetype(args[0]).describe(renderer.api))
        if name in ("upload", "file", "contents"):
            return self._files(name, args, request, raw, renderer)
        return self._subscriptions(name, args, params, raw)

    def _publish(self, renderer: Renderer) -> None:
        self.webhooks.publish(self.store.drain(), renderer)

    def _files(
        self, name: str, args: tuple[str, ...], request: Request, raw: bytes, renderer: Renderer
    ) -> Response:
        if name == "upload":
            match = _DISPOSITION.match(request.headers.get("content-disposition", ""))
            if match is None:
                raise LimeSandboxError(
                    400, "Content-Disposition must be ;filename*=\"UTF-8''<percent-encoded name>\""
                )
            stored = self.store.add_file(
                unquote(match.group(1)),
                request.headers.get("content-type", "application/octet-stream"),
                raw,
            )
            return JSONResponse(self._file_meta(stored.id, renderer), status_code=201)
        if name == "file":
            return JSONResponse(self._file_meta(int(args[0]), renderer))
        stored = self.store.file(int(args[0]))
        return Response(
            stored.content,
            media_type=stored.content_type,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(stored.filename)}"
            },
        )

    def _file_meta(self, file_id: int, renderer: Renderer) -> dict[str, Any]:
        stored = self.store.file(file_id)
        href = f"{renderer.api}file/{stored.id}/"
        return {
            "id": stored.id,
            "filename": stored.filename,
            "size": len(stored.content),
            "content_type": stored.content_type,
            "extension": stored.filename.rsplit(".", 1)[-1] if "." in stored.filename else "",
            "created_by": 1,
            "locked_by": None,
            "last_modified": stored.created.isoformat(),
            "_links": {"self": {"href": href}, "contents": {"href": f"{href}contents/"}},
        }

    def _subscriptions(
        self, name: str, args: tuple[str, ...], params: list[tuple[str, str]], raw: bytes
    ) -> Response:
        addon = self.config.webhooks_addon
        if addon == "missing":
            raise LimeSandboxError(404, "the Webhooks add-on is not installed")
        if addon == "forbidden":
            raise LimeSandboxError(403, "the API user is not in the group Webhook Users")
        hooks = self.webhooks
        if name == "subscriptions":
            return JSONResponse(hooks.listing(dict(params)))
        if name == "available":
            return JSONResponse({"events": hooks.known_events})
        if name == "subscribe":
            return JSONResponse(hooks.create(_json(raw)).public(), status_code=201)
        sub_id = int(args[0])
        if name == "subscription":
            return JSONResponse(hooks.get(sub_id).public())
        if name == "resubscribe":
            return JSONResponse(hooks.update(sub_id, _json(raw)).public())
        hooks.get(sub_id)
        del hooks.subscriptions[sub_id]
        return Response(status_code=204)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise LimeSandboxError(400, "the body is not valid JSON") from None


def _loggable(raw: bytes) -> Any:
    if not raw or len(raw) > 20_000:
        return None if not raw else f"<{len(raw)} bytes>"
    try:
        return json.loads(raw)
    except ValueError:
        return f"<{len(raw)} bytes>"


def create_lime_sandbox_app(
    config: LimeSandboxConfig | None = None,
    *,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The sandbox as an ASGI app (``app.state.lime_sandbox`` is its ``LimeSandbox``)."""
    from billecta_gateway.limesandbox.control import control_router

    sandbox = LimeSandbox(config or LimeSandboxConfig(), webhook_transport=webhook_transport)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await sandbox.webhooks.aclose()

    app = FastAPI(title="Lime CRM sandbox", lifespan=lifespan, openapi_url=None, docs_url=None)
    app.state.lime_sandbox = sandbox
    app.include_router(control_router(sandbox))

    @app.api_route(
        "/{application}/api/v1/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"]
    )
    async def lime_api(request: Request, application: str, rest: str) -> Response:
        return await sandbox.handle(request, application, rest)

    return app
