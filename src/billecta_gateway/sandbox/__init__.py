"""A stateful, in-memory Billecta simulator for the local stack, end-to-end tests and benchmarks.

    app = create_sandbox_app(SandboxConfig(creditors=[SeedCreditor(public_id="...")]))
    run_sandbox("127.0.0.1", 8090, config)          # blocking, as `billecta-gateway sandbox`
    server = sandbox_server("127.0.0.1", 8090, config); await server.serve()  # in a loop

It serves every route of `billecta.routes.ROUTES`; control endpoints live under `/_sandbox`.
"""

from billecta_gateway.sandbox.app import Sandbox, create_sandbox_app
from billecta_gateway.sandbox.config import SandboxConfig, SeedCreditor
from billecta_gateway.sandbox.faults import FaultSpec
from billecta_gateway.sandbox.server import run_sandbox, sandbox_server

__all__ = [
    "FaultSpec",
    "Sandbox",
    "SandboxConfig",
    "SeedCreditor",
    "create_sandbox_app",
    "run_sandbox",
    "sandbox_server",
]
