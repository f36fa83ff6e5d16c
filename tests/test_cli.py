"""The console script: the README names its commands, `worker --check` follows arq's health key,
and the version comes from the installed distribution's metadata."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from arq.connections import ArqRedis

import billecta_gateway
from billecta_gateway.cli import build_parser, openapi_document
from billecta_gateway.worker import HEALTH_CHECK_INTERVAL_SECONDS, create_worker
from tests.conftest import (
    BILLECTA_AUTH,
    BILLECTA_URL,
    LIME_KEY,
    TEST_REDIS_URL,
    WEBHOOK_KEY,
    make_settings,
)

ROOT = Path(__file__).resolve().parent.parent


def cli_commands() -> set[str]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return set(sub.choices)  # type: ignore[attr-defined]


def readme_commands() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Running in production\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `billecta-gateway ([a-z][a-z-]*)", section, flags=re.MULTILINE))


def test_the_readme_names_the_commands_of_the_cli() -> None:
    assert readme_commands() == cli_commands()
    assert "worker" in cli_commands()


def test_the_version_is_the_one_in_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = pyproject["project"]["version"]
    assert billecta_gateway.__version__ == version("billecta-gateway") == declared
    assert openapi_document()["info"]["version"] == declared


def run_check(redis_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`billecta-gateway worker --check` as a container probe runs it: a process of its own."""
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "REDIS_URL": redis_url,
        "BILLECTA_BASE_URL": BILLECTA_URL,
        "BILLECTA_AUTHENTICATION": BILLECTA_AUTH,
        "LIME_API_KEYS": LIME_KEY,
        "WEBHOOK_API_KEY": WEBHOOK_KEY,
    }
    script = "from billecta_gateway.cli import main; main(['worker', '--check'])"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.worker
async def test_worker_check_is_healthy_while_a_worker_runs_and_not_after(
    redis: ArqRedis, tmp_path: Path
) -> None:
    settings = make_settings()
    key = f"{settings.arq_queue_name}:health-check"
    before = await asyncio.to_thread(run_check, TEST_REDIS_URL, tmp_path)
    assert (before.returncode, before.stdout.strip()) == (
        1,
        "worker unhealthy: no recent health record",
    )

    worker = create_worker(settings, handle_signals=False, cron_jobs=[])
    task = asyncio.create_task(worker.main())
    try:
        for _ in range(100):
            if await redis.exists(key):
                break
            await asyncio.sleep(0.05)
        ttl = await redis.pttl(key)
        assert 0 < ttl <= (HEALTH_CHECK_INTERVAL_SECONDS + 1) * 1000
        during = await asyncio.to_thread(run_check, TEST_REDIS_URL, tmp_path)
        assert (during.returncode, during.stdout.strip()) == (0, "worker healthy")
    finally:
        task.cancel()
        await worker.close()

    after = await asyncio.to_thread(run_check, TEST_REDIS_URL, tmp_path)
    assert after.returncode == 1


def test_worker_check_fails_quickly_when_redis_is_unreachable(tmp_path: Path) -> None:
    result = run_check("redis://127.0.0.1:1/0", tmp_path)
    assert result.returncode == 1
    assert result.stdout.strip() == "worker unhealthy: no recent health record"
    assert "Redis unreachable" in result.stderr


def test_burst_and_check_exclude_each_other() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["worker", "--burst", "--check"])


def test_pre_commit_runs_what_ci_runs() -> None:
    import yaml

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    entries = [hook["entry"] for repo in config["repos"] for hook in repo["hooks"]]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in (
        "ruff check",
        "ruff format --check",
        "mypy",
        "billecta-gateway openapi --check",
    ):
        assert any(entry.endswith(f".venv/bin/{command}") for entry in entries), command
        assert f"\n{command}" in ci, command
