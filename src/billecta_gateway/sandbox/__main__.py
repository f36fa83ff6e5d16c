"""`python -m billecta_gateway.sandbox [--host H] [--port P] [--creditor ID ...]`.

Settings not given on the command line come from `SANDBOX_*` environment variables
(see `SandboxConfig.from_env`).
"""

from __future__ import annotations

import argparse
import logging

from billecta_gateway.sandbox.config import SandboxConfig, SeedCreditor
from billecta_gateway.sandbox.server import DEFAULT_HOST, DEFAULT_PORT, run_sandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m billecta_gateway.sandbox")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--creditor", action="append", default=[], help="seed a creditor with this public id"
    )
    parser.add_argument("--webhook-url", help="where webhooks are delivered")
    parser.add_argument("--latency-ms", type=float, help="latency added to every request")
    args = parser.parse_args(argv)
    config = SandboxConfig.from_env()
    updates: dict[str, object] = {}
    if args.creditor:
        updates["creditors"] = [SeedCreditor(public_id=c) for c in args.creditor]
    if args.webhook_url:
        updates["webhook_url"] = args.webhook_url
    if args.latency_ms is not None:
        updates["latency_ms"] = args.latency_ms
    config = SandboxConfig.model_validate(config.model_dump() | updates)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_sandbox(args.host, args.port, config)


if __name__ == "__main__":
    main()
