"""The change feed: every committed write and delete is seen by a consumer that resumes from the
last number it saw, including transactions that commit out of order. Real commits throughout."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.lime.ingest import delete_object, upsert_object
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.main import create_app
from billecta_gateway.models import Invoice
from billecta_gateway.queue import AfterCommit
from tests.conftest import LIME_KEY, make_settings
from tests.lime.test_ingestion import OBJECTS, put

SCHEMA = LimeSchema()
SETTINGS = make_settings()


@pytest.fixture
async def feed_app(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(), configure_logs=False)
    async with application.router.lifespan_context(application):
        application.state.sessionmaker = committed_sessionmaker
        yield application


@pytest.fixture
async def client(feed_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=feed_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway.test", headers={"x-api-key": LIME_KEY}
    ) as c:
        yield c


async def feed(
    client: httpx.AsyncClient, changed_after: int, limetype: str = "debtor", limit: int = 100
) -> dict[str, Any]:
    response = await client.get(
        f"{OBJECTS}/{limetype}", params={"changed_after": changed_after, "limit": limit}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"objects", "deleted", "last_change_no"}
    return body


def entries(page: dict[str, Any]) -> list[tuple[int, int, str]]:
    """(change_no, id, kind) of every entry, in feed order."""
    rows = [(o["_change_no"], o["_id"], "write") for o in page["objects"]]
    rows += [(d["_change_no"], d["_id"], "delete") for d in page["deleted"]]
    return sorted(rows)


async def write(session: AsyncSession, object_id: int, **body: Any) -> int:
    result = await upsert_object(
        session,
        schema=SCHEMA,
        settings=SETTINGS,
        limetype="debtor",
        object_id=object_id,
        body=body,
        jobs=AfterCommit(),
    )
    return result.obj.change_no


async def xid(session: AsyncSession) -> int:
    return int(
        (await session.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar_one()
    )


async def test_writes_and_deletes_appear_in_order_with_tombstones(
    client: httpx.AsyncClient,
) -> None:
    empty = await feed(client, 0)
    assert empty == {"objects": [], "deleted": [], "last_change_no": 0}
    for object_id in (1, 2, 3):
        assert (await put(client, "debtor", object_id, name=f"D{object_id}")).status_code == 201
    await put(client, "debtor", 1, name="D1 renamed")
    assert (await client.delete(f"{OBJECTS}/debtor/2")).status_code == 204

    page = await feed(client, 0)
    assert [(i, kind) for _, i, kind in entries(page)] == [
        (3, "write"),
        (1, "write"),
        (2, "delete"),
    ]
    numbers = [n for n, _, _ in entries(page)]
    assert numbers == sorted(set(numbers))
    assert page["last_change_no"] == numbers[-1]
    assert page["objects"][1]["name"] == "D1 renamed"
    assert page["deleted"] == [{"_id": 2, "_limetype": "debtor", "_change_no": numbers[-1]}]

    rest = await feed(client, page["last_change_no"])
    assert rest == {"objects": [], "deleted": [], "last_change_no": page["last_change_no"]}
    # Another limetype's feed is separate.
    assert (await feed(client, 0, limetype="person"))["objects"] == []


async def test_a_page_never_splits_one_transaction(
    client: httpx.AsyncClient, committed_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    groups = [[1, 2], [3, 4, 5], [6, 7, 8, 9, 10]]
    for ids in groups:
        async with committed_sessionmaker() as s:
            for object_id in ids:
                await write(s, object_id, name=f"D{object_id}")
            await s.commit()

    first = await feed(client, 0, limit=3)
    assert [i for _, i, _ in entries(first)] == [1, 2]  # the second group would not fit whole
    second = await feed(client, first["last_change_no"], limit=3)
    assert [i for _, i, _ in entries(second)] == [3, 4, 5]
    third = await feed(client, second["last_change_no"], limit=3)
    # A group bigger than a page is answered whole.
    assert [i for _, i, _ in entries(third)] == [6, 7, 8, 9, 10]
    assert len({n for n, _, _ in entries(third)}) == 1
    assert (await feed(client, third["last_change_no"]))["objects"] == []


async def test_overlapping_transactions_committing_out_of_order_lose_nothing(
    client: httpx.AsyncClient, committed_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seen: list[tuple[int, int]] = []
    last = 0

    async def poll() -> dict[str, Any]:
        nonlocal last
        page = await feed(client, last)
        for change_no, object_id, _ in entries(page):
            assert change_no > last
            seen.append((object_id, change_no))
        last = page["last_change_no"]
        return page

    async with committed_sessionmaker() as a, committed_sessionmaker() as b:
        change_a = await write(a, 1, name="written by A")
        change_b = await write(b, 2, name="written by B")
        assert change_a == await xid(a) < change_b == await xid(b)
        await b.commit()

        # B is committed, but A (an older transaction) is still open: nothing past A is given.
        page = await poll()
        assert page == {"objects": [], "deleted": [], "last_change_no": 0}

        await a.commit()

    await poll()
    assert sorted(seen) == [(1, change_a), (2, change_b)]
    await poll()
    assert sorted(seen) == [(1, change_a), (2, change_b)]


async def test_an_open_transaction_holds_back_changes_committed_after_it_started(
    client: httpx.AsyncClient, committed_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with committed_sessionmaker() as early:
        await write(early, 1, name="early")
        async with committed_sessionmaker() as s:
            await write(s, 2, name="later")
            await s.commit()
        assert (await feed(client, 0))["objects"] == []
        await early.rollback()
    # The rolled-back write never appears; the committed one does.
    assert [o["_id"] for o in (await feed(client, 0))["objects"]] == [2]


async def test_the_feed_reports_the_lime_id_after_adoption(
    client: httpx.AsyncClient, committed_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with committed_sessionmaker() as s:
        gateway_id = int(
            (await s.execute(text("SELECT nextval('gateway_object_id_seq')"))).scalar_one()
        )
        s.add(Invoice(id=gateway_id, actionpublicid="act-1", invoice_amount=Decimal("10.00")))
        await s.commit()
    first = await feed(client, 0, limetype="invoice")
    assert [o["_id"] for o in first["objects"]] == [gateway_id]

    adopted = await put(client, "invoice", 9001, actionpublicid="act-1")
    assert adopted.status_code == 200, adopted.text
    after = await feed(client, first["last_change_no"], limetype="invoice")
    assert [o["_id"] for o in after["objects"]] == [9001]
    assert after["deleted"] == []
    everything = await feed(client, 0, limetype="invoice")
    assert [o["_id"] for o in everything["objects"]] == [9001]


@dataclass
class Ledger:
    """What the writers committed: per object, its last committed (change_no, state)."""

    committed: dict[int, tuple[int, str | None]] = field(default_factory=dict)


async def test_concurrent_writers_and_a_polling_consumer_lose_nothing(
    client: httpx.AsyncClient, committed_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rng = random.Random(20240314)
    writers, transactions = 8, 6
    ledger = Ledger()
    view: dict[int, tuple[int, str | None]] = {}
    done = asyncio.Event()
    last = 0

    async def writer(number: int) -> None:
        mine: list[int] = []
        for step in range(transactions):
            await asyncio.sleep(rng.random() * 0.02)
            async with committed_sessionmaker() as s:
                if mine and rng.random() < 0.3:
                    object_id = mine.pop(rng.randrange(len(mine)))
                    await delete_object(
                        s,
                        schema=SCHEMA,
                        settings=SETTINGS,
                        limetype="debtor",
                        object_id=object_id,
                        jobs=AfterCommit(),
                    )
                    change_no, state = await xid(s), None
                else:
                    reuse = mine and rng.random() < 0.3
                    object_id = rng.choice(mine) if reuse else number * 1000 + step + 1
                    state = f"w{number}-t{step}"
                    change_no = await write(s, object_id, name=state)
                    if not reuse:
                        mine.append(object_id)
                # Hold the transaction open so that commits happen out of xid order.
                await asyncio.sleep(rng.random() * 0.05)
                await s.commit()
                ledger.committed[object_id] = (change_no, state)

    async def consumer() -> None:
        nonlocal last
        while True:
            finished = done.is_set()
            page = await feed(client, last, limit=rng.choice([1, 3, 50]))
            for change_no, object_id, kind in entries(page):
                assert change_no > last, "the feed went back below a number already passed"
                if kind == "write":
                    obj = next(o for o in page["objects"] if o["_id"] == object_id)
                    view[object_id] = (change_no, obj["name"])
                else:
                    view[object_id] = (change_no, None)
            moved = page["last_change_no"] != last
            last = page["last_change_no"]
            if finished and not moved:
                return
            await asyncio.sleep(rng.random() * 0.01)

    consuming = asyncio.create_task(consumer())
    await asyncio.gather(*(writer(n) for n in range(1, writers + 1)))
    done.set()
    await consuming

    assert ledger.committed
    assert view == ledger.committed
