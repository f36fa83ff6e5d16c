"""Upsert & attest orders end to end: API, real arq worker, committed data, fake Billecta."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.models import CreditorArticle, CreditorDebtor, Order
from tests.tasks.support import (
    FakeBillecta,
    add_article,
    add_creditor,
    add_debtor,
    add_order,
    batch_and_logs,
    drain_worker,
)

pytestmark = pytest.mark.worker
PREFIX = "/limepkg-billecta-integration"


async def test_upsert_and_attest_orders_on_a_real_worker(
    committed_client: httpx.AsyncClient,
    committed_sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    fake: FakeBillecta,
) -> None:
    async with committed_sessionmaker() as session:
        await add_creditor(session)
        await add_debtor(session, 1001)
        await add_article(session, 2001)
        for order_id in (3001, 3002):
            await add_order(
                session, order_id, debtor=1001, rows=[{"article": 2001, "quantity": Decimal(2)}]
            )
        await session.commit()

    response = await committed_client.post(
        f"{PREFIX}/task/upsert-attest-orders-in-billecta",
        json={
            "integration_monitor_batch_title": "Upsert & attest orders in Billecta",
            "query_filter": {"key": "_id", "op": "IN", "exp": [3001, 3002]},
        },
    )
    assert response.status_code == 200
    batch_id = response.json()["integration_monitor_batch_id"]

    worker = await drain_worker()

    assert worker.jobs_failed == 0
    # One debtor and one product for the two orders, one action and one attest per order.
    assert len(fake.requests("POST", "/v1/debtors/debtor")) == 1
    assert len(fake.requests("POST", "/v1/products/product")) == 1
    creates = fake.requests("POST", "/v1/invoice/action")
    assert sorted(c.body["ExternalReference"] for c in creates) == ["order-3001", "order-3002"]
    attests = [s.path for s in fake.requests("PUT") if s.path.startswith("/v1/invoice/attest/")]
    assert sorted(attests) == sorted(f"/v1/invoice/attest/{a}" for a in fake.actions)
    async with committed_sessionmaker() as session:
        batch, _ = await batch_and_logs(session, batch_id)
        orders = [await session.get(Order, i) for i in (3001, 3002)]
        relation = await session.get(CreditorDebtor, 10010)
        article_relation = await session.get(CreditorArticle, 20010)
    assert (batch.status, batch.done) == ("ok", 2)
    assert [o.orderstatus for o in orders if o] == ["attested", "attested"]
    assert relation is not None and relation.debtorpublicid in fake.debtors
    assert article_relation is not None and article_relation.articlepublicid in fake.products
