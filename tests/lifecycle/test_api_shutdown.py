"""`billecta-gateway api`: a graceful-shutdown timeout, and a clean metrics folder for N
processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn

from billecta_gateway.cli import main
from billecta_gateway.metrics import MULTIPROC_ENV
from tests.conftest import BILLECTA_AUTH, BILLECTA_URL, LIME_KEY, WEBHOOK_KEY


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    for name, value in {
        "BILLECTA_BASE_URL": BILLECTA_URL,
        "BILLECTA_AUTHENTICATION": BILLECTA_AUTH,
        "LIME_API_KEYS": LIME_KEY,
        "WEBHOOK_API_KEY": WEBHOOK_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    # Set, then removed: the test's end restores the variable's absence, whatever `api` set.
    monkeypatch.setenv(MULTIPROC_ENV, "")
    monkeypatch.delenv(MULTIPROC_ENV)
    return calls


def test_the_api_finishes_open_requests_within_its_shutdown_timeout(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["api"])
    monkeypatch.setenv("API_SHUTDOWN_TIMEOUT", "12")
    main(["api"])

    assert [call["timeout_graceful_shutdown"] for call in served] == [25, 12]


def test_n_processes_share_an_emptied_metrics_folder(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_4242.db").write_bytes(b"from an earlier run")
    monkeypatch.setenv(MULTIPROC_ENV, str(folder))

    main(["api", "--workers", "3"])

    assert served[0]["workers"] == 3
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_n_processes_get_a_metrics_folder_when_none_is_set(
    served: list[dict[str, Any]],
) -> None:
    import os

    main(["api", "--workers", "2"])

    folder = Path(os.environ[MULTIPROC_ENV])
    assert folder.is_dir() and "billecta-gateway-metrics-" in folder.name
    folder.rmdir()
