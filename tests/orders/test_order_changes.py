"""Changes to an order after its first upsert reach Billecta, and its status is the gateway's
once Billecta has the order (issue 16 items 2 and 3)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.models import IntegrationMonitorBatch, IntegrationMonitorLog, Order, OrderRow
from billecta_gateway.orders.tasks import ATTEST_ORDER, UPSERT_ORDER
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import TaskKind, start_task
from tests.conftest import make_settings
from tests.tasks.support import (
    FakeBillecta,
    add_article,
    add_creditor,
    add_debtor,
    add_order,
    run_batch,
    run_job,
)

OBJECTS = "/limepkg-billecta-integration/limeobjects"
Log = IntegrationMonitorLog


@pytest.fixture
def settings() -> Settings:
    return make_settings(sync_on_change="order,orderrow")


@pytest.fixture
async def base(session: AsyncSession) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    await add_article(session, 2001)


async def _run(session: AsyncSession, ctx: dict[str, Any], kind: TaskKind, ids: list[int]) -> int:
    batch_id = await start_task(
        session, kind=kind, title="t", created_by=None, object_ids=ids, jobs=AfterCommit()
    )
    await session.commit()
    await run_batch(ctx, batch_id)
    return batch_id


async def _order(session: AsyncSession, order_id: int = 3001) -> Order:
    order = await session.get(Order, order_id, populate_existing=True)
    assert order is not None
    return order


async def _on_change(session: AsyncSession) -> list[tuple[str, int, str]]:
    rows = await session.execute(
        select(IntegrationMonitorBatch.task, Log.object_id, Log.status)
        .join(IntegrationMonitorBatch, IntegrationMonitorBatch.id == Log.batch_id)
        .where(IntegrationMonitorBatch.title.like("%(on change)"))
        .order_by(Log.id)
    )
    return [(str(t), int(o or 0), str(s)) for t, o, s in rows]


def _records(fake: FakeBillecta) -> list[int]:
    """The number of invoice records each upsert of the action sent, in order."""
    return [
        len(sent.body["Records"])
        for sent in fake.sent
        if sent.path.startswith("/v1/invoice/action") and sent.method in ("POST", "PUT")
    ]


@pytest.mark.usefixtures("base")
async def test_a_row_added_after_the_first_upsert_upserts_the_draft_again(
    client: httpx.AsyncClient, session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    order = {"creditor": 1, "debtor": 1001}
    assert (await client.put(f"{OBJECTS}/order/3001", json=order)).is_success
    row = {"order": 3001, "article": 2001, "quantity": 1, "position": 1}
    assert (await client.put(f"{OBJECTS}/orderrow/300101", json=row)).is_success
    [(log_id, job)] = (
        await session.execute(select(Log.id, Log.task_id).where(Log.status == "pending"))
    ).all()
    assert await run_job(ctx, str(job).split(":", 1)[0], log_id, 3001) == "ok"
    assert (await _order(session)).orderstatus == "upserted"

    second = {"order": 3001, "article": 2001, "quantity": 2, "position": 2}
    response = await client.put(f"{OBJECTS}/orderrow/300102", json=second)

    assert response.is_success
    pending = await _on_change(session)
    assert pending[-1] == ("upsert_orders_in_billecta", 3001, "pending")
    log_id = int(await session.scalar(select(Log.id).where(Log.status == "pending")) or 0)
    assert await run_job(ctx, "upsert_order", log_id, 3001) == "ok"
    assert _records(fake) == [1, 2]


@pytest.mark.usefixtures("base")
async def test_a_deleted_row_and_a_changed_header_upsert_an_upserted_draft_again(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await add_order(
        session,
        3001,
        debtor=1001,
        rows=[{"article": 2001}, {"article": 2001}],
        orderstatus="upserted",
        actionpublicid="action-1",
    )

    assert (await client.delete(f"{OBJECTS}/orderrow/300102")).is_success
    assert await _on_change(session) == [("upsert_orders_in_billecta", 3001, "pending")]
    await session.execute(Log.__table__.update().values(status="ok"))
    assert (await client.put(f"{OBJECTS}/order/3001", json={"ourreference": "Nils"})).is_success
    assert [s for *_, s in await _on_change(session)] == ["ok", "pending"]


@pytest.mark.usefixtures("base")
async def test_attest_upserts_first_when_a_row_changed_since_the_last_upsert(
    client: httpx.AsyncClient, session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_order(session, 3001, debtor=1001, rows=[{"article": 2001}])
    await _run(session, ctx, UPSERT_ORDER, [3001])
    # The row's own re-upsert is queued but has not run: attest must not book the stale draft.
    row = {"order": 3001, "article": 2001, "quantity": 3, "position": 2}
    assert (await client.put(f"{OBJECTS}/orderrow/300102", json=row)).is_success

    await _run(session, ctx, ATTEST_ORDER, [3001])

    order = await _order(session)
    assert order.orderstatus == "attested"
    assert _records(fake) == [1, 2]
    assert fake.sent[-1].path == f"/v1/invoice/attest/{order.actionpublicid}"


@pytest.mark.usefixtures("base")
async def test_attest_of_an_unchanged_draft_sends_only_the_attest(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_order(session, 3001, debtor=1001, rows=[{"article": 2001}])
    await _run(session, ctx, UPSERT_ORDER, [3001])
    sent = len(fake.sent)

    await _run(session, ctx, ATTEST_ORDER, [3001])

    assert [s.path for s in fake.sent[sent:]] == [
        f"/v1/invoice/attest/{(await _order(session)).actionpublicid}"
    ]


@pytest.mark.usefixtures("base")
async def test_orderstatus_is_the_gateways_once_the_order_is_in_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await add_order(session, 3001, debtor=1001, rows=[], orderstatus="attested")
    await add_order(
        session, 3002, debtor=1001, rows=[], orderstatus="attested", actionpublicid="action-2"
    )

    # Not in Billecta yet: Lime still sets it.
    before = await client.put(f"{OBJECTS}/order/3001", json={"orderstatus": "created"})
    # In Billecta: an echo may repeat it, never roll it back.
    echo = await client.put(f"{OBJECTS}/order/3002", json={"orderstatus": "attested"})
    rollback = await client.put(f"{OBJECTS}/order/3002", json={"orderstatus": "created"})

    assert (before.status_code, echo.status_code, rollback.status_code) == (200, 200, 422)
    assert rollback.json()["errors"][0]["field"] == "orderstatus"
    assert (await _order(session, 3002)).orderstatus == "attested"
    # The row-delete guard still holds for the attested order.
    await session.execute(
        OrderRow.__table__.insert().values(id=300201, order=3002, rowtype="standard")
    )
    assert (await client.delete(f"{OBJECTS}/orderrow/300201")).status_code == 409
