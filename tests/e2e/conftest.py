"""The whole stack over real TCP in the test session's event loop.

One `stack` for the package: the gateway app (`create_app`) served by uvicorn on a free port
against a database of its own (`billecta_gateway_e2e`, migrated to head) and Redis database 13;
the Billecta sandbox served by uvicorn on another free port, delivering its webhooks to the
gateway's receiver with the gateway's webhook key; and a real arq worker (not in burst mode,
with its crons) running as a task. Tests talk to both over HTTP only.

Each test gets a `world` (function scope): the stack is quiet (no webhook delivery in flight,
the inbox drained, no job queued), the sandbox reset, every gateway table emptied (identities
keep counting, so deterministic arq job ids never repeat), and a fresh sandbox creditor.

`TEST_E2E_DATABASE_URL` / `TEST_E2E_REDIS_URL` override the database and Redis; by default they
are derived from `TEST_DATABASE_URL` / `TEST_REDIS_URL`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from alembic import command
from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from billecta_gateway.main import create_app
from billecta_gateway.middleware import PREFIX
from billecta_gateway.sandbox import SandboxConfig, SeedCreditor, create_sandbox_app
from billecta_gateway.worker import create_worker
from tests.conftest import (
    LIME_KEY,
    TEST_DATABASE_URL,
    TEST_REDIS_URL,
    WEBHOOK_KEY,
    _recreate_database,
    alembic_config,
    make_settings,
)
from tests.e2e.support import SEED_CREDITOR_PUBLIC_ID, Stack, World

E2E_DATABASE = "billecta_gateway_e2e"
E2E_REDIS_DB = 13
SANDBOX_AUTH = "SecureToken ZTJlLXNhbmRib3gtdG9rZW4tNDI="


def _redis_with_db(url: str, db: int) -> str:
    """The same Redis, database `db` (TCP URLs carry it in the path, sockets in `?db=`)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query)) | {"db": str(db)}
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(path=f"/{db}"))


E2E_DATABASE_URL = os.environ.get("TEST_E2E_DATABASE_URL") or make_url(TEST_DATABASE_URL).set(
    database=E2E_DATABASE
).render_as_string(hide_password=False)
E2E_REDIS_URL = os.environ.get("TEST_E2E_REDIS_URL") or _redis_with_db(TEST_REDIS_URL, E2E_REDIS_DB)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end over HTTP against gateway + worker + sandbox (real services)"
    )


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to pytest."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listening_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1 and listening (no race for the port).

    Created with proto IPPROTO_TCP so asyncio sets TCP_NODELAY on the accepted connections
    (it checks `sock.proto`); without it every answer waits ~40 ms for a delayed ACK."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def _serve(app: Any, sock: socket.socket) -> tuple[_Server, asyncio.Task[None]]:
    server = _Server(
        uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", timeout_keep_alive=30)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            return server, task
        if task.done():
            task.result()
            raise RuntimeError("the server stopped while starting")
        await asyncio.sleep(0.025)
    raise RuntimeError("the server did not start within 5 s")


@pytest.fixture(scope="package")
async def stack() -> AsyncIterator[Stack]:
    """Gateway + worker + sandbox, started once for the end-to-end tests, stopped after them
    (in the session's event loop)."""
    await _recreate_database(E2E_DATABASE_URL)
    await asyncio.to_thread(command.upgrade, alembic_config(E2E_DATABASE_URL), "head")

    gateway_sock, sandbox_sock = _listening_socket(), _listening_socket()
    gateway_url = f"http://127.0.0.1:{gateway_sock.getsockname()[1]}"
    sandbox_url = f"http://127.0.0.1:{sandbox_sock.getsockname()[1]}"
    settings = make_settings(
        database_url=E2E_DATABASE_URL,
        redis_url=E2E_REDIS_URL,
        billecta_base_url=sandbox_url,
        billecta_authentication=SANDBOX_AUTH,
        billecta_max_retries=2,
        # One queue: the one worker below (which `quiesce` watches) runs the long jobs too.
        arq_long_queue_name=make_settings().arq_queue_name,
    )
    sandbox_config = SandboxConfig(
        authentication=SANDBOX_AUTH,
        creditors=[SeedCreditor(public_id=SEED_CREDITOR_PUBLIC_ID, name="Seeded Fastigheter AB")],
        seed=None,  # random ids: nothing a test creates can meet an id of an earlier test
        webhook_url=f"{gateway_url}{PREFIX}/billecta-webhook-receiver",
        webhook_header_name=settings.webhook_header_name,
        webhook_header_value=WEBHOOK_KEY,
        webhook_retry_schedule=(0.2, 0.5, 1.0, 2.0),
    )

    redis = ArqRedis.from_url(E2E_REDIS_URL)
    await redis.flushdb()  # nothing left over from an interrupted run
    engine = create_async_engine(E2E_DATABASE_URL, pool_size=2, max_overflow=2)

    servers: list[tuple[_Server, asyncio.Task[None]]] = []
    worker = create_worker(settings, handle_signals=False, poll_delay=0.05)
    worker_task: asyncio.Task[Any] | None = None
    gateway = httpx.AsyncClient(
        base_url=f"{gateway_url}{PREFIX}", headers={"x-api-key": LIME_KEY}, timeout=30
    )
    sandbox = httpx.AsyncClient(base_url=sandbox_url, timeout=60)
    try:
        servers.append(await _serve(create_sandbox_app(sandbox_config), sandbox_sock))
        servers.append(await _serve(create_app(settings, configure_logs=False), gateway_sock))
        worker_task = asyncio.create_task(worker.main())
        ready = await gateway.get(f"{gateway_url}/readyz")
        assert ready.status_code == 200, ready.text
        yield Stack(
            settings=settings,
            gateway=gateway,
            sandbox=sandbox,
            gateway_url=gateway_url,
            sandbox_url=sandbox_url,
            sandbox_auth=SANDBOX_AUTH,
            redis=redis,
            engine=engine,
            worker=worker,
            worker_task=worker_task,
        )
    finally:
        await gateway.aclose()
        await sandbox.aclose()
        for server, _ in servers:
            server.should_exit = True
        for _, task in servers:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, timeout=10)
        if worker_task is not None:
            worker_task.cancel()
            with contextlib.suppress(BaseException):
                await worker_task
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # arq closes its pool the old way
            await worker.close()
        await redis.flushdb()
        await redis.aclose()
        await engine.dispose()
        for sock in (gateway_sock, sandbox_sock):
            sock.close()


async def _truncate_gateway_tables(stack: Stack) -> None:
    """Empty every table but Alembic's; identities keep counting (arq job ids stay unique)."""
    async with stack.engine.begin() as conn:
        names = (
            await conn.scalars(
                text(
                    "SELECT quote_ident(tablename) FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
        ).all()
        await conn.execute(text(f"TRUNCATE {', '.join(names)} CASCADE"))


async def _fresh_world(stack: Stack, *, push: bool) -> AsyncIterator[World]:
    assert not stack.worker_task.done(), "the worker stopped"
    await stack.quiesce(strict=False)
    reset = await stack.sandbox.post("/_sandbox/reset")
    assert reset.status_code == 200, reset.text
    await _truncate_gateway_tables(stack)
    yield await World.start(stack, push=push)
    assert not stack.worker_task.done(), "the worker stopped during the test"


@pytest.fixture
async def world(stack: Stack) -> AsyncIterator[World]:
    """A quiet stack, an empty sandbox and mirror, a fresh creditor in the sandbox, and the
    Lime objects an order needs (creditor, debtor, article and their relations) pushed."""
    async for fresh in _fresh_world(stack, push=True):
        yield fresh


@pytest.fixture
async def unpushed_world(stack: Stack) -> AsyncIterator[World]:
    """As `world`, but nothing pushed to the gateway yet (the ids are chosen)."""
    async for fresh in _fresh_world(stack, push=False):
        yield fresh
