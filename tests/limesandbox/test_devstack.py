"""The dev stack's Lime sandbox: port 8091, the demo data."""

from __future__ import annotations

import httpx
import pytest

from billecta_gateway.devstack import lime_sandbox_server
from billecta_gateway.limesandbox.config import DEFAULT_API_KEY


async def test_the_dev_stack_serves_the_lime_sandbox_with_demo_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LIME_SANDBOX_API_KEY", raising=False)
    server = lime_sandbox_server()
    assert server.config.port == 8091
    app = server.config.app
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://lime.test",
        headers={"x-api-key": DEFAULT_API_KEY},
    ) as client:
        page = (await client.get("/sandbox/api/v1/limeobject/debtor/")).json()
    assert [o["name"] for o in page["_embedded"]["limeobjects"]] == [
        "Anna Andersson",
        "Bo Berg",
        "Cederträ AB",
    ]
