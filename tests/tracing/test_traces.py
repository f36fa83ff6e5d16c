"""Tracing with the in-memory exporter: a request, the job it queued and that job's Billecta
call are one trace, and the logs name it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway import tracing

ROOT = Path(__file__).resolve().parent.parent.parent
INCOMING_TRACE = "ab" * 16


def traced_run() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.tracing.traced_run"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    spans = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    return spans, logs


@pytest.mark.worker
async def test_request_job_and_billecta_call_are_one_trace(
    redis: ArqRedis, committed_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    spans, logs = traced_run()

    by_id = {span["span_id"]: span for span in spans}
    [request] = [s for s in spans if s["kind"] == "SERVER"]
    assert request["name"] == ("PUT /limepkg-billecta-integration/billecta/dispute-invoice")
    # The caller's traceparent is continued.
    assert request["trace_id"] == INCOMING_TRACE
    [job] = [s for s in spans if s["name"].startswith("job ")]
    assert job["name"] == "job update_invoice_in_lime_with_billecta_invoice_data"
    assert job["kind"] == "CONSUMER"
    assert job["trace_id"] == INCOMING_TRACE
    # The job's parent is a span of the request that queued it.
    ancestor = by_id[job["parent_id"]]
    while ancestor["kind"] != "SERVER":
        ancestor = by_id[ancestor["parent_id"]]
    assert ancestor is request
    billecta_calls = [s for s in spans if s["kind"] == "CLIENT" and "url.full" in s["attributes"]]
    in_job = [s for s in billecta_calls if s["parent_id"] == job["span_id"]]
    assert [s["attributes"]["url.full"] for s in in_job] == [
        "https://billecta.test/v1/invoice/action/inv-act-1001"
    ]
    assert all(s["trace_id"] == INCOMING_TRACE for s in billecta_calls)
    assert len(billecta_calls) == 3  # the dispute and the failed read-back, then the job's read
    # Database statements of the request and of the job are in the trace too (the worker's
    # start-up queries are traces of their own).
    database = [
        s
        for s in spans
        if s["attributes"].get("db.system") == "postgresql" and s["trace_id"] == INCOMING_TRACE
    ]
    assert any(s["parent_id"] == job["span_id"] for s in database)
    assert any(s["parent_id"] != job["span_id"] for s in database)

    job_lines = [line for line in logs if line.get("job_id")]
    assert job_lines and all(line["trace_id"] == INCOMING_TRACE for line in job_lines)
    assert {line["span_id"] for line in job_lines} <= set(by_id)


def test_tracing_is_off_without_the_standard_variables() -> None:
    assert not tracing.tracing_requested({})
    assert not tracing.tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing.tracing_requested(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert tracing.tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    # In this process nothing asked for it: jobs carry no trace context.
    assert not tracing.enabled()
    message = {"f": "job", "a": (1,), "k": {}, "t": 1, "et": 0}
    assert tracing.deserialize_job(tracing.serialize_job(message)) == message


async def test_recorded_urls_lose_their_query_string() -> None:
    class Span:
        def __init__(self) -> None:
            self.attributes: dict[str, str] = {}

        def is_recording(self) -> bool:
            return True

        def set_attribute(self, key: str, value: str) -> None:
            self.attributes[key] = value

    span = Span()
    url = httpx.URL("https://billecta.test/v1/payments/swish/act-1?phone=46701234567&message=Hi")
    await tracing._without_query(span, (b"POST", url, None, None, None))

    assert span.attributes == {
        "url.full": "https://billecta.test/v1/payments/swish/act-1",
        "http.url": "https://billecta.test/v1/payments/swish/act-1",
    }
