"""A third party's generated client works: `openapi-python-client` builds one from the
committed document (in a throw-away virtualenv, its pins clash with ours), and it reads an
object and starts a task against the app served over TCP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import textwrap
import venv
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import IntegrationMonitorBatch
from tests.conftest import LIME_KEY, ROOT
from tests.live import serve

PREFIX = "/limepkg-billecta-integration"
# pip's words for "the package registry cannot be reached" (not for a package that is missing).
UNREACHABLE = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "ProxyError",
)

CALLS = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from gateway_client import AuthenticatedClient
    from gateway_client.api.lime_objects import get_object
    from gateway_client.api.debtors import upsert_debtors_in_billecta
    from gateway_client.models import LimeObjectRead, TaskRequest, TaskStarted

    client = AuthenticatedClient(
        base_url=sys.argv[2], token=sys.argv[3], prefix="", auth_header_name="x-api-key"
    )
    debtor = get_object.sync(limetype="debtor", id=1001, client=client)
    assert isinstance(debtor, LimeObjectRead), debtor
    started = upsert_debtors_in_billecta.sync(
        client=client,
        body=TaskRequest.from_dict(
            {
                "query_filter": {"key": "_id", "op": "=", "exp": 1001},
                "integration_monitor_batch_title": "Generated client",
            }
        ),
        x_lime_user="integrator",
    )
    assert isinstance(started, TaskStarted), started
    print(json.dumps({"debtor": debtor.to_dict(), "task": started.to_dict()}))
    """
)


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the virtualenv's python, the folder holding the generated `gateway_client` package)."""
    root = tmp_path_factory.mktemp("generated-client")
    venv.create(root / "venv", with_pip=True)
    python = root / "venv" / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "openapi-python-client"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if install.returncode != 0:
        output = install.stdout + install.stderr
        if any(marker in output for marker in UNREACHABLE):
            pytest.skip(f"the package registry is unreachable: {output.strip()[-300:]}")
        pytest.fail(f"installing openapi-python-client failed:\n{output[-3000:]}")
    package = root / "client"
    generate = subprocess.run(
        [
            str(root / "venv" / "bin" / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi" / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(package / "gateway_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert generate.returncode == 0, generate.stdout + generate.stderr
    return python, package


def test_the_generated_client_imports_every_operation(generated_client: tuple[Path, Path]) -> None:
    python, package = generated_client
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    modules = [
        f"gateway_client.api.{operation['tags'][0].replace(' ', '_')}.{operation['operationId']}"
        for operations in document["paths"].values()
        for operation in operations.values()
    ]
    script = "import importlib, sys\nsys.path.insert(0, sys.argv[1])\n" + "".join(
        f"importlib.import_module({name!r})\n" for name in modules
    )
    result = subprocess.run(
        [str(python), "-c", script, str(package)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


async def test_the_generated_client_reads_and_starts_a_task(
    generated_client: tuple[Path, Path],
    app: Any,
    client: httpx.AsyncClient,
    session: AsyncSession,
    redis: ArqRedis,
) -> None:
    python, package = generated_client
    created = await client.put(
        f"{PREFIX}/limeobjects/debtor/1001", json={"name": "Acme AB", "debtortype": "company"}
    )
    assert created.status_code in (200, 201), created.text
    async with serve(app, lifespan="off") as url:
        process = await asyncio.create_subprocess_exec(
            str(python),
            "-c",
            CALLS,
            str(package),
            url,
            LIME_KEY,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()[-3000:]
    answer = json.loads(out.decode().strip().splitlines()[-1])
    assert answer["debtor"]["_id"] == 1001 and answer["debtor"]["name"] == "Acme AB"
    task = answer["task"]
    assert task["status"] == "success"
    batch = await session.scalar(
        select(IntegrationMonitorBatch).where(
            IntegrationMonitorBatch.id == task["integration_monitor_batch_id"]
        )
    )
    assert batch is not None
    assert (batch.title, batch.status, batch.created_by) == (
        "Generated client",
        "running",
        "integrator",
    )
    assert await redis.keys("arq:job:*"), "the task's fan-out job was not enqueued"
