"""Lime's value shapes wherever Lime data enters: the public PUT API and Lime-sourced data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.apply import apply_values, rest_timestamp
from billecta_gateway.limecrm.shapes import unmirrored_seen
from billecta_gateway.models import Company, Debtor, Order
from billecta_gateway.queue import AfterCommit

OBJECTS = "/limepkg-billecta-integration/limeobjects"
REST_DEBTOR = Path(__file__).resolve().parent.parent / "limecrm" / "fixtures" / "rest_debtor.json"


async def test_put_accepts_option_objects_empty_keys_and_date_times(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await client.put(f"{OBJECTS}/creditor/3", json={"name": "Creditor AB"})
    debtor = await client.put(
        f"{OBJECTS}/debtor/1001",
        json={
            "name": "Acme",
            "debtortype": {"id": 108001, "key": "company", "text": "Företag"},
            "language": "empty",
            "deliverymethod": "",
            "_descriptive": "Acme",
            "_links": {"self": {"href": "https://lime.test/x/"}},
        },
    )
    assert debtor.status_code == 201, debtor.text
    stored = await session.get(Debtor, 1001, populate_existing=True)
    assert stored is not None
    assert (stored.debtortype, stored.language, stored.deliverymethod) == ("company", None, None)

    order = await client.put(
        f"{OBJECTS}/order/4001",
        json={
            "creditor": 3,
            "invoicedate": "2026-01-29T23:30:00+00:00",  # 00:30 on the 30th in Stockholm
            "duedate": "2026-02-28T00:00:00+01:00",
        },
    )
    assert order.status_code == 201, order.text
    row = await session.get(Order, 4001, populate_existing=True)
    assert row is not None
    assert (row.invoicedate, row.duedate) == (date(2026, 1, 30), date(2026, 2, 28))


async def test_put_still_refuses_undeclared_properties(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.put(f"{OBJECTS}/debtor/1001", json={"name": "Acme", "nmae": "typo"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["nmae"]
    assert await session.get(Debtor, 1001) is None


async def test_a_rest_read_is_applied_ignoring_meta_and_unmirrored_keys(
    session: AsyncSession, settings: Settings
) -> None:
    obj = json.loads(REST_DEBTOR.read_text(encoding="utf-8"))
    obj["segment"] = {"id": 1, "key": "gold", "text": "Gold"}  # a property the gateway lacks
    session.add(Company(id=1014, name="Region Norrbotten"))
    await session.flush()

    applied = await apply_values(
        session,
        schema=LimeSchema(),
        settings=settings,
        limetype="debtor",
        object_id=1014,
        values=obj,
        stamp=rest_timestamp(obj, settings),
        jobs=AfterCommit(),
    )

    assert applied.status == "applied" and applied.created
    debtor = await session.get(Debtor, 1014, populate_existing=True)
    assert debtor is not None
    assert (debtor.name, debtor.debtortype, debtor.company) == (
        "Region Norrbotten",
        "company",
        1014,
    )
    # Lime's "" is its empty text: null in the mirror.
    assert (debtor.email, debtor.address, debtor.city) == (None, None, "Luleå")
    assert ("debtor", "segment") in unmirrored_seen()


async def test_lime_sourced_gateway_owned_fields_are_ignored(
    session: AsyncSession, settings: Settings
) -> None:
    session.add(Debtor(id=1001, name="Acme"))
    await session.flush()
    await session.execute(
        Debtor.__table__.update()
        .where(Debtor.id == 1001)
        .values(billecta_error_message="Billecta said no")
    )
    applied = await apply_values(
        session,
        schema=LimeSchema(),
        settings=settings,
        limetype="debtor",
        object_id=1001,
        # Lime's stale copy of the gateway's error message must not erase it.
        values={"name": "Acme AB", "billecta_error_message": ""},
        stamp=None,
        jobs=AfterCommit(),
    )
    assert applied.changed == frozenset({"name"})
    debtor = await session.get(Debtor, 1001, populate_existing=True)
    assert debtor is not None and debtor.billecta_error_message == "Billecta said no"
