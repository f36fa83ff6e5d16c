"""What the benchmark scripts share: the repository root, scratch-database administration, the
child processes' environment and the machine's background load.

Imported by the scripts as a sibling module (they run as `python benchmarks/<name>.py`, so this
folder is first on `sys.path`, in the children they spawn too)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))


def plain_dsn(url: str) -> str:
    """A SQLAlchemy URL as a DSN asyncpg accepts."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def admin_execute(url: str, *statements: str) -> None:
    """Run statements in the server's `postgres` database (CREATE/DROP DATABASE)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    conn = await asyncpg.connect(plain_dsn(str(make_url(url).set(database="postgres"))))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env() -> dict[str, str]:
    """The environment of a child process: the project's `src` importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


async def background_load(seconds: float = 2.0) -> float:
    """The machine's busy share (all cores) before the benchmark starts: other work running."""
    import psutil

    before = psutil.cpu_times()
    await asyncio.sleep(seconds)
    after = psutil.cpu_times()
    total = sum(after) - sum(before)
    idle = (after.idle + after.iowait) - (before.idle + before.iowait)
    busy: float = (total - idle) / max(total, 1e-9)
    return busy
