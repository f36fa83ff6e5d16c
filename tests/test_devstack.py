"""The one-command stack picks its services: its own unless DEV_* URLs name others."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from billecta_gateway.devstack import StackEnvironment, uses

ROOT = Path(__file__).resolve().parent.parent
DEV_URLS = ("DEV_DATABASE_URL", "DEV_REDIS_URL", "DEV_BILLECTA_BASE_URL")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout-like folder whose .env is a copy of .env.example (as the README suggests)."""
    for name in (*DEV_URLS, "DATABASE_URL", "REDIS_URL", "BILLECTA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_copied_env_example_leaves_the_stack_on_its_own_services(workdir: Path) -> None:
    env_file = (workdir / ".env").read_text(encoding="utf-8")
    assert "\nDATABASE_URL=postgresql" in env_file and "\nBILLECTA_BASE_URL=https" in env_file
    env = StackEnvironment()
    assert (env.database_url, env.redis_url, env.billecta_base_url) == (None, None, None)
    # The secrets of .env still apply: the sandbox is started with the same ones.
    assert env.lime_api_keys == "dev-lime-key"


def test_dev_urls_point_the_stack_at_other_services(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (workdir / ".env").open("a", encoding="utf-8") as fh:
        fh.write("DEV_REDIS_URL=redis://127.0.0.1:6379/7\n")
    monkeypatch.setenv("DEV_DATABASE_URL", "postgresql+asyncpg://gw:s3cret@db:5432/gw?ssl=off")
    env = StackEnvironment()
    assert env.database_url == "postgresql+asyncpg://gw:s3cret@db:5432/gw?ssl=off"
    assert env.redis_url == "redis://127.0.0.1:6379/7"
    assert env.billecta_base_url is None


def test_the_banner_says_which_service_is_used_without_its_password() -> None:
    assert uses(None, "DEV_DATABASE_URL", "embedded, data in .data/postgres") == (
        "embedded, data in .data/postgres"
    )
    assert uses(
        "postgresql+asyncpg://gw:s3cret@db:5432/gw?ssl=off", "DEV_DATABASE_URL", "embedded"
    ) == ("postgresql+asyncpg://gw:***@db:5432/gw (from DEV_DATABASE_URL)")
