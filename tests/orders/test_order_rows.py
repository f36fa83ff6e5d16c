"""`/add-message-to-orderrow/` and the order and order-row decorators."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.models import (
    GATEWAY_ID_START,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    OrderRow,
)
from tests.conftest import make_settings
from tests.tasks.support import add_article, add_creditor, add_debtor, add_order

PREFIX = "/limepkg-billecta-integration"
OBJECTS = f"{PREFIX}/limeobjects"


@pytest.fixture
def settings() -> Settings:
    return make_settings(sync_on_change="order,orderrow")


async def _seed(session: AsyncSession, order_id: int = 3001, rows: int = 3, **order: str) -> None:
    await add_order(
        session,
        order_id,
        debtor=1001,
        rows=[{"article": 2001, "quantity": Decimal(n)} for n in range(1, rows + 1)],
        **order,
    )


@pytest.fixture
async def base(session: AsyncSession) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    await add_article(session, 2001)


async def _positions(session: AsyncSession, order_id: int = 3001) -> list[tuple[int, int, str]]:
    rows = await session.execute(
        select(OrderRow.id, OrderRow.position, OrderRow.rowtype)
        .where(OrderRow.order == order_id)
        .order_by(OrderRow.position)
        .execution_options(populate_existing=True)
    )
    return [(int(i), int(p or 0), str(t)) for i, p, t in rows]


async def _on_change(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(IntegrationMonitorBatch.task, IntegrationMonitorLog.object_id)
        .join(IntegrationMonitorBatch, IntegrationMonitorBatch.id == IntegrationMonitorLog.batch_id)
        .order_by(IntegrationMonitorLog.id)
    )
    return [(str(t), int(o or 0)) for t, o in rows]


@pytest.mark.usefixtures("base")
async def test_a_message_row_goes_right_after_its_row_and_the_rest_move_down(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed(session, orderstatus="upserted")

    response = await client.post(
        f"{PREFIX}/add-message-to-orderrow/",
        json={"orderrow_id": 300101, "orderrow_description": "Special handling required"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    new_id = body["orderrow_id"]
    assert new_id >= GATEWAY_ID_START
    assert body == {"status": "success", "orderrow_id": new_id, "position": 2}
    assert await _positions(session) == [
        (300101, 1, "standard"),
        (new_id, 2, "message"),
        (300102, 3, "standard"),
        (300103, 4, "standard"),
    ]
    row = await session.get(OrderRow, new_id)
    assert row is not None and row.description == "Special handling required"


@pytest.mark.usefixtures("base")
async def test_rows_without_positions_are_numbered_first(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed(session, orderstatus="upserted")
    for row in (await session.scalars(select(OrderRow))).all():
        row.position = None
    await session.flush()

    response = await client.post(
        f"{PREFIX}/add-message-to-orderrow",
        json={"orderrow_id": 300102, "orderrow_description": "Note"},
    )

    assert response.status_code == 200
    new_id = response.json()["orderrow_id"]
    assert [(i, p) for i, p, _ in await _positions(session)] == [
        (300101, 1),
        (300102, 2),
        (new_id, 3),
        (300103, 4),
    ]


@pytest.mark.usefixtures("base")
@pytest.mark.parametrize(
    ("orderrow_id", "status", "code", "message"),
    [
        (999, "created", 404, "Order row 999 not found"),
        (300101, "attested", 409, "Order 3001 has status 'attested': its rows cannot be changed"),
    ],
)
async def test_add_message_refuses_unknown_rows_and_locked_orders(
    client: httpx.AsyncClient,
    session: AsyncSession,
    orderrow_id: int,
    status: str,
    code: int,
    message: str,
) -> None:
    await _seed(session, orderstatus=status)
    response = await client.post(
        f"{PREFIX}/add-message-to-orderrow/",
        json={"orderrow_id": orderrow_id, "orderrow_description": "x"},
    )
    assert response.status_code == code
    assert response.json() == {"error_message": message}
    assert len(await _positions(session)) == 3


async def test_add_message_validates_its_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{PREFIX}/add-message-to-orderrow/", json={"orderrow_id": 1, "orderrow_description": ""}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "orderrow_description"


@pytest.mark.usefixtures("base")
async def test_a_message_on_a_created_order_resyncs_it_when_orderrow_syncs_on_change(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed(session)
    await client.post(
        f"{PREFIX}/add-message-to-orderrow/",
        json={"orderrow_id": 300101, "orderrow_description": "Note"},
    )
    assert await _on_change(session) == [("upsert_orders_in_billecta", 3001)]


@pytest.mark.usefixtures("base")
async def test_a_changed_row_resyncs_its_order_by_status(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed(session, 3001, orderstatus="created")
    await _seed(session, 3002, orderstatus="errorattest")
    await _seed(session, 3003, orderstatus="upserted")
    await _seed(session, 3004, orderstatus="attested")

    for order_id in (3001, 3002, 3003, 3004):
        response = await client.put(
            f"{OBJECTS}/orderrow/{order_id * 100 + 1}", json={"quantity": 5}
        )
        assert response.status_code == 200

    # errorattest is upserted and attested again; an upserted draft is upserted again (a
    # deliberate extension of the spec); attested orders are left alone.
    assert await _on_change(session) == [
        ("upsert_orders_in_billecta", 3001),
        ("upsert_attest_orders_in_billecta", 3002),
        ("upsert_orders_in_billecta", 3003),
    ]


@pytest.mark.usefixtures("base")
async def test_a_row_moved_to_another_order_resyncs_both(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed(session, 3001, orderstatus="errorupsert")
    await _seed(session, 3002)
    response = await client.put(f"{OBJECTS}/orderrow/300101", json={"order": 3002})
    assert response.status_code == 200
    assert sorted(await _on_change(session)) == [
        ("upsert_orders_in_billecta", 3001),
        ("upsert_orders_in_billecta", 3002),
    ]


@pytest.mark.usefixtures("base")
async def test_a_row_written_unchanged_pushes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed(session)
    response = await client.put(f"{OBJECTS}/orderrow/300101", json={"quantity": 1})
    assert response.status_code == 200
    assert await _on_change(session) == []


@pytest.mark.usefixtures("base")
async def test_a_new_order_with_rows_is_created_in_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    empty = await client.put(f"{OBJECTS}/order/3009", json={"creditor": 1, "debtor": 1001})
    assert empty.status_code == 201
    assert await _on_change(session) == []
    row = await client.put(
        f"{OBJECTS}/orderrow/300901", json={"order": 3009, "article": 2001, "quantity": 1}
    )
    assert row.status_code == 201
    assert await _on_change(session) == [("upsert_orders_in_billecta", 3009)]


@pytest.mark.usefixtures("base")
async def test_the_row_delete_guard_is_always_on(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed(session, orderstatus="processing")
    response = await client.delete(f"{OBJECTS}/orderrow/300101")
    assert response.status_code == 409
