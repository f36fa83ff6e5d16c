"""PROMETHEUS_MULTIPROC_DIR: what N API processes count adds up in any one's scrape."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COUNT = (
    "from billecta_gateway import metrics\n"
    "metrics.observe_call('billecta', 'get_creditor', 200, 0.1)\n"
    "metrics.observe_slots('billecta', 'interactive', 2, 0)\n"
)
SCRAPE = "from billecta_gateway import metrics\nprint(metrics.render().decode())\n"


def run(script: str, folder: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_processes_sum_their_counters_and_live_gauges(tmp_path: Path) -> None:
    folder = tmp_path / "not-yet" / "metrics"  # created on import when missing
    run(COUNT, folder)
    run(COUNT, folder)

    scraped = run(SCRAPE, folder)
    calls = (
        'billecta_gateway_client_requests_total{client="billecta",route="get_creditor",'
        'status="200"} 2.0'
    )
    assert calls in scraped
    # The counting processes have exited, but nothing marked them dead: their gauges stay
    # until an API process starts and forgets them (see the next test).
    assert (
        'billecta_gateway_client_requests_in_flight{client="billecta",priority="interactive"}'
        in (scraped)
    )


def test_a_starting_process_forgets_the_gauges_of_dead_ones(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    run(COUNT, folder)

    scraped = run(
        "from billecta_gateway import metrics\nmetrics.forget_dead_processes()\n" + SCRAPE, folder
    )

    assert 'route="get_creditor",status="200"} 1.0' in scraped  # counters are kept
    assert "billecta_gateway_client_requests_in_flight{" not in scraped
