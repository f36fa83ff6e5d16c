"""The document tells the truth: schemathesis runs against the app served over TCP.

The app (against a database of its own beside the test database, Billecta served by the
sandbox) answers the document's own examples and a fixed-seed, bounded set of generated cases
per operation, with the Lime key. Any 5xx, undocumented status code or answer that violates its
schema fails the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.engine import make_url

from billecta_gateway.main import create_app
from billecta_gateway.sandbox import SandboxConfig, SeedCreditor, create_sandbox_app
from tests.conftest import (
    LIME_KEY,
    ROOT,
    TEST_DATABASE_URL,
    _recreate_database,
    alembic_config,
    make_settings,
)
from tests.live import serve

# Its own database, named after the test database, so parallel sessions never share it; the
# run commits (as the real app does), so it cannot use the rolled-back test transaction.
_test_url = make_url(TEST_DATABASE_URL)
CONTRACT_DB = _test_url.set(database=f"{_test_url.database}_schemathesis").render_as_string(
    hide_password=False
)

SANDBOX_AUTH = "SecureToken c2NoZW1hdGhlc2lzLXNhbmRib3g="
# Instead of `not_a_server_error`: a 500 whose body the spec documents for the route is its
# contract (DESIGN §3.3); any other 5xx fails (tests/schemathesis_checks.py).
CHECKS = (
    "no_unexpected_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
# Bounded: a few generated cases per operation besides its examples, one fixed seed, so a run
# takes a minute or two and a failure can be reproduced.
MAX_EXAMPLES = 5
SEED = 24
RUN_TIMEOUT_SECONDS = 480


@pytest.fixture
async def sandbox_url() -> AsyncIterator[str]:
    config = SandboxConfig(
        authentication=SANDBOX_AUTH,
        creditors=[SeedCreditor(public_id="5c4e1d2a-0000-4000-8000-000000000024", name="Test AB")],
    )
    async with serve(create_sandbox_app(config), lifespan="on") as url:
        yield url


@pytest.fixture
async def contract_database() -> str:
    await _recreate_database(CONTRACT_DB)
    await asyncio.to_thread(command.upgrade, alembic_config(CONTRACT_DB), "head")
    return CONTRACT_DB


@pytest.mark.usefixtures("redis")
async def test_schemathesis_finds_no_undocumented_answer(
    contract_database: str, sandbox_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url=contract_database,
        billecta_base_url=sandbox_url,
        billecta_authentication=SANDBOX_AUTH,
    )
    app = create_app(settings, configure_logs=False)
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(app.openapi()), encoding="utf-8")
    report = tmp_path / "report"
    async with serve(app, lifespan="on") as url:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(schema),
            "--url",
            url,
            "--header",
            f"x-api-key: {LIME_KEY}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",
            "--no-shrink",
            "--generation-database",
            "none",
            "--request-timeout",
            "30",
            "--report",
            "junit",
            "--report-dir",
            str(report),
            # Run in the test's folder: schemathesis keeps a cache in its working directory.
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.schemathesis_checks",
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
                ),
            },
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=RUN_TIMEOUT_SECONDS)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-20000:]
    assert "No issues found" in text or "passed" in text, text[-5000:]
