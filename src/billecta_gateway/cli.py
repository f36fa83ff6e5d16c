"""`billecta-gateway` command line: api, worker, migrate, openapi, routes, check-billecta,
rebind-billecta, sandbox, dev, lime, lime-sandbox."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from billecta_gateway.billecta.errors import InvalidBillectaApiConfig
from billecta_gateway.billecta.routes import ROUTES, RouteTable
from billecta_gateway.config import BillectaToolSettings, ConfigurationError, Settings

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


_NO_SCHEMA_CHECK = "start without checking Lime's schema against the gateway's (connector on)"


def cmd_api(args: argparse.Namespace) -> None:
    import uvicorn

    from billecta_gateway.main import create_app

    _skip_schema_check(args)
    settings = _settings()  # a configuration error stops start-up here, once
    # On SIGTERM uvicorn stops accepting and lets open requests finish for this long.
    shutdown = settings.api_shutdown_timeout
    from billecta_gateway.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

    if args.workers > 1 or os.environ.get(MULTIPROC_ENV):
        # The processes' metrics meet in one folder, emptied first (a scrape sums them).
        prepare_multiprocess_dir(multiprocess_dir())
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
            timeout_graceful_shutdown=shutdown,
        )
        return
    app = create_app(settings)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=shutdown,
    )


def multiprocess_dir() -> Path:
    """PROMETHEUS_MULTIPROC_DIR when set, else a new temporary folder."""
    import tempfile

    from billecta_gateway.metrics import MULTIPROC_ENV

    given = os.environ.get(MULTIPROC_ENV)
    return Path(given) if given else Path(tempfile.mkdtemp(prefix="billecta-gateway-metrics-"))


def cmd_worker(args: argparse.Namespace) -> None:
    if args.check:
        import asyncio

        from billecta_gateway.worker import check_worker_health

        status = asyncio.run(check_worker_health(_settings()))
        print("worker healthy" if status == 0 else "worker unhealthy: no recent health record")
        raise SystemExit(status)
    from billecta_gateway.worker import run_worker

    _skip_schema_check(args)
    run_worker(_settings(), burst=args.burst, queue=args.queue)


def _skip_schema_check(args: argparse.Namespace) -> None:
    """`--no-schema-check`: through the environment, so every uvicorn worker process sees it."""
    if getattr(args, "no_schema_check", False):
        os.environ["LIME_SCHEMA_CHECK"] = "false"


def migrate(database_url: str, revision: str = "head") -> None:
    """Apply Alembic migrations to `database_url`."""
    from alembic import command
    from alembic.config import Config

    from billecta_gateway.schema_version import migrations_dir

    directory = migrations_dir()
    if directory is None:
        raise SystemExit("billecta-gateway: cannot find the migrations folder")
    cfg = Config()
    cfg.set_main_option("script_location", str(directory))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, revision)


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


def render_routes_table(table: RouteTable = ROUTES) -> str:
    """The Markdown table of every Billecta route with its confidence (overrides marked)."""
    overrides = bool(table.overridden)
    head = "| route | method | path | confidence |" + (" override |" if overrides else "")
    lines = [head, "| --- | --- | --- | --- |" + (" --- |" if overrides else "")]
    for name, route in sorted(table.items(), key=lambda item: (item[1].path, item[0])):
        shown = overrides and route.query_params
        query = "?" + "&".join(f"{q}=" for q in route.query_params) if shown else ""
        row = f"| `{name}` | {route.method} | `{route.path}{query}` | {route.confidence} |"
        if overrides:
            row += " overridden |" if name in table.overridden else " |"
        lines.append(row)
    return "\n".join(lines)


def readme_with_routes(readme: str) -> str:
    """`readme` with the routes section replaced by the built-in table."""
    head, _, rest = readme.partition(ROUTES_START)
    _, _, tail = rest.partition(ROUTES_END)
    return f"{head}{ROUTES_START}\n{render_routes_table()}\n{ROUTES_END}{tail}"


def _tool_settings() -> BillectaToolSettings:
    try:
        settings = BillectaToolSettings()
        _ = settings.billecta_routes
    except InvalidBillectaApiConfig as exc:
        print(f"billecta-gateway: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    return settings


def cmd_routes(args: argparse.Namespace) -> None:
    if not args.readme:
        # The effective table: what the client, the API and the worker call.
        print(render_routes_table(_tool_settings().billecta_routes))
        return
    path = Path(args.readme)
    path.write_text(readme_with_routes(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated the route table in {path}")


# Probes are spaced like the client's requests; without BILLECTA_RATE_LIMIT, this many a second.
CHECK_DEFAULT_RATE = 5.0


def cmd_check_billecta(args: argparse.Namespace) -> None:
    import asyncio

    from billecta_gateway.billecta.check import check_billecta, refuse_production, render_report
    from billecta_gateway.billecta.client import BillectaClient

    settings = _tool_settings()
    base_url = args.base_url or settings.billecta_base_url or ""
    auth = settings.billecta_authentication
    try:
        refuse_production(base_url, allow_production=args.allow_production)
        client = BillectaClient(
            base_url=base_url,
            authentication=auth.get_secret_value() if auth else "",
            timeout_seconds=settings.billecta_timeout_seconds,
            max_concurrency=1,
            interactive_reserved=0,
            rate_limit=settings.billecta_rate_limit or CHECK_DEFAULT_RATE,
            max_retries=settings.billecta_max_retries,
            routes=settings.billecta_routes,
        )
    except InvalidBillectaApiConfig as exc:
        print(f"billecta-gateway: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc

    async def run() -> Any:
        async with client:
            return await check_billecta(client)

    report = asyncio.run(run())
    print(render_report(report), end="")
    if args.json:
        Path(args.json).write_text(
            json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    if not report.ok:
        raise SystemExit(1)


def cmd_rebind_billecta(args: argparse.Namespace) -> None:
    import asyncio

    from billecta_gateway.binding.service import rebind_database

    message, bound = asyncio.run(rebind_database(_settings(), confirmed=args.yes))
    print(message)
    if not bound:
        raise SystemExit(1)


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


def cmd_lime_check(args: argparse.Namespace) -> None:
    import asyncio

    from billecta_gateway.limecrm.check import check_lime

    raise SystemExit(asyncio.run(check_lime(_settings(), limetypes=args.limetype or None)))


def cmd_lime_subscribe(args: argparse.Namespace) -> None:
    import asyncio

    from billecta_gateway.limecrm.commands import subscribe_command

    raise SystemExit(asyncio.run(subscribe_command(_settings())))


def cmd_lime_status(args: argparse.Namespace) -> None:
    import asyncio

    from billecta_gateway.limecrm.commands import status_command

    raise SystemExit(asyncio.run(status_command(_settings())))


def cmd_lime_sandbox(args: argparse.Namespace) -> None:
    from billecta_gateway.limesandbox.config import LimeSandboxConfig
    from billecta_gateway.limesandbox.server import run_lime_sandbox

    config = LimeSandboxConfig.from_env()
    updates = {
        name: value
        for name, value in (
            ("demo_data", args.demo or None),
            ("next_form", args.next_form),
            ("option_encoding", args.option_encoding),
            ("rate_limit", args.rate_limit),
        )
        if value is not None
    }
    run_lime_sandbox(args.host, args.port, config.model_copy(update=updates))


def add_lime_commands(sub: Any) -> None:
    """`lime <command>` (the Lime connector) and `lime-sandbox`."""
    lime = sub.add_parser("lime", help="the Lime connector (LIME_BASE_URL, LIME_API_KEY)")
    lime_sub = lime.add_subparsers(dest="lime_command", required=True)
    check = lime_sub.add_parser(
        "check",
        help="read-only probe of the configured Lime: key, schemas, one object per limetype, "
        "paging, the Subscription API; exits 1 on a mismatch with what the client expects",
    )
    check.add_argument(
        "--limetype", action="append", default=[], help="check only this limetype (repeatable)"
    )
    check.set_defaults(func=cmd_lime_check)
    lime_sub.add_parser(
        "subscribe",
        help="create or update the gateway's two webhook subscriptions in Lime "
        "(PUBLIC_BASE_URL, LIME_WEBHOOK_SECRET)",
    ).set_defaults(func=cmd_lime_subscribe)
    lime_sub.add_parser(
        "status",
        help="the subscriptions, the last event received, the poll lag per limetype and the "
        "Lime inbox by status",
    ).set_defaults(func=cmd_lime_status)

    sandbox = sub.add_parser(
        "lime-sandbox", help="serve the stateful Lime CRM sandbox (LIME_SANDBOX_* env)"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8091)
    sandbox.add_argument("--demo", action="store_true", help="start with the demo data")
    sandbox.add_argument("--next-form", choices=["offset", "offset_id", "page"])
    sandbox.add_argument("--option-encoding", choices=["object", "key", "id"])
    sandbox.add_argument("--rate-limit", type=float, help="answer 429 above this many requests/s")
    sandbox.set_defaults(func=cmd_lime_sandbox)


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
    api.add_argument("--no-schema-check", action="store_true", help=_NO_SCHEMA_CHECK)
    api.set_defaults(func=cmd_api)

    worker = sub.add_parser("worker", help="run the arq worker with its crons")
    mode = worker.add_mutually_exclusive_group()
    mode.add_argument("--burst", action="store_true", help="drain the queue, then exit")
    mode.add_argument(
        "--check",
        action="store_true",
        help="health check for Docker and Kubernetes probes: exit 0 if a worker on the queue "
        "refreshed arq's health key recently, else 1",
    )
    worker.add_argument(
        "--queue",
        choices=("all", "object", "long"),
        default="all",
        help="serve both queues (default), only per-object jobs, or only long jobs",
    )
    worker.add_argument("--no-schema-check", action="store_true", help=_NO_SCHEMA_CHECK)
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

    routes = sub.add_parser(
        "routes",
        help="print the effective Billecta route table, overrides marked (or update README.md "
        "with the built-in one)",
    )
    routes.add_argument("--readme", help="update the table between the markers in this file")
    routes.set_defaults(func=cmd_routes)
    _add_billecta_commands(sub)
    add_lime_commands(sub)
    return parser


def _add_billecta_commands(sub: Any) -> None:
    check = sub.add_parser(
        "check-billecta",
        help="probe every route of the effective table at Billecta with requests that cannot "
        "change anything; exit 1 when a route is missing or the credentials are refused",
    )
    check.add_argument("--base-url", help="Billecta to check (default: BILLECTA_BASE_URL)")
    check.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    check.add_argument(
        "--allow-production",
        action="store_true",
        help="allow app.billecta.com / api.billecta.com (refused otherwise)",
    )
    check.set_defaults(func=cmd_check_billecta)

    rebind = sub.add_parser(
        "rebind-billecta",
        help="bind the database to BILLECTA_BASE_URL after it was used with another Billecta",
    )
    rebind.add_argument(
        "--yes", action="store_true", help="really rebind (without it: only show what would change)"
    )
    rebind.set_defaults(func=cmd_rebind_billecta)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
