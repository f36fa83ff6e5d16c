"""Benchmark: webhook intake vs. a bare asyncpg insert-and-commit loop (DESIGN §7).

Creates a scratch database, migrates it, and serves the gateway API with uvicorn in a subprocess
(one worker process, the production `billecta-gateway api` settings: JSON logs at INFO, a real
PostgreSQL and Redis; no arq worker runs, so the queue just fills). A load generator in its own
process posts distinct deliveries (the package's webhook fixtures in Billecta's body, each with
a unique AdditionalData marker: the body has no event id, so only its bytes tell deliveries
apart) with the webhook key over a fixed number of keep-alive connections for a fixed duration;
the receiver's INSERT ... ON CONFLICT, commit and enqueue to Redis are all part of what is
measured. In the same run, the same load-generator process measures the reference: a bare
asyncpg single-row insert-and-commit loop, keyed by the body's SHA-256 (BEGIN; INSERT ... ON
CONFLICT DO NOTHING RETURNING id; COMMIT) with the same number of connections and duration into
a copy of the `webhook_event` table (`LIKE ... INCLUDING ALL`, same indexes). Then two open-loop
runs (arrivals at fixed intervals, latency counted from each request's scheduled time, so a
stalled server cannot hide queueing; requests still unanswered after a grace period count as
infinitely slow): at half the gateway's own closed-loop rate (context, not a budget), and at
half the bare rate, whose p99 is the budget's. CPU shares of the API process, the load
generator, PostgreSQL and the machine are printed per run (others may be using the machine: the
busy share before the start is printed too). The scratch database (and the Redis database) are
emptied at the end. About 90 s.

    python benchmarks/webhook_intake.py [--connections 16] [--duration 15] [--database-url URL]
                                        [--redis-url redis://127.0.0.1:6379/12]
                                        [--py-spy PATH]  (samples the API during the closed loop)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchkit import ROOT, admin_execute, background_load, child_env, free_port, plain_dsn

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/billecta_gateway_bench_webhook_intake"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
RECEIVER = "/limepkg-billecta-integration/billecta-webhook-receiver"
WEBHOOK_KEY = "bench-webhook-key-3c9e"
BARE_TABLE = "bench_bare_event"
PLACEHOLDER = "@@EVENT-ID@@"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
WARMUP_SECONDS = 3.0
OPEN_CONNECTIONS = 64
OPEN_GRACE_SECONDS = 10.0
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


# Shared by every process


def templates() -> list[dict[str, Any]]:
    """One body template per fixture: the delivery with its AdditionalData replaced by a
    placeholder."""
    from billecta_gateway.webhooks.fixtures import list_fixtures, load_fixture

    found = []
    for event_type, variant in list_fixtures():
        body = load_fixture(event_type, variant=variant)
        body["AdditionalData"] = PLACEHOLDER
        head, tail = json.dumps(body).split(PLACEHOLDER)
        found.append(
            {
                "head": head.encode(),
                "tail": tail.encode(),
                "event_type": body["Event"],
                "creditor": body.get("CreditorPublicId"),
                "created": body["EventDate"],
            }
        )
    return found


def percentiles(values: list[float], unfinished: int = 0) -> dict[str, float]:
    """p50/p90/p99/max of latencies in ms; unfinished requests count as infinitely slow."""
    ordered = sorted(values) + [math.inf] * unfinished
    if not ordered:
        return {}

    def at(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": ordered[-1]}


# The API process


def serve_api(settings_json: str, port: int, workers: int) -> None:
    """What `billecta-gateway api --workers N` does, with these settings in the environment."""
    from billecta_gateway.cli import main as cli

    for name, value in json.loads(settings_json).items():
        os.environ[name.upper()] = str(value)
    cli(["api", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)])


# The load-generator process


class Connection:
    """A minimal HTTP/1.1 keep-alive client connection (cheaper than httpx: the load generator
    shares two cores with the server and PostgreSQL)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        self.writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        found = _CONTENT_LENGTH.search(header)
        length = int(found.group(1)) if found else 0
        return int(header[9:12]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


class Deliveries:
    """Distinct webhook bodies: the fixtures in turn, each with a unique AdditionalData."""

    def __init__(self, prefix: str) -> None:
        self.templates = templates()
        self.prefix = prefix
        self.n = 0

    def next(self) -> tuple[dict[str, Any], str]:
        template = self.templates[self.n % len(self.templates)]
        self.n += 1
        return template, f"{self.prefix}-{self.n:09d}"

    def body(self) -> bytes:
        template, event_id = self.next()
        body: bytes = template["head"] + event_id.encode() + template["tail"]
        return body


now = time.perf_counter  # uvloop's loop.time() only ticks in whole milliseconds


def started() -> None:
    """Tell the orchestrator the measured window starts now (it samples CPU counters)."""
    print("START", flush=True)


def _request_head(port: int) -> bytes:
    return (
        f"POST {RECEIVER} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nx-api-key: {WEBHOOK_KEY}\r\nContent-Length: "
    ).encode()


def _answer(status: int, body: bytes, outcome: dict[str, int]) -> bool:
    kind = f"{status} accepted" if b'"accepted"' in body else str(status)
    outcome[kind] = outcome.get(kind, 0) + 1
    return status == 200 and b'"accepted"' in body


async def closed_http(port: int, connections: int, duration: float, prefix: str) -> dict[str, Any]:
    """`connections` loops posting back to back: warm-up, then `duration` measured seconds."""
    head = _request_head(port)
    conns = [await Connection.open(port) for _ in range(connections)]
    deliveries = Deliveries(f"{prefix}-warm")
    until = now() + WARMUP_SECONDS

    async def warm(conn: Connection) -> None:
        while now() < until:
            await conn.post(head, deliveries.body())

    await asyncio.gather(*(warm(c) for c in conns))
    deliveries = Deliveries(prefix)
    latencies: list[float] = []
    outcome: dict[str, int] = {}
    in_window = 0
    started()
    cpu0 = time.process_time()
    start = now()
    deadline = start + duration

    async def run(conn: Connection) -> None:
        nonlocal in_window
        while (sent := now()) < deadline:
            status, body = await conn.post(head, deliveries.body())
            done = now()
            if _answer(status, body, outcome) and done <= deadline:
                in_window += 1
                latencies.append((done - sent) * 1000)

    await asyncio.gather(*(run(c) for c in conns))
    cpu = time.process_time() - cpu0
    for conn in conns:
        conn.close()
    return {
        "sent": deliveries.n,
        "accepted_in_window": in_window,
        "rate": in_window / duration,
        "outcome": outcome,
        "latency_ms": percentiles(latencies),
        "loadgen_cpu_s": cpu,
    }


async def open_http(port: int, rate: float, duration: float, prefix: str) -> dict[str, Any]:
    """Arrivals every 1/rate s for `duration` s over up to OPEN_CONNECTIONS connections; each
    latency runs from the request's scheduled time to its answer."""
    head = _request_head(port)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(OPEN_CONNECTIONS):
        idle.put_nowait(await Connection.open(port))
    # A short warm-up (back-to-back posts on 16 connections), not measured.
    deliveries = Deliveries(f"{prefix}-warm")
    until = now() + 2.0

    async def warm() -> None:
        conn = await idle.get()
        while now() < until:
            await conn.post(head, deliveries.body())
        idle.put_nowait(conn)

    await asyncio.gather(*(warm() for _ in range(16)))
    deliveries = Deliveries(prefix)
    latencies: list[float] = []
    outcome: dict[str, int] = {}

    async def one(scheduled: float) -> None:
        conn = await idle.get()
        try:
            status, body = await conn.post(head, deliveries.body())
        finally:
            idle.put_nowait(conn)
        if _answer(status, body, outcome):
            latencies.append((now() - scheduled) * 1000)

    total = int(rate * duration)
    tasks: list[asyncio.Task[None]] = []
    started()
    cpu0 = time.process_time()
    start = now() + 0.05
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - now()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    dispatch_lag = now() - (start + (total - 1) / rate)
    _, pending = await asyncio.wait(tasks, timeout=OPEN_GRACE_SECONDS)
    for task in pending:
        task.cancel()
    cpu = time.process_time() - cpu0
    while not idle.empty():
        idle.get_nowait().close()
    return {
        "scheduled": total,
        "accepted": len(latencies),
        "unfinished": len(pending),
        "outcome": outcome,
        "latency_ms": percentiles(latencies, unfinished=total - len(latencies)),
        "dispatch_lag_ms": dispatch_lag * 1000,
        "loadgen_cpu_s": cpu,
    }


async def closed_bare(dsn: str, connections: int, duration: float, prefix: str) -> dict[str, Any]:
    """The reference: BEGIN; INSERT ... ON CONFLICT DO NOTHING RETURNING id; COMMIT per row."""
    import asyncpg

    insert = (
        f"INSERT INTO {BARE_TABLE} (dedupe_key, event_id, event_type, creditorpublicid, created,"
        " payload, status, enqueued_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'received', now())"
        " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
    )
    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    # EventDate carries no offset: Billecta's clock, Stockholm.
    created = {
        t["created"]: datetime.fromisoformat(t["created"]).replace(tzinfo=STOCKHOLM)
        for t in templates()
    }

    async def row(conn: asyncpg.Connection, deliveries: Deliveries) -> None:
        template, event_id = deliveries.next()
        raw = template["head"] + event_id.encode() + template["tail"]
        body = raw.decode()
        async with conn.transaction():
            # The body is its own dedupe key (Billecta sends no event id).
            await conn.fetchval(
                insert,
                "sha256:" + hashlib.sha256(raw).hexdigest(),
                None,
                template["event_type"],
                template["creditor"],
                created[template["created"]],
                body,
            )

    warm = Deliveries(f"{prefix}-warm")
    until = now() + WARMUP_SECONDS

    async def warm_up(conn: asyncpg.Connection) -> None:
        while now() < until:
            await row(conn, warm)

    await asyncio.gather(*(warm_up(c) for c in conns))
    deliveries = Deliveries(prefix)
    latencies: list[float] = []
    started()
    cpu0 = time.process_time()
    deadline = now() + duration

    async def run(conn: asyncpg.Connection) -> None:
        while (sent := now()) < deadline:
            await row(conn, deliveries)
            done = now()
            if done <= deadline:
                latencies.append((done - sent) * 1000)

    await asyncio.gather(*(run(c) for c in conns))
    cpu = time.process_time() - cpu0
    for conn in conns:
        await conn.close()
    return {
        "sent": deliveries.n,
        "committed_in_window": len(latencies),
        "rate": len(latencies) / duration,
        "latency_ms": percentiles(latencies),
        "loadgen_cpu_s": cpu,
    }


def run_load(spec_json: str) -> None:
    import uvloop

    spec = json.loads(spec_json)
    phase = spec.pop("phase")
    work: Any = {"bare": closed_bare, "closed": closed_http, "open": open_http}[phase]
    result = uvloop.run(work(**spec))
    print(json.dumps(result))


# The orchestrating process


class Usage:
    """CPU used by chosen processes, PostgreSQL and the whole machine between two samples, as a
    share of one core (the machine figure: of all cores)."""

    def __init__(self, pids: dict[str, int]) -> None:
        import psutil

        self._psutil = psutil
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.before = {name: self._cpu(p) for name, p in self.procs.items()}
        self.pg_before = self._postgres()
        self.machine_before = psutil.cpu_times()
        self.wall_before = time.perf_counter()

    @staticmethod
    def _cpu(process: Any) -> float:
        """CPU seconds of a process and its children (the API's worker processes)."""
        family = [process, *process.children(recursive=True)]
        return sum(sum(p.cpu_times()[:2]) for p in family)

    def _postgres(self) -> dict[int, float]:
        """CPU seconds of the system PostgreSQL's processes, with their reaped children's (so
        a backend that exits within the window still counts, through the postmaster)."""
        found = {}
        for p in self._psutil.process_iter(["name", "username", "cpu_times"]):
            times = p.info["cpu_times"]
            if p.info["name"] == "postgres" and p.info["username"] == "postgres" and times:
                found[p.pid] = times.user + times.system + times.children_user
                found[p.pid] += times.children_system
        return found

    def done(self, others: dict[str, float] | None = None) -> dict[str, float]:
        """Shares of a core by name (`others`: CPU seconds measured elsewhere), and the
        machine's busy share; plus the window's wall seconds under `seconds`."""
        wall = time.perf_counter() - self.wall_before
        after = self._psutil.cpu_times()
        before = self.machine_before
        idle = (after.idle + after.iowait) - (before.idle + before.iowait)
        total = sum(after) - sum(before)
        busy = total - idle
        used = {name: self._cpu(p) - self.before[name] for name, p in self.procs.items()}
        used.update(others or {})
        pg_after = self._postgres()
        used["postgres (whole server)"] = sum(
            t - self.pg_before.get(pid, 0.0) for pid, t in pg_after.items()
        )
        shares = {name: value / wall for name, value in used.items()}
        shares["machine"] = busy / max(total, 1e-9)
        shares["seconds"] = wall
        shares["cpu_seconds:gateway API"] = used.get("gateway API", 0.0)
        return shares


async def run_phase(
    spec: dict[str, Any], server_pid: int | None, limit: float, profile: str | None = None
) -> tuple[dict[str, Any], dict[str, float]]:
    """Run the load generator for one phase; its result and the CPU used while it measured."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--role", "load", "--spec", json.dumps(spec),
        stdout=asyncio.subprocess.PIPE, env=child_env(), cwd=str(ROOT),
    )  # fmt: skip
    assert proc.stdout is not None
    pids = {"gateway API": server_pid} if server_pid is not None else {}
    try:
        async with asyncio.timeout(limit):
            # The load generator says when its measured window starts (after its warm-up).
            while (line := await proc.stdout.readline()) and line.strip() != b"START":
                pass
            usage = Usage(pids)
            if profile and server_pid is not None:
                await profile_api(profile, server_pid, spec["duration"])
            out = await proc.stdout.read()
            await proc.wait()
    except TimeoutError:
        proc.kill()
        raise
    if proc.returncode != 0:
        raise SystemExit(f"the load generator failed in phase {spec['phase']}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return result, usage.done({"load generator": result["loadgen_cpu_s"]})


async def profile_api(py_spy: str, pid: int, seconds: float) -> None:
    """Sample the API process with py-spy (installed apart from the project) while it is
    measured; writes collapsed stacks next to the working directory."""
    out = Path.cwd() / "webhook_intake.api.pyspy.txt"
    await asyncio.create_subprocess_exec(
        py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250",
        "--format", "raw", "--output", str(out), "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    print(f"  (py-spy is sampling the API process into {out})")


def start_api(
    settings: dict[str, Any], port: int, workers: int, logdir: Path
) -> subprocess.Popen[bytes]:
    """The gateway API in its own process(es), its log in `logdir`."""
    with (logdir / "gateway-api.log").open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, __file__, "--role", "api", "--port", str(port),
             "--workers", str(workers), "--spec", json.dumps(settings)],
            stdout=sink, stderr=subprocess.STDOUT, env=child_env(), cwd=str(logdir),
        )  # fmt: skip


def stop_api(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


async def wait_ready(port: int, proc: subprocess.Popen[bytes], logdir: Path) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.poll() is not None:
                text = await asyncio.to_thread((logdir / "gateway-api.log").read_text)
                raise SystemExit(f"the gateway API exited:\n{text[-3000:]}")
            try:
                response = await client.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the gateway API did not become ready in 30 s")


def show_latency(label: str, lat: dict[str, float]) -> None:
    print(
        f"  {label:<26} p50 {lat['p50']:7.2f} ms   p90 {lat['p90']:7.2f} ms   "
        f"p99 {lat['p99']:7.2f} ms   max {lat['max']:8.2f} ms"
    )


def show_cpu(cpu: dict[str, float]) -> None:
    parts = [f"machine {cpu['machine'] * 100:.0f} % busy"]
    parts += [
        f"{name} {value * 100:.0f} %"
        for name, value in cpu.items()
        if name not in ("machine", "seconds") and not name.startswith("cpu_seconds:")
    ]
    print(f"  cpu over {cpu['seconds']:.1f} s (share of one core): " + ", ".join(parts))


async def open_phase(
    port: int, server_pid: int, rate: float, label: str, args: argparse.Namespace
) -> dict[str, Any]:
    limit = args.duration + OPEN_GRACE_SECONDS + 120
    opened, cpu = await run_phase(
        {"phase": "open", "port": port, "rate": rate, "duration": args.duration,
         "prefix": f"open{int(rate)}"},
        server_pid, limit,
    )  # fmt: skip
    print(f"gateway open loop at {rate:,.0f}/s ({label}), {args.duration:g} s")
    show_latency("latency (from schedule)", opened["latency_ms"])
    print(
        f"  scheduled {opened['scheduled']:,}, accepted {opened['accepted']:,}, unfinished "
        f"after {OPEN_GRACE_SECONDS:g} s grace {opened['unfinished']:,}; answers "
        f"{opened['outcome']}; dispatcher lag at the end {opened['dispatch_lag_ms']:.0f} ms"
    )
    show_cpu(cpu)
    return opened


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--api-workers", type=int, default=1, help="billecta-gateway api --workers")
    parser.add_argument("--py-spy", help="path of a py-spy binary: profile the API (closed loop)")
    args = parser.parse_args()

    import asyncpg
    from redis.asyncio import Redis
    from sqlalchemy.engine import make_url

    from billecta_gateway.cli import migrate

    url: str = args.database_url
    name = make_url(url).database
    dsn = plain_dsn(url)
    port = free_port()
    settings = {
        "environment": "production",
        "database_url": url,
        "redis_url": args.redis_url,
        "billecta_base_url": "http://127.0.0.1:9",
        "billecta_authentication": "SecureToken YmVuY2g=",
        "lime_api_keys": "bench-lime-key",
        "webhook_api_key": WEBHOOK_KEY,
        "log_format": "json",
        "log_level": "INFO",
    }
    params = {
        "connections (closed loop)": args.connections,
        "duration per run": f"{args.duration:g} s (after a {WARMUP_SECONDS:g} s warm-up)",
        "load generator": "own process, asyncio (uvloop) raw HTTP/1.1 keep-alive client",
        "deliveries": f"{len(templates())} webhook fixtures in turn, "
        "each with a unique AdditionalData",
        "gateway API": f"billecta-gateway api --workers {args.api_workers} (uvicorn, uvloop, "
        "httptools), JSON logs at INFO to a file",
        "gateway DB pool": "receiver: asyncpg pool of database_pool_size 10 per process",
        "arq worker": "not running (the queue fills)",
        "reference": f"asyncpg, {args.connections} connections, BEGIN; INSERT ... ON CONFLICT "
        f"RETURNING id; COMMIT into {BARE_TABLE} (LIKE webhook_event INCLUDING ALL)",
        "open loop": f"fixed-interval arrivals at half the bare rate, up to {OPEN_CONNECTIONS} "
        f"connections, latency from scheduled time, {OPEN_GRACE_SECONDS:g} s grace",
        "database": name,
        "redis": args.redis_url,
    }
    redis = Redis.from_url(args.redis_url)
    await redis.flushdb()
    await admin_execute(
        url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    server: subprocess.Popen[bytes] | None = None
    logdir = Path(tempfile.mkdtemp(prefix="bench-webhook-intake-"))
    try:
        await asyncio.to_thread(migrate, url)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"CREATE TABLE {BARE_TABLE} (LIKE webhook_event INCLUDING ALL)")
            pg = await conn.fetchrow(
                "SELECT current_setting('server_version') AS version,"
                " current_setting('synchronous_commit') AS sync,"
                " current_setting('fsync') AS fsync"
            )
        finally:
            await conn.close()
        params["postgresql"] = (
            f"{pg['version']} (synchronous_commit={pg['sync']}, fsync={pg['fsync']})"
        )
        params["other load before start"] = f"{await background_load() * 100:.0f} % of the machine"
        print("fixed parameters:")
        for key, value in params.items():
            print(f"  {key} = {value}")
        print(f"  machine = {os.cpu_count()} cpus, python {platform.python_version()}")

        server = start_api(settings, port, args.api_workers, logdir)
        await wait_ready(port, server, logdir)
        limit = args.duration + WARMUP_SECONDS + 120

        print("\nresults:")
        bare, bare_cpu = await run_phase(
            {"phase": "bare", "dsn": dsn, "connections": args.connections,
             "duration": args.duration, "prefix": "bare"},
            None, limit,
        )  # fmt: skip
        print(f"bare asyncpg insert-and-commit     {bare['rate']:8.0f} rows/s")
        show_latency("latency", bare["latency_ms"])
        show_cpu(bare_cpu)

        closed, closed_cpu = await run_phase(
            {"phase": "closed", "port": port, "connections": args.connections,
             "duration": args.duration, "prefix": "closed"},
            server.pid, limit, args.py_spy,
        )  # fmt: skip
        conn = await asyncpg.connect(dsn)
        try:
            stored = await conn.fetchval(
                "SELECT count(*) FROM webhook_event WHERE event_id LIKE 'closed-0%'"
            )
        finally:
            await conn.close()
        accepted_all = closed["outcome"].get("200 accepted", 0)
        print(f"gateway webhook intake (closed)    {closed['rate']:8.0f} accepted/s")
        show_latency("latency", closed["latency_ms"])
        print(
            f"  answers: {closed['outcome']}; stored rows for these deliveries: {stored:,} "
            f"(200 accepted: {accepted_all:,})"
        )
        show_cpu(closed_cpu)
        api_cpu = closed_cpu["cpu_seconds:gateway API"]
        if accepted_all:
            print(
                f"  gateway API CPU per accepted delivery: {api_cpu / accepted_all * 1000:.2f} ms"
            )

        # Context first (not a budget): the open loop at half the gateway's own closed-loop
        # rate; then the budget's open loop at half the bare rate.
        await open_phase(port, server.pid, closed["rate"] / 2, "half the gateway's rate", args)
        opened = await open_phase(port, server.pid, bare["rate"] / 2, "half the bare rate", args)
        queued = await redis.zcard("billecta-gateway:queue")
        print(f"arq queue length at the end (no worker): {queued:,}")

        ratio = closed["rate"] / bare["rate"]
        p99 = opened["latency_ms"]["p99"]
        unanswered = f"> {OPEN_GRACE_SECONDS:g} s (requests left unanswered)"
        shown = f"{p99:.1f} ms" if math.isfinite(p99) else unanswered
        print(
            f"\nratio: gateway/bare throughput {ratio:.2f} ({closed['rate']:,.0f}/s vs "
            f"{bare['rate']:,.0f}/s; budget >= 0.50: {'met' if ratio >= 0.5 else 'MISSED'}); "
            f"p99 at half the bare rate ({bare['rate'] / 2:,.0f}/s) {shown} "
            f"(budget < 50 ms: {'met' if p99 < 50 else 'MISSED'})"
        )
    finally:
        if server is not None:
            await asyncio.to_thread(stop_api, server)
        await redis.flushdb()
        await redis.aclose()
        await admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await asyncio.to_thread(shutil.rmtree, logdir, True)


if __name__ == "__main__":
    if "--role" in sys.argv:
        role = argparse.ArgumentParser()
        role.add_argument("--role", choices=["api", "load"])
        role.add_argument("--spec", required=True)
        role.add_argument("--port", type=int, default=0)
        role.add_argument("--workers", type=int, default=1)
        child = role.parse_args()
        if child.role == "api":
            serve_api(child.spec, child.port, child.workers)
        else:
            run_load(child.spec)
    else:
        asyncio.run(main())
