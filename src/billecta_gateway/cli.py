"""`billecta-gateway` command line: api, worker, migrate, openapi, routes, sandbox, dev."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from billecta_gateway.billecta.errors import InvalidBillectaApiConfig
from billecta_gateway.config import ConfigurationError, Settings

DEFAULT_OPENAPI_PATH = Path("openapi/openapi.json")


def _settings() -> Settings:
    try:
        return Settings()
    except (InvalidBillectaApiConfig, ConfigurationError) as exc:
        print(f"billecta-gateway: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app, independent of the local environment."""
    from billecta_gateway.main import create_app

    settings = Settings(
        _env_file=None,
        billecta_base_url="https://api.billecta.com",
        billecta_authentication="SecureToken placeholder",
        lime_api_keys="placeholder",
        webhook_api_key="placeholder",
    )
    return create_app(settings, configure_logs=False).openapi()


def render_openapi() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def cmd_api(args: argparse.Namespace) -> None:
    import uvicorn

    from billecta_gateway.main import create_app

    settings = _settings()  # a configuration error stops start-up here, once
    if args.workers > 1:
        # Each worker process builds its app from the same environment.
        uvicorn.run(
            "billecta_gateway.main:create_app",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_config=None,
            proxy_headers=True,
        )
        return
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, proxy_headers=True)


def cmd_worker(args: argparse.Namespace) -> None:
    from billecta_gateway.worker import run_worker

    run_worker(_settings(), burst=args.burst, queue=args.queue)


def migrate(database_url: str, revision: str = "head") -> None:
    """Apply Alembic migrations to `database_url`."""
    from alembic import command
    from alembic.config import Config

    root = Path(__file__).resolve().parent
    cfg = Config()
    cfg.set_main_option("script_location", str(_migrations_dir(root)))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, revision)


def _migrations_dir(package_root: Path) -> Path:
    for candidate in (package_root.parent.parent / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise SystemExit("billecta-gateway: cannot find the migrations folder")


def cmd_migrate(args: argparse.Namespace) -> None:
    from billecta_gateway.config import DatabaseSettings

    migrate(DatabaseSettings().database_url, args.revision)
    print(f"database migrated to {args.revision}")


def cmd_openapi(args: argparse.Namespace) -> None:
    text = render_openapi()
    path = Path(args.output)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run `billecta-gateway openapi`", file=sys.stderr)
            raise SystemExit(1)
        print(f"{path} is up to date")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


ROUTES_START, ROUTES_END = "<!-- routes:start -->", "<!-- routes:end -->"


def render_routes_table() -> str:
    """The Markdown table of every Billecta route with its confidence."""
    from billecta_gateway.billecta.routes import ROUTES

    lines = ["| route | method | path | confidence |", "| --- | --- | --- | --- |"]
    lines += [
        f"| `{name}` | {route.method} | `{route.path}` | {route.confidence} |"
        for name, route in sorted(ROUTES.items(), key=lambda item: (item[1].path, item[0]))
    ]
    return "\n".join(lines)


def readme_with_routes(readme: str) -> str:
    """`readme` with the routes section replaced by the current table."""
    head, _, rest = readme.partition(ROUTES_START)
    _, _, tail = rest.partition(ROUTES_END)
    return f"{head}{ROUTES_START}\n{render_routes_table()}\n{ROUTES_END}{tail}"


def cmd_routes(args: argparse.Namespace) -> None:
    if not args.readme:
        print(render_routes_table())
        return
    path = Path(args.readme)
    path.write_text(readme_with_routes(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated the route table in {path}")


def cmd_sandbox(args: argparse.Namespace) -> None:
    from billecta_gateway.sandbox.config import SandboxConfig
    from billecta_gateway.sandbox.server import run_sandbox

    run_sandbox(args.host, args.port, SandboxConfig.from_env())


def cmd_dev(args: argparse.Namespace) -> None:
    import asyncio

    from billecta_gateway.devstack import run_stack

    asyncio.run(
        run_stack(
            host=args.host,
            port=args.port,
            sandbox_port=args.sandbox_port,
            data_dir=Path(args.data_dir).resolve(),
            seed=not args.no_seed,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="billecta-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    api = sub.add_parser("api", help="serve the HTTP API (uvicorn)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes sharing the port (the webhook receiver is CPU-bound: one per core)",
    )
    api.set_defaults(func=cmd_api)

    worker = sub.add_parser("worker", help="run the arq worker with its crons")
    worker.add_argument("--burst", action="store_true", help="drain the queue, then exit")
    worker.add_argument(
        "--queue",
        choices=("all", "object", "long"),
        default="all",
        help="serve both queues (default), only per-object jobs, or only long jobs",
    )
    worker.set_defaults(func=cmd_worker)

    mig = sub.add_parser("migrate", help="apply database migrations (DATABASE_URL)")
    mig.add_argument("--revision", default="head")
    mig.set_defaults(func=cmd_migrate)

    oas = sub.add_parser("openapi", help="write the OpenAPI document")
    oas.add_argument("--output", default=str(DEFAULT_OPENAPI_PATH))
    oas.add_argument("--check", action="store_true", help="fail if the file is out of date")
    oas.set_defaults(func=cmd_openapi)

    sandbox = sub.add_parser("sandbox", help="serve the stateful Billecta sandbox (SANDBOX_* env)")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8090)
    sandbox.set_defaults(func=cmd_sandbox)

    dev = sub.add_parser(
        "dev",
        help="the whole local stack in one process: embedded PostgreSQL and Redis when no URL "
        "is set, migrations, API, worker with crons, Billecta sandbox, demo data",
    )
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--sandbox-port", type=int, default=8090)
    dev.add_argument("--data-dir", default=".data", help="where embedded services keep data")
    dev.add_argument("--no-seed", action="store_true", help="do not create the demo data")
    dev.set_defaults(func=cmd_dev)

    routes = sub.add_parser("routes", help="print the Billecta route table (or update README.md)")
    routes.add_argument("--readme", help="update the table between the markers in this file")
    routes.set_defaults(func=cmd_routes)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
