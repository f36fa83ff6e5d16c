"""Benchmark: a 10,000-debtor bulk upsert against the sandbox vs. its ceiling (DESIGN §7).

Creates a scratch database, migrates it, and seeds one creditor with 10,000 debtors (each a
company debtor with one creditordebtor relation, none yet in Billecta) in bulk. The Billecta
sandbox runs in its own process (uvicorn, 25 ms latency on every route) and the gateway worker
(`create_worker`, concurrency 20 = BILLECTA_MAX_CONCURRENCY, JSON logs at INFO to a file) in
another. The task is started through the HTTP API (`POST .../task/upsert-debtors-in-billecta`
with an `_id IN [...]` query filter, the app served in this process over ASGI); the wall time
runs from that request until the batch is closed. Each new debtor costs two Billecta requests
(lookup by external id, then create); the ceiling counts the requests the sandbox actually
received: requests x latency / concurrency. The worker's RSS and peak RSS (VmHWM) are sampled
at start, after half the batch and at the end; CPU shares of the worker, the sandbox,
PostgreSQL and the machine, and what the worker's database connections are doing (sampled from
pg_stat_activity), say what limits the batch. The scratch database and the Redis database are
emptied at the end. About 3 minutes on 2 cores.

    python benchmarks/bulk_sync.py [--debtors 10000] [--database-url URL]
                                   [--redis-url redis://127.0.0.1:6379/12]
    diagnostics (not the budget's configuration): [--interactive-reserved N]
                                   [--poll-delay SECONDS] [--py-spy PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import admin_execute, background_load, child_env, free_port, plain_dsn

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/billecta_gateway_bench_bulk_sync"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
BILLECTA_AUTH = "SecureToken YmVuY2gtYnVsay1zeW5j"
LIME_KEY = "bench-lime-key-51ad"
CREDITOR_ID = 1
CREDITOR_PUBLIC_ID = "b7c1e0d2-0000-4000-8000-00000000b001"
TASK = "/limepkg-billecta-integration/task/upsert-debtors-in-billecta"
LATENCY_MS = 25.0
CONCURRENCY = 20
TIME_LIMIT_S = 600.0


# The worker's connections by what they are doing (sampled while the batch runs).
BACKENDS = """
SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),
       count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock'),
       count(*) FILTER (WHERE state = 'idle in transaction')
FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()
"""


def gateway_settings(spec: dict[str, Any]) -> Any:
    from billecta_gateway.config import Settings

    return Settings(_env_file=None, **spec)


# The child processes


def serve_sandbox(spec: dict[str, Any]) -> None:
    """The Billecta sandbox with one creditor and a fixed latency, served by uvicorn."""
    from billecta_gateway.sandbox.config import SandboxConfig, SeedCreditor
    from billecta_gateway.sandbox.server import sandbox_server

    config = SandboxConfig(
        authentication=BILLECTA_AUTH,
        creditors=[SeedCreditor(public_id=CREDITOR_PUBLIC_ID, name="Bench Fastigheter AB")],
        latency_ms=spec["latency_ms"],
        request_log_limit=spec["request_log_limit"],
    )
    sandbox_server("127.0.0.1", spec["port"], config).run()


def run_worker(spec: dict[str, Any]) -> None:
    """What `billecta-gateway worker` does (`run_worker`), with these settings; a poll delay
    given for a diagnostic run is passed to `create_worker` as an override."""
    from billecta_gateway import worker

    poll_delay = spec.pop("_poll_delay", None)
    if poll_delay is None:
        worker.run_worker(gateway_settings(spec))
        return
    from billecta_gateway.logs import configure_logging

    settings = gateway_settings(spec)
    configure_logging(
        level=settings.log_level, fmt=settings.log_format, secrets=settings.secret_values()
    )
    worker.create_worker(settings, poll_delay=poll_delay).run()


# Seeding


async def seed(dsn: str, debtors: int) -> None:
    """One creditor (linked to the sandbox's), and per debtor a company and a relation."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO creditor (id, name, orgno, creditorpublicid) VALUES ($1, $2, $3, $4)",
            CREDITOR_ID,
            "Bench Fastigheter AB",
            "556677-8899",
            CREDITOR_PUBLIC_ID,
        )
        base = 1_000_000
        await conn.copy_records_to_table(
            "company",
            records=[
                (base + d, f"Kund {d:05d} AB", f"559{d:03d}-{d % 10_000:04d}", "Storgatan 1",
                 "111 22", "Stockholm", "SE")
                for d in range(1, debtors + 1)
            ],
            columns=["id", "name", "orgno", "address", "zipcode", "city", "countrycode"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "debtor",
            records=[
                (d, f"Kund {d:05d} AB", "company", f"faktura{d}@kund{d}.example", base + d)
                for d in range(1, debtors + 1)
            ],
            columns=["id", "name", "debtortype", "email", "company"],
        )
        await conn.copy_records_to_table(
            "creditordebtor",
            records=[(2 * base + d, CREDITOR_ID, d) for d in range(1, debtors + 1)],
            columns=["id", "creditor", "debtor"],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# Measuring


class Memory:
    """RSS and peak RSS (VmHWM) of a process, in MB."""

    def __init__(self, pid: int) -> None:
        self.status = Path(f"/proc/{pid}/status")

    def sample(self) -> dict[str, float]:
        values = {}
        for line in self.status.read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
        return {"rss": values["VmRSS"], "peak": values["VmHWM"]}


class Cpu:
    """CPU seconds of named processes and of the system PostgreSQL (with its reaped backends)."""

    def __init__(self, pids: dict[str, int]) -> None:
        import psutil

        self._psutil = psutil
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.before = self._sample()
        self.machine = psutil.cpu_times()

    def _sample(self) -> dict[str, float]:
        found = {name: sum(p.cpu_times()[:2]) for name, p in self.procs.items()}
        pg = 0.0
        for p in self._psutil.process_iter(["name", "username", "cpu_times"]):
            times = p.info["cpu_times"]
            if p.info["name"] == "postgres" and p.info["username"] == "postgres" and times:
                pg += times.user + times.system + times.children_user + times.children_system
        found["postgres (whole server)"] = pg
        return found

    def used(self) -> dict[str, float]:
        after = self._sample()
        used = {name: after[name] - self.before[name] for name in after}
        now = self._psutil.cpu_times()
        total = sum(now) - sum(self.machine)
        idle = (now.idle + now.iowait) - (self.machine.idle + self.machine.iowait)
        used["machine busy share"] = (total - idle) / max(total, 1e-9)
        return used


async def wait_for(check: Any, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"{what} did not start within {seconds:g} s")


def spawn(role: str, spec: dict[str, Any], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, __file__, "--role", role, "--spec", json.dumps(spec)],
            stdout=sink, stderr=subprocess.STDOUT, env=child_env(), cwd=str(log.parent),
        )  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--debtors", type=int, default=10_000, help="10,000 for the budget; fewer for trials"
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument(
        "--interactive-reserved",
        type=int,
        default=None,
        help="diagnostic: BILLECTA_INTERACTIVE_RESERVED for the worker (default: the product's)",
    )
    parser.add_argument(
        "--poll-delay",
        type=float,
        default=None,
        help="diagnostic: arq poll_delay for the worker (default: create_worker's)",
    )
    parser.add_argument("--py-spy", help="path of a py-spy binary: profile the worker's batch")
    args = parser.parse_args()

    import asyncpg
    import httpx
    from redis.asyncio import Redis
    from sqlalchemy.engine import make_url

    from billecta_gateway.billecta import Priority
    from billecta_gateway.cli import migrate
    from billecta_gateway.config import Settings
    from billecta_gateway.main import build_billecta_client, create_app
    from billecta_gateway.worker import POLL_DELAY_SECONDS

    url: str = args.database_url
    name = make_url(url).database
    dsn = plain_dsn(url)
    sandbox_port = free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    settings: dict[str, Any] = {
        "environment": "production",
        "database_url": url,
        "redis_url": args.redis_url,
        "billecta_base_url": sandbox_url,
        "billecta_authentication": BILLECTA_AUTH,
        "billecta_max_concurrency": CONCURRENCY,
        "lime_api_keys": LIME_KEY,
        "webhook_api_key": "bench-webhook-key",
        "log_format": "json",
        "log_level": "INFO",
    }
    if args.interactive_reserved is not None:
        settings["billecta_interactive_reserved"] = args.interactive_reserved
    effective = Settings(_env_file=None, **settings)
    # The slots the worker's own client gives bulk calls (it reserves none for interactive ones).
    worker_client = build_billecta_client(effective, priority=Priority.BULK)
    bulk_slots = worker_client.limiter.bulk_limit
    await worker_client.aclose()
    params = {
        "debtors": args.debtors,
        "creditors": "1 (one creditordebtor relation per debtor, none in Billecta yet)",
        "sandbox": f"own process (uvicorn), latency {LATENCY_MS:g} ms on every route",
        "worker": f"own process, create_worker, max_jobs {effective.billecta_max_concurrency}, "
        f"BILLECTA_MAX_CONCURRENCY {CONCURRENCY}, BILLECTA_INTERACTIVE_RESERVED "
        f"{effective.billecta_interactive_reserved} (the API's; the worker's client has "
        f"{bulk_slots} bulk calls in flight at most), "
        f"DB pool {effective.database_pool_size} + {effective.database_pool_size} overflow, "
        "JSON logs at INFO to a file, arq poll_delay "
        + (
            f"{POLL_DELAY_SECONDS:g} s (create_worker's)"
            if args.poll_delay is None
            else f"{args.poll_delay:g} s"
        ),
        "task": f"POST {TASK} with query_filter _id IN [all debtors], app in this process (ASGI)",
        "ceiling": f"Billecta requests made x {LATENCY_MS:g} ms / {CONCURRENCY}",
        "database": name,
        "redis": args.redis_url,
    }
    redis = Redis.from_url(args.redis_url)
    await redis.flushdb()
    await admin_execute(
        url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    logdir = Path(tempfile.mkdtemp(prefix="bench-bulk-sync-"))
    sandbox: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    try:
        await asyncio.to_thread(migrate, url)
        seeded = time.perf_counter()
        await seed(dsn, args.debtors)
        params["seeding"] = f"{time.perf_counter() - seeded:.1f} s (COPY)"
        params["other load before start"] = f"{await background_load() * 100:.0f} % of the machine"
        print("fixed parameters:")
        for key, value in params.items():
            print(f"  {key} = {value}")
        print(f"  machine = {os.cpu_count()} cpus, python {platform.python_version()}")

        sandbox = spawn(
            "sandbox",
            {"port": sandbox_port, "latency_ms": LATENCY_MS, "request_log_limit": 1_000},
            logdir / "sandbox.log",
        )
        control = httpx.AsyncClient(base_url=sandbox_url, timeout=10)

        async def sandbox_up() -> bool:
            try:
                return (await control.get("/_sandbox/requests/summary")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_for(sandbox_up, "the sandbox")
        worker_spec = {**settings, "_poll_delay": args.poll_delay}
        worker = spawn("worker", worker_spec, logdir / "worker.log")
        worker_log = logdir / "worker.log"

        async def worker_up() -> bool:
            if worker is not None and worker.poll() is not None:
                text = await asyncio.to_thread(worker_log.read_text)
                raise SystemExit(f"the worker exited:\n{text[-3000:]}")
            return "worker started" in await asyncio.to_thread(worker_log.read_text)

        await wait_for(worker_up, "the worker")
        await asyncio.sleep(1.0)
        await control.post("/_sandbox/reset")
        memory = Memory(worker.pid)
        rss = {"start": memory.sample()}

        app = create_app(effective, configure_logs=False)
        ids = list(range(1, args.debtors + 1))
        conn = await asyncpg.connect(dsn)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as api:
                cpu = Cpu({"worker": worker.pid, "sandbox": sandbox.pid})
                if args.py_spy:
                    profile = Path.cwd() / "bulk_sync.worker.pyspy.txt"
                    await asyncio.create_subprocess_exec(
                        args.py_spy, "record", "--pid", str(worker.pid), "--rate", "250",
                        "--format", "raw", "--output", str(profile), "--nonblocking",
                        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                    )  # fmt: skip
                    print(f"(py-spy is sampling the worker into {profile} until it stops)")
                started = time.perf_counter()
                response = await api.post(
                    TASK,
                    headers={"x-api-key": LIME_KEY},
                    json={
                        "integration_monitor_batch_title": "bench bulk sync",
                        "query_filter": {"key": "_id", "op": "IN", "exp": ids},
                    },
                    timeout=60,
                )
                answered = time.perf_counter() - started
                response.raise_for_status()
                batch_id = response.json()["integration_monitor_batch_id"]
                half_at: float | None = None
                status = "running"
                finished = 0
                backends: list[tuple[int, int, int]] = []
                while status == "running":
                    if time.perf_counter() - started > TIME_LIMIT_S:
                        raise SystemExit(f"the batch did not finish in {TIME_LIMIT_S:g} s")
                    await asyncio.sleep(0.1)
                    row = await conn.fetchrow(
                        "SELECT status, done, failed FROM integration_monitor_batch WHERE id = $1",
                        batch_id,
                    )
                    status, finished = row["status"], row["done"] + row["failed"]
                    backends.append(tuple(await conn.fetchrow(BACKENDS, name)))
                    if half_at is None and finished >= args.debtors / 2:
                        half_at = time.perf_counter() - started
                        rss["half"] = memory.sample()
                wall = time.perf_counter() - started
                rss["end"] = memory.sample()
                used = cpu.used()
        summary = (await control.get("/_sandbox/requests/summary")).json()
        await control.aclose()
        batch = await conn.fetchrow(
            "SELECT status, total, done, failed, starttime, endtime"
            " FROM integration_monitor_batch WHERE id = $1",
            batch_id,
        )
        synced = await conn.fetchval(
            "SELECT count(*) FROM creditordebtor WHERE debtorpublicid IS NOT NULL"
        )
        await conn.close()

        requests = int(summary["total"])
        ceiling = requests * LATENCY_MS / 1000 / CONCURRENCY
        print("\nresults:")
        print(f"task request answered in {answered * 1000:.0f} ms (batch {batch_id})")
        print(
            f"batch {batch['status']}: total {batch['total']:,}, done {batch['done']:,}, "
            f"failed {batch['failed']:,}; relations with a debtorpublicid: {synced:,}"
        )
        print(
            f"wall time until the batch closed   {wall:8.1f} s  "
            f"({args.debtors / wall:,.0f} debtors/s; half done after {half_at or 0:.1f} s)"
        )
        print(
            f"Billecta requests made             {requests:8,}  by route {summary['by_route']}, "
            f"by status {summary['by_status']}"
        )
        slots = (
            ""
            if bulk_slots == CONCURRENCY
            else f"  (with the {bulk_slots} bulk slots the worker really has: "
            f"{requests * LATENCY_MS / 1000 / bulk_slots:.1f} s)"
        )
        print(f"ceiling {requests:,} x {LATENCY_MS:g} ms / {CONCURRENCY} = {ceiling:8.1f} s{slots}")
        busy = used.pop("machine busy share")
        shares = ", ".join(f"{k} {v / wall * 100:.0f} %" for k, v in used.items())
        print(f"cpu over the batch (share of one core): {shares}; machine {busy * 100:.0f} % busy")
        print(
            f"worker CPU per debtor: {used['worker'] / args.debtors * 1000:.2f} ms "
            f"({used['worker']:.1f} s in all: the worker, one process on one core, cannot finish "
            f"the batch sooner)"
        )
        if backends:
            n = len(backends)
            locked, active, idle_tx = (sum(b[i] for b in backends) / n for i in range(3))
            print(
                f"worker DB connections, mean of {len(backends)} samples: {locked:.1f} waiting "
                f"on a lock, {active:.1f} running a statement, {idle_tx:.1f} idle in transaction"
            )
        print(f"sandbox CPU per request: {used['sandbox'] / max(requests, 1) * 1000:.2f} ms")
        print("worker memory (MB):")
        for point, sample in rss.items():
            print(f"  {point:<6} rss {sample['rss']:7.1f}   peak rss {sample['peak']:7.1f}")
        growth = rss["end"]["peak"] - rss["start"]["peak"]
        late = rss["end"]["peak"] - rss.get("half", rss["start"])["peak"]
        print(f"  peak rss growth start -> end: {growth:+.1f} MB (second half: {late:+.1f} MB)")
        ratio = wall / ceiling
        print(
            f"\nratio: wall/ceiling {ratio:.2f} ({wall:.1f} s / {ceiling:.1f} s; budget <= 1.25: "
            f"{'met' if ratio <= 1.25 else 'MISSED'}); worker peak rss {growth:+.1f} MB over "
            f"the batch, {late:+.1f} MB over its second half"
        )
    finally:
        for proc in (worker, sandbox):
            if proc is not None:
                await asyncio.to_thread(stop, proc)
        await redis.flushdb()
        await redis.aclose()
        await admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await asyncio.to_thread(shutil.rmtree, logdir, True)


if __name__ == "__main__":
    if "--role" in sys.argv:
        role = argparse.ArgumentParser()
        role.add_argument("--role", choices=["sandbox", "worker"])
        role.add_argument("--spec", required=True)
        child = role.parse_args()
        spec = json.loads(child.spec)
        if child.role == "sandbox":
            serve_sandbox(spec)
        else:
            run_worker(spec)
    else:
        asyncio.run(main())
