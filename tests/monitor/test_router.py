"""Integration monitor read API through HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import IntegrationMonitorBatch
from billecta_gateway.monitor import service

BASE = "/limepkg-billecta-integration/integration-monitor"


async def _seed_batches(session: AsyncSession, count: int) -> list[int]:
    ids = [
        (await service.create_batch(session, title=f"Batch {i}", task="upsert", created_by="u")).id
        for i in range(count)
    ]
    return ids


async def test_list_batches_pages_newest_first(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    ids = await _seed_batches(session, 3)
    await session.commit()

    first = await client.get(f"{BASE}/batches", params={"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert [b["id"] for b in body["items"]] == [ids[2], ids[1]]
    assert body["next_cursor"] == ids[1]

    second = await client.get(f"{BASE}/batches", params={"limit": 2, "cursor": body["next_cursor"]})
    assert second.status_code == 200
    assert [b["id"] for b in second.json()["items"]] == [ids[0]]
    assert second.json()["next_cursor"] is None


async def test_list_batches_filters_by_status_and_time(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    ids = await _seed_batches(session, 3)
    await service.fail_batch(session, batch_id=ids[0], message="Could not run")
    await session.execute(
        update(IntegrationMonitorBatch)
        .where(IntegrationMonitorBatch.id == ids[2])
        .values(starttime=datetime.now(UTC) - timedelta(days=10))
    )
    await session.commit()

    failed = await client.get(f"{BASE}/batches", params={"status": "error"})
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent = await client.get(f"{BASE}/batches", params={"since": since})
    old = await client.get(f"{BASE}/batches", params={"until": since})

    assert [b["id"] for b in failed.json()["items"]] == [ids[0]]
    assert failed.json()["items"][0]["message"] == "Could not run"
    assert [b["id"] for b in recent.json()["items"]] == [ids[1], ids[0]]
    assert [b["id"] for b in old.json()["items"]] == [ids[2]]


@pytest.mark.parametrize(
    "params",
    [{"status": "finished"}, {"limit": 0}, {"limit": 501}, {"since": "yesterday"}],
)
async def test_list_batches_invalid_query_is_422(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get(f"{BASE}/batches", params=params)

    assert response.status_code == 422
    body = response.json()
    assert body["error_message"]
    assert body["errors"]


async def test_since_after_until_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"{BASE}/batches",
        params={"since": "2026-03-05T00:00:00Z", "until": "2026-03-04T00:00:00Z"},
    )

    assert response.status_code == 422
    assert response.json()["error_message"] == "since must not be later than until"


async def test_get_batch_shows_counters_and_progress(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    batch = await service.create_batch(
        session, title="Upsert debtors in Billecta", task="upsert_debtors", created_by="anna"
    )
    pairs = await service.add_logs(
        session, batch_id=batch.id, limetype="debtor", object_ids=[1, 2, 3, 4]
    )
    await service.finish_log(session, log_id=pairs[0][0], ok=True, message=None)
    await service.finish_log(session, log_id=pairs[1][0], ok=False, message="refused")
    await session.commit()

    response = await client.get(f"{BASE}/batches/{batch.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == batch.id
    assert body["title"] == "Upsert debtors in Billecta"
    assert body["task"] == "upsert_debtors"
    assert body["created_by"] == "anna"
    assert (body["status"], body["total"], body["done"], body["failed"]) == ("running", 4, 2, 1)
    assert body["progress"] == 0.5
    assert body["endtime"] is None
    assert datetime.fromisoformat(body["starttime"]).tzinfo is not None


async def test_closed_empty_batch_has_full_progress(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    await session.execute(
        update(IntegrationMonitorBatch)
        .where(IntegrationMonitorBatch.id == batch.id)
        .values(starttime=datetime.now(UTC) - timedelta(hours=2))
    )
    await service.finish_running_batches(session, now=datetime.now(UTC))
    await session.commit()

    body = (await client.get(f"{BASE}/batches/{batch.id}")).json()

    assert (body["status"], body["total"], body["progress"]) == ("ok", 0, 1.0)


async def test_unknown_batch_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/batches/987654")
    logs = await client.get(f"{BASE}/batches/987654/logs")

    assert response.status_code == 404
    assert response.json() == {"error_message": "Integration monitor batch 987654 not found"}
    assert logs.status_code == 404
    assert logs.json() == {"error_message": "Integration monitor batch 987654 not found"}


async def test_out_of_range_batch_id_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/batches/{2**63}")

    assert response.status_code == 422
    assert response.json()["error_message"]


async def test_batch_logs_page_and_filter_by_status(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    pairs = sorted(
        await service.add_logs(
            session, batch_id=batch.id, limetype="debtor", object_ids=[10, 11, 12]
        )
    )
    await service.set_log_task(session, log_id=pairs[0][0], task_id="job-10", attempt=2)
    await service.finish_log(session, log_id=pairs[0][0], ok=False, message="Creditor 3: refused")
    await session.commit()

    first = await client.get(f"{BASE}/batches/{batch.id}/logs", params={"limit": 2})
    rest = await client.get(
        f"{BASE}/batches/{batch.id}/logs",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
    )
    errors = await client.get(f"{BASE}/batches/{batch.id}/logs", params={"status": "error"})

    assert first.status_code == 200
    assert [log["object_id"] for log in first.json()["items"]] == [12, 11]
    assert [log["object_id"] for log in rest.json()["items"]] == [10]
    assert rest.json()["next_cursor"] is None
    [error] = errors.json()["items"]
    assert error == {
        "id": pairs[0][0],
        "batch_id": batch.id,
        "limetype": "debtor",
        "object_id": 10,
        "task_id": "job-10",
        "attempt": 2,
        "status": "error",
        "message": "Creditor 3: refused",
        "created_at": error["created_at"],
        "updated_at": error["updated_at"],
    }


async def test_batch_logs_invalid_status_is_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    batch = await service.create_batch(session, title="t", task="x", created_by=None)
    await session.commit()

    response = await client.get(f"{BASE}/batches/{batch.id}/logs", params={"status": "done"})

    assert response.status_code == 422
    assert "status" in response.json()["error_message"]


@pytest.mark.parametrize("path", ["/batches", "/batches/1", "/batches/1/logs"])
async def test_missing_api_key_is_401(anon_client: httpx.AsyncClient, path: str) -> None:
    response = await anon_client.get(f"{BASE}{path}")

    assert response.status_code == 401
    assert response.json()["error_message"]


async def test_routes_are_documented(app: FastAPI) -> None:
    paths = app.openapi()["paths"]

    for path in ("/batches", "/batches/{batch_id}", "/batches/{batch_id}/logs"):
        operation = paths[f"{BASE}{path}"]["get"]
        assert operation["summary"]
        assert operation["description"]
        assert {"401", "422"} <= set(operation["responses"])
    assert "404" in paths[f"{BASE}/batches/{{batch_id}}"]["get"]["responses"]
    assert "404" in paths[f"{BASE}/batches/{{batch_id}}/logs"]["get"]["responses"]
    schemas = app.openapi()["components"]["schemas"]
    assert "progress" in schemas["BatchRead"]["properties"]
    assert schemas["BatchRead"]["examples"]


def test_api_statuses_match_the_model() -> None:
    from typing import get_args

    from billecta_gateway.models.system import BATCH_STATUSES, LOG_STATUSES
    from billecta_gateway.monitor.schemas import BatchStatus, LogStatus

    assert get_args(BatchStatus) == BATCH_STATUSES
    assert get_args(LogStatus) == LOG_STATUSES
