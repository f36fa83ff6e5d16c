"""Serving the Lime sandbox over HTTP (uvicorn)."""

from __future__ import annotations

import uvicorn

from billecta_gateway.limesandbox.app import create_lime_sandbox_app
from billecta_gateway.limesandbox.config import LimeSandboxConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8091


def lime_sandbox_server(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, config: LimeSandboxConfig | None = None
) -> uvicorn.Server:
    """A uvicorn server for the Lime sandbox, to ``await server.serve()`` in a running loop."""
    app = create_lime_sandbox_app(config or LimeSandboxConfig())
    return uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    )


def run_lime_sandbox(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, config: LimeSandboxConfig | None = None
) -> None:
    """Serve the Lime sandbox until interrupted (``billecta-gateway lime-sandbox``)."""
    lime_sandbox_server(host, port, config).run()
