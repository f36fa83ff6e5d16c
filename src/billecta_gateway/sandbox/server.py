"""Serving the sandbox over HTTP (uvicorn)."""

from __future__ import annotations

import uvicorn

from billecta_gateway.sandbox.app import create_sandbox_app
from billecta_gateway.sandbox.config import SandboxConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090


def sandbox_server(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, config: SandboxConfig | None = None
) -> uvicorn.Server:
    """A uvicorn server for the sandbox, to ``await server.serve()`` inside a running loop
    (``server.should_exit = True`` stops it)."""
    app = create_sandbox_app(config or SandboxConfig())
    settings = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="on"
    )
    return uvicorn.Server(settings)


def run_sandbox(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, config: SandboxConfig | None = None
) -> None:
    """Serve the sandbox until interrupted (``billecta-gateway sandbox``)."""
    sandbox_server(host, port, config).run()
