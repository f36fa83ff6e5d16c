"""Structured logs: request id on every line, JSON or console, and no secret ever written."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from billecta_gateway.logs import ConsoleFormatter, JsonFormatter, configure_logging
from billecta_gateway.main import create_app
from tests.conftest import (
    BILLECTA_AUTH,
    BILLECTA_URL,
    LIME_KEY,
    LIME_KEY_2,
    WEBHOOK_KEY,
    make_settings,
)

PREFIX = "/limepkg-billecta-integration"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


async def test_no_key_or_token_reaches_the_logs(
    restore_logging: None,
    sessionmaker: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(log_level="DEBUG", log_format="json")
    app = create_app(settings)  # configures logging to the (captured) stderr
    caplog.set_level(logging.DEBUG)
    token = BILLECTA_AUTH.split(" ", 1)[1]
    async with app.router.lifespan_context(app):
        app.state.sessionmaker = sessionmaker
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for key in (LIME_KEY, LIME_KEY_2, "not-a-key", WEBHOOK_KEY):
                await client.get(f"{PREFIX}/limeobjects/debtor/1", headers={"x-api-key": key})
                await client.post(
                    f"{PREFIX}/billecta-webhook-receiver",
                    json={"Event": "DebtorUpdated"},
                    headers={"x-api-key": key},
                )
            await client.get("/readyz")
        with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as mock:
            route = mock.get("/v1/creditors/creditor/c-1").respond(400, json={"Message": "nope"})
            with pytest.raises(Exception, match="nope"):
                await app.state.billecta.get_creditor("c-1")
            assert route.calls.last.request.headers["Authorization"] == BILLECTA_AUTH
        logging.getLogger("billecta_gateway.test").error(
            "a careless line with %s and %s", LIME_KEY, BILLECTA_AUTH
        )
    output = capsys.readouterr().err + "\n".join(r.getMessage() for r in caplog.records)
    assert "a careless line" in output  # the run was really captured
    assert '"request_id"' in output
    for secret in (LIME_KEY, LIME_KEY_2, WEBHOOK_KEY, BILLECTA_AUTH, token):
        assert secret not in output, f"secret leaked into the logs: {secret[:4]}…"


def _record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord(
        "billecta_gateway.x", logging.INFO, __file__, 1, "hello %s", ("w",), None
    )
    record.request_id = "rid-1"
    record.job_id = None
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_request_id_and_extras() -> None:
    line = json.loads(JsonFormatter().format(_record(status_code=201)))
    assert line["message"] == "hello w"
    assert line["request_id"] == "rid-1"
    assert line["status_code"] == 201
    assert line["level"] == "info"


def test_console_lines_are_readable() -> None:
    line = ConsoleFormatter().format(_record(elapsed_ms=3.5))
    assert "[rid-1]" in line and "hello w" in line and "elapsed_ms=3.5" in line


def test_configure_logging_is_idempotent(restore_logging: None) -> None:
    configure_logging(level="INFO", fmt="console", secrets=[])
    configure_logging(level="INFO", fmt="json", secrets=[])
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_billecta_gateway", False)]
    assert len(ours) == 1
    assert isinstance(ours[0].formatter, JsonFormatter)
