"""The task endpoints' contract (DESIGN §3.5): answer at once, one batch, one fan-out job."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import (
    AuditRecord,
    Debtor,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
)
from billecta_gateway.tasks.contract import fan_out_job_id
from tests.conftest import make_settings
from tests.tasks.support import FakeBillecta, add_creditor, add_debtor, batch_and_logs, run_batch

PREFIX = "/limepkg-billecta-integration"
TASKS = [
    ("upsert-articles-in-billecta", "article", "upsert_articles_in_billecta"),
    ("delete-articles-in-billecta", "article", "delete_articles_in_billecta"),
    ("upsert-debtors-in-billecta", "debtor", "upsert_debtors_in_billecta"),
    ("anonymize-debtors-in-billecta", "debtor", "anonymize_debtors_in_billecta"),
    ("credit-invoices-in-billecta", "invoice", "credit_invoices_in_billecta"),
    ("upsert-orders-in-billecta", "order", "upsert_orders_in_billecta"),
    ("attest-orders-in-billecta", "order", "attest_orders_in_billecta"),
    ("upsert-attest-orders-in-billecta", "order", "upsert_attest_orders_in_billecta"),
    ("delete-orders-in-billecta", "order", "delete_orders_in_billecta"),
]


def _body(ids: list[int] | None = None, title: str = "My batch") -> dict[str, Any]:
    return {
        "integration_monitor_batch_title": title,
        "query_filter": {"key": "_id", "op": "IN", "exp": ids or [1001]},
    }


async def _batches(session: AsyncSession) -> list[IntegrationMonitorBatch]:
    return list(
        (
            await session.scalars(
                select(IntegrationMonitorBatch).execution_options(populate_existing=True)
            )
        ).all()
    )


@pytest.mark.parametrize(("path", "limetype", "task"), TASKS)
async def test_every_task_endpoint_answers_the_task_and_queues_one_fan_out(
    client: httpx.AsyncClient,
    session: AsyncSession,
    redis: ArqRedis,
    path: str,
    limetype: str,
    task: str,
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    from billecta_gateway.models import Article, Invoice, Order

    model = {"article": Article, "invoice": Invoice, "order": Order, "debtor": None}[limetype]
    if model is not None:
        session.add(model(id=1001))
        await session.flush()

    response = await client.post(
        f"{PREFIX}/task/{path}", json=_body(), headers={"x-lime-user": "anna.svensson"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    batch_id = body["integration_monitor_batch_id"]
    assert body == {
        "task_id": str(batch_id),
        "status": "success",
        "integration_monitor_batch_id": batch_id,
    }
    batch = await session.get(IntegrationMonitorBatch, batch_id)
    assert batch is not None
    assert (batch.title, batch.task, batch.status, batch.created_by) == (
        "My batch",
        task,
        "running",
        "anna.svensson",
    )
    assert batch.parameters is not None and batch.parameters["object_ids"] == [1001]
    assert await session.scalar(select(func.count(IntegrationMonitorLog.id))) == 0
    queue = make_settings().arq_queue_name
    assert (
        await Job(fan_out_job_id(batch_id, 1), redis, _queue_name=queue).status()
        == JobStatus.queued
    )
    audit = await session.scalar(select(AuditRecord).order_by(AuditRecord.id.desc()))
    assert audit is not None and audit.limetype == limetype and audit.object_id == 1001


async def test_a_filter_that_matches_nothing_is_a_422_naming_the_limetype_and_no_batch(
    client: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis
) -> None:
    response = await client.post(f"{PREFIX}/task/upsert-debtors-in-billecta", json=_body([424242]))
    assert response.status_code == 422
    assert response.json()["error_message"] == (
        "No debtor matches the query filter (no debtor with id 424242)"
    )
    assert response.json()["errors"][0]["field"] == "query_filter"
    assert await _batches(session) == []
    assert await redis.zcard(make_settings().arq_queue_name) == 0


@pytest.mark.parametrize(
    ("query_filter", "message"),
    [
        ({"key": "shoe_size", "op": "=", "exp": 3}, "'shoe_size' is not a property of debtor"),
        ({"key": "name", "op": "LIKE", "exp": "x"}, "unknown op 'LIKE'"),
        ({"key": "person.shoe", "op": "=", "exp": 1}, "'shoe' is not a property of person"),
    ],
)
async def test_a_filter_on_an_unknown_key_or_op_is_a_422(
    client: httpx.AsyncClient, session: AsyncSession, query_filter: dict[str, Any], message: str
) -> None:
    response = await client.post(
        f"{PREFIX}/task/upsert-debtors-in-billecta",
        json={"integration_monitor_batch_title": "x", "query_filter": query_filter},
    )
    assert response.status_code == 422
    assert message in response.json()["error_message"]
    assert await _batches(session) == []


async def test_a_body_without_query_filter_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{PREFIX}/task/upsert-debtors-in-billecta", json={"integration_monitor_batch_title": "x"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query_filter"


async def test_the_task_name_titles_a_batch_sent_without_title(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    response = await client.post(
        f"{PREFIX}/task/upsert-debtors-in-billecta",
        json={"query_filter": {"key": "name", "op": "=?", "exp": "Debtor"}},
    )
    assert response.status_code == 200
    batch = await session.get(
        IntegrationMonitorBatch, response.json()["integration_monitor_batch_id"]
    )
    assert batch is not None and batch.title == "Upsert debtors in Billecta"
    assert batch.created_by is None


async def test_unknown_ids_among_known_ones_become_failed_logs(
    client: httpx.AsyncClient,
    session: AsyncSession,
    ctx: dict[str, Any],
    fake: FakeBillecta,
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    response = await client.post(
        f"{PREFIX}/task/upsert-debtors-in-billecta", json=_body([1001, 999])
    )
    assert response.status_code == 200
    batch_id = response.json()["integration_monitor_batch_id"]

    await run_batch(ctx, batch_id)

    batch, logs = await batch_and_logs(session, batch_id)
    assert logs[1001].status == "ok"
    assert (logs[999].status, logs[999].message) == ("error", "debtor 999 does not exist")
    assert (batch.status, batch.total, batch.done, batch.failed) == ("donewitherror", 2, 2, 1)
    assert len(fake.requests("POST", "/v1/debtors/debtor")) == 1


async def test_ten_thousand_objects_answer_at_once_with_one_batch_and_one_job(
    client: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis
) -> None:
    await session.execute(
        insert(Debtor),
        [{"id": 200_000 + n, "name": f"Bulk {n}", "custom": {}} for n in range(10_000)],
    )
    await session.flush()

    started = time.perf_counter()
    response = await client.post(
        f"{PREFIX}/task/upsert-debtors-in-billecta",
        json={
            "integration_monitor_batch_title": "Bulk",
            "query_filter": {"key": "name", "op": "=?", "exp": "Bulk"},
        },
    )
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert elapsed < 1.0, f"the request took {elapsed:.2f} s"
    batch = await session.get(
        IntegrationMonitorBatch, response.json()["integration_monitor_batch_id"]
    )
    assert batch is not None and len(batch.parameters["object_ids"]) == 10_000  # type: ignore[index]
    assert await session.scalar(select(func.count(IntegrationMonitorLog.id))) == 0
    assert await redis.zcard(make_settings().arq_queue_name) == 1


async def test_update_creditor_takes_a_creditor_id(
    client: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis
) -> None:
    await add_creditor(session, 1001, "cred-X")
    response = await client.post(
        f"{PREFIX}/task/update-creditor-in-billecta",
        json={
            "integration_monitor_batch_title": "Update creditor in Billecta",
            "creditor_id": 1001,
        },
    )
    assert response.status_code == 200
    batch = await session.get(
        IntegrationMonitorBatch, response.json()["integration_monitor_batch_id"]
    )
    assert batch is not None
    assert (batch.task, batch.parameters["object_ids"]) == ("update_creditor_in_billecta", [1001])  # type: ignore[index]


@pytest.mark.parametrize(
    ("creditor", "message"),
    [
        (None, "No creditor with id 1001"),
        ("missing-id", "Creditor 1001 (Creditor 1001) has no creditorpublicid"),
    ],
)
async def test_update_creditor_answers_404_for_unknown_or_unlinked_creditors(
    client: httpx.AsyncClient, session: AsyncSession, creditor: str | None, message: str
) -> None:
    if creditor is not None:
        await add_creditor(session, 1001, None)
    response = await client.post(
        f"{PREFIX}/task/update-creditor-in-billecta",
        json={"integration_monitor_batch_title": "x", "creditor_id": 1001},
    )
    # An object missing or lacking its Billecta id (DESIGN §3.3).
    assert response.status_code == 404
    assert message in response.json()["error_message"]
    assert await _batches(session) == []


async def test_task_endpoints_require_the_api_key(anon_client: httpx.AsyncClient) -> None:
    response = await anon_client.post(f"{PREFIX}/task/upsert-debtors-in-billecta", json=_body())
    assert response.status_code == 401


async def test_batches_with_their_logs_show_progress(
    client: httpx.AsyncClient, session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    for debtor_id in (1001, 1002):
        await add_debtor(session, debtor_id)
    response = await client.post(
        f"{PREFIX}/task/upsert-debtors-in-billecta", json=_body([1001, 1002])
    )
    batch_id = response.json()["integration_monitor_batch_id"]
    await run_batch(ctx, batch_id)
    shown = await client.get(f"{PREFIX}/integration-monitor/batches/{batch_id}")
    assert shown.json()["status"] == "ok"
    assert shown.json()["progress"] == 1.0
    assert shown.json()["total"] == 2
