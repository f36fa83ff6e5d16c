"""The Lime sandbox in-process, delivering its webhooks to a small in-process receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from billecta_gateway.limesandbox import LimeSandbox, LimeSandboxConfig, create_lime_sandbox_app

KEY = "sandbox-key"
API = "/sandbox/api/v1/"
HOOK_URL = "http://receiver.test/lime-webhook"
SECRET = "whsec-test"


@dataclass
class Receiver:
    """What reached the webhook receiver; events in ``fail_events`` are answered 503."""

    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    fail_events: set[str] = field(default_factory=set)
    failed: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/lime-webhook")
        async def receive(request: Request) -> JSONResponse:
            raw = await request.body()
            if json.loads(raw)["event"] in self.fail_events:
                self.failed += 1
                return JSONResponse({"error": "down"}, status_code=503)
            self.bodies.append(raw)
            self.headers.append(dict(request.headers))
            return JSONResponse({"ok": True})

        return app

    def events(self) -> list[str]:
        return [json.loads(b)["event"] for b in self.bodies]


@dataclass
class World:
    api: httpx.AsyncClient
    control: httpx.AsyncClient
    sandbox: LimeSandbox
    receiver: Receiver


@pytest.fixture
def make_world() -> Callable[..., Any]:
    clients: list[httpx.AsyncClient] = []

    def build(**config: Any) -> World:
        receiver = Receiver()
        app = create_lime_sandbox_app(
            LimeSandboxConfig(api_key=KEY, **config),
            webhook_transport=httpx.ASGITransport(app=receiver.app()),
        )
        transport = httpx.ASGITransport(app=app)
        api = httpx.AsyncClient(
            transport=transport, base_url="http://lime.test", headers={"x-api-key": KEY}
        )
        control = httpx.AsyncClient(transport=transport, base_url="http://lime.test")
        clients.extend([api, control])
        return World(api, control, app.state.lime_sandbox, receiver)

    return build


@pytest.fixture
async def world(make_world: Callable[..., World]) -> AsyncIterator[World]:
    w = make_world(time_scale=0.001, delivery_attempts=2)
    yield w
    await w.sandbox.webhooks.aclose()
