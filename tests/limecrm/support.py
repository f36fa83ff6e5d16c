"""The Lime sandbox served over real HTTP in the test session's loop, for client tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from billecta_gateway.limecrm.client import LimeClient
from billecta_gateway.limesandbox import LimeSandbox, LimeSandboxConfig, create_lime_sandbox_app

API_KEY = "lime-sandbox-test-key"
APPLICATION = "Lime CRM"  # a space, as in Lime's own example: the URL carries %20


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


@dataclass
class LimeSandboxServer:
    """A running Lime sandbox: its base URL (as LIME_BASE_URL), its state and a control client."""

    url: str
    base_url: str
    sandbox: LimeSandbox
    control: httpx.AsyncClient
    defaults: dict[str, Any]

    def client(self, **kwargs: Any) -> LimeClient:
        return LimeClient(base_url=self.base_url, api_key=API_KEY, **kwargs)

    async def settings(self, **values: Any) -> None:
        response = await self.control.put("/_lime-sandbox/settings", json=values)
        assert response.status_code == 200, response.text

    async def seed(self, objects: dict[str, list[dict[str, Any]]], **extra: Any) -> list[int]:
        response = await self.control.post(
            "/_lime-sandbox/seed", json={"objects": objects, **extra}
        )
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["created"]]

    async def requests(self, **params: Any) -> dict[str, Any]:
        response = await self.control.get("/_lime-sandbox/requests", params=params)
        return dict(response.json())

    async def fault(self, **rule: Any) -> None:
        response = await self.control.post("/_lime-sandbox/faults", json=rule)
        assert response.status_code == 200, response.text


@contextlib.asynccontextmanager
async def serve_lime_sandbox(
    config: LimeSandboxConfig, *, webhook_transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[LimeSandboxServer]:
    """Serve a Lime sandbox on a free port until the block ends (its webhook deliveries go
    through `webhook_transport` when given, e.g. to a gateway app in the test)."""
    app = create_lime_sandbox_app(config, webhook_transport=webhook_transport)
    sock = listening_socket()
    server = _Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with httpx.AsyncClient(base_url=url) as control:
        try:
            yield LimeSandboxServer(
                url=url,
                base_url=f"{url}/Lime%20CRM",
                sandbox=app.state.lime_sandbox,
                control=control,
                defaults=config.model_dump(mode="json"),
            )
        finally:
            server.should_exit = True
            await task
