"""Object ingestion: PUT (create, merge, typed values, gateway-owned fields, adoption), DELETE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.errors import Conflict
from billecta_gateway.lime.hooks import DeleteContext, ObjectHooks, UpsertContext, hooks
from billecta_gateway.lime.ingest import delete_object, upsert_object
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.main import create_app
from billecta_gateway.models import (
    GATEWAY_ID_START,
    Article,
    AuditRecord,
    Creditor,
    CreditorDebtor,
    Debtor,
    Invoice,
    ObjectAlias,
    Order,
    OrderRow,
    Payment,
    Tombstone,
)
from billecta_gateway.queue import AfterCommit
from tests.conftest import LIME_KEY, make_settings

PREFIX = "/limepkg-billecta-integration"
OBJECTS = f"{PREFIX}/limeobjects"


async def put(client: httpx.AsyncClient, limetype: str, id: int, **body: Any) -> httpx.Response:
    return await client.put(f"{OBJECTS}/{limetype}/{id}", json=body)


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def gateway_id(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT nextval('gateway_object_id_seq')")) or 0)


# --- create, update, merge, clear -------------------------------------------------------------


async def test_put_creates_then_merges_and_null_clears(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    created = await put(
        client, "debtor", 1001, name="Acme AB", city="Stockholm", debtortype="company"
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["_id"] == 1001
    assert body["_limetype"] == "debtor"
    assert body["name"] == "Acme AB"
    assert body["email"] is None
    assert body["anonymized"] is False
    assert isinstance(body["_change_no"], int)
    assert body["_timestamp"]

    updated = await put(client, "debtor", 1001, email="billing@acme.se")
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Acme AB"  # absent: kept
    assert updated.json()["email"] == "billing@acme.se"

    cleared = await put(client, "debtor", 1001, city=None)
    assert cleared.status_code == 200
    row = await session.get(Debtor, 1001, populate_existing=True)
    assert row is not None
    assert (row.name, row.email, row.city, row.debtortype) == (
        "Acme AB",
        "billing@acme.se",
        None,
        "company",
    )
    assert await count(session, Debtor) == 1


async def test_put_of_identical_values_writes_nothing(client: httpx.AsyncClient) -> None:
    first = await put(client, "debtor", 1002, name="Echo", city="Lund")
    again = await put(client, "debtor", 1002, name="Echo", city="Lund", _timestamp="x")
    assert again.status_code == 200
    assert again.json()["_change_no"] == first.json()["_change_no"]
    assert again.json()["_timestamp"] == first.json()["_timestamp"]


async def test_put_accepts_matching_meta_keys(client: httpx.AsyncClient) -> None:
    response = await put(
        client, "debtor", 1003, _id=1003, _limetype="debtor", _timestamp="2024-01-01", name="M"
    )
    assert response.status_code == 201, response.text


async def test_typed_values_are_stored_typed_and_answered_as_json(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    assert (await put(client, "creditor", 1, name="Creditor AB")).status_code == 201
    assert (await put(client, "debtor", 10, name="D")).status_code == 201
    article = await put(
        client,
        "article",
        20,
        name="Consulting",
        unitprice="1150.50",
        vat=25,
        isactive=False,
        articletype="package",
    )
    assert article.status_code == 201, article.text
    assert article.json()["unitprice"] == 1150.5
    assert article.json()["vat"] == 25
    assert article.json()["isactive"] is False
    order = await put(
        client,
        "order",
        30,
        creditor=1,
        debtor="10",
        invoicedate="2024-03-01",
        duedate="2024-03-31",
        deliverymethod="email",
        currency="SEK",
    )
    assert order.status_code == 201, order.text
    assert order.json()["invoicedate"] == "2024-03-01"
    assert order.json()["debtor"] == 10
    assert order.json()["orderstatus"] == "created"  # the column default
    row = await put(
        client,
        "orderrow",
        40,
        order=30,
        article=20,
        quantity=1.25,
        unitprice=99.9,
        discount="0",
        period_start="2024-03-01",
    )
    assert row.status_code == 201, row.text
    assert row.json()["quantity"] == 1.25
    assert row.json()["unitprice"] == 99.9
    assert row.json()["discount"] == 0

    stored_article = await session.get(Article, 20)
    stored_row = await session.get(OrderRow, 40)
    assert stored_article is not None and stored_row is not None
    assert stored_article.unitprice == Decimal("1150.50")
    assert stored_article.articletype == "package"
    assert stored_article.isactive is False
    assert stored_row.quantity == Decimal("1.25")
    assert stored_row.period_start == date(2024, 3, 1)


# --- 422: nothing written ---------------------------------------------------------------------


async def test_undeclared_property_is_422_and_nothing_is_written(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await put(client, "debtor", 1001, name="Acme", nickname="ac")
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == [
        {
            "loc": ["body", "nickname"],
            "field": "nickname",
            "message": "'nickname' is not a property of debtor",
            "type": "unknown_property",
        }
    ]
    assert "nickname" in body["error_message"]
    assert (await client.get(f"{OBJECTS}/debtor/1001")).status_code == 404
    assert await count(session, Debtor) == 0


async def test_every_bad_property_is_reported_and_an_update_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await put(client, "debtor", 1001, name="Before", city="Malmö")
    response = await put(
        client,
        "debtor",
        1001,
        name=5,
        anonymized="yes",
        debtortype="alien",
        city="After",
        person=424242,
        _secret=1,
        countrycode="SWE",
    )
    assert response.status_code == 422
    fields = {e["field"]: e["type"] for e in response.json()["errors"]}
    assert fields == {
        "name": "invalid_value",
        "anonymized": "invalid_value",
        "debtortype": "invalid_value",
        "person": "unknown_relation",
        "_secret": "reserved",
        "countrycode": "invalid_value",
    }
    for error in response.json()["errors"]:
        assert error["loc"] == ["body", error["field"]]
    row = await session.get(Debtor, 1001, populate_existing=True)
    assert row is not None and (row.name, row.city) == ("Before", "Malmö")


async def test_unknown_related_id_is_422_and_nothing_written(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await put(client, "order", 5, debtor=777, currency="SEK")
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "debtor 777 does not exist"
    assert await count(session, Order) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"_id": 2}, "_id"),
        ({"_id": True}, "_id"),
        ({"_limetype": "person"}, "_limetype"),
        ({"name": "x" * 256}, "name"),
        ({"name": "nul\x00byte"}, "name"),
        ({"custom": {"a": 1}}, "custom"),
        ({"change_no": 5}, "change_no"),
    ],
)
async def test_bad_keys_and_values_are_422(
    client: httpx.AsyncClient, session: AsyncSession, body: dict[str, Any], field: str
) -> None:
    response = await client.put(f"{OBJECTS}/debtor/1", json=body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await count(session, Debtor) == 0


async def test_decimal_beyond_the_column_is_422(client: httpx.AsyncClient) -> None:
    response = await put(client, "article", 1, vat="123456.5")
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "out of range"


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"NaN", b'{"vat": NaN}'])
async def test_a_body_that_is_not_a_json_object_is_422(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.put(
        f"{OBJECTS}/debtor/1", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body"]


@pytest.mark.parametrize("id", [0, -1, 2**53, 10**20])
async def test_id_out_of_range_is_422(client: httpx.AsyncClient, id: int) -> None:
    assert (await put(client, "debtor", id, name="x")).status_code == 422


async def test_gateway_id_range_cannot_be_created_by_lime(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await put(client, "debtor", GATEWAY_ID_START + 5, name="x")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "id"]
    assert await count(session, Debtor) == 0


async def test_unknown_limetype_is_404(client: httpx.AsyncClient) -> None:
    for response in (
        await put(client, "spaceship", 1, name="x"),
        await client.get(f"{OBJECTS}/spaceship/1"),
        await client.get(f"{OBJECTS}/spaceship"),
        await client.delete(f"{OBJECTS}/spaceship/1"),
    ):
        assert response.status_code == 404
        assert response.json() == {"error_message": "Unknown limetype 'spaceship'"}


# --- gateway-owned properties -----------------------------------------------------------------


async def _creditordebtor(client: httpx.AsyncClient, session: AsyncSession) -> CreditorDebtor:
    await put(client, "creditor", 1, name="C")
    await put(client, "debtor", 2, name="D")
    assert (await put(client, "creditordebtor", 3, creditor=1, debtor=2)).status_code == 201
    row = await session.get(CreditorDebtor, 3)
    assert row is not None
    row.debtorpublicid = "b1d3-debtor"  # what the debtor sync records
    await session.commit()
    return row


async def test_changed_debtorpublicid_is_422_and_nothing_written(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _creditordebtor(client, session)
    response = await put(
        client, "creditordebtor", 3, debtorpublicid="other-id", autogiro_active=False
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "debtorpublicid"
    assert error["type"] == "gateway_owned"
    assert "owned by the gateway because Billecta sets it" in error["message"]
    row = await session.get(CreditorDebtor, 3, populate_existing=True)
    assert row is not None and row.debtorpublicid == "b1d3-debtor"


async def test_gateway_owned_value_may_be_repeated_or_omitted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _creditordebtor(client, session)
    repeated = await put(client, "creditordebtor", 3, debtorpublicid="b1d3-debtor", creditor=1)
    assert repeated.status_code == 200, repeated.text
    omitted = await put(client, "creditordebtor", 3, debtor=2)
    assert omitted.status_code == 200
    assert omitted.json()["debtorpublicid"] == "b1d3-debtor"
    cleared = await put(client, "creditordebtor", 3, debtorpublicid=None)
    assert cleared.status_code == 422


async def test_gateway_owned_properties_cannot_be_set_on_create(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await put(client, "debtor", 1, name="D", billecta_error_message="boom")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "billecta_error_message"
    # Repeating the default of an owned property is not setting it.
    ok = await put(client, "debtor", 1, name="D", billecta_error_message=None)
    assert ok.status_code == 201


async def test_creditorpublicid_is_owned_once_set(client: httpx.AsyncClient) -> None:
    created = await put(client, "creditor", 1, name="C", creditorpublicid="cred-1")
    assert created.status_code == 201, created.text
    assert (await put(client, "creditor", 1, creditorpublicid="cred-1")).status_code == 200
    changed = await put(client, "creditor", 1, creditorpublicid="cred-2")
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "creditorpublicid"
    await put(client, "creditor", 2, name="Unlinked")
    assert (await put(client, "creditor", 2, creditorpublicid="cred-3")).status_code == 200


async def test_a_unique_value_taken_by_another_object_is_409(client: httpx.AsyncClient) -> None:
    await put(client, "creditor", 1, name="C", creditorpublicid="cred-1")
    response = await put(client, "creditor", 2, name="C2", creditorpublicid="cred-1")
    assert response.status_code == 409
    assert "creditor 2 conflicts with another creditor" in response.json()["error_message"]


# --- adoption ---------------------------------------------------------------------------------


async def _gateway_invoice(session: AsyncSession, actionpublicid: str, **values: Any) -> int:
    invoice_id = await gateway_id(session)
    session.add(
        Invoice(
            id=invoice_id,
            actionpublicid=actionpublicid,
            invoicestatus="sent",
            invoice_amount=Decimal("1250.00"),
            **values,
        )
    )
    await session.flush()
    return invoice_id


async def test_adoption_rekeys_the_gateway_invoice_and_keeps_the_old_id_as_alias(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    old_id = await _gateway_invoice(session, "act-1")
    payment_id = await gateway_id(session)
    session.add(Payment(id=payment_id, invoice=old_id, paymentreferenceid="pay-1", amount=100))
    await session.commit()
    assert old_id >= GATEWAY_ID_START

    response = await put(
        client,
        "invoice",
        9001,
        _id=9001,
        actionpublicid="act-1",
        invoicestatus="sent",
        period_start="2024-03-01",
    )
    assert response.status_code == 200, response.text
    assert response.json()["_id"] == 9001
    assert response.json()["invoice_amount"] == 1250
    assert response.json()["period_start"] == "2024-03-01"

    session.expunge_all()
    invoices = (await session.scalars(select(Invoice))).all()
    assert [(i.id, i.actionpublicid) for i in invoices] == [(9001, "act-1")]
    payment = await session.get(Payment, payment_id)
    assert payment is not None and payment.invoice == 9001
    alias = await session.get(ObjectAlias, ("invoice", old_id))
    assert alias is not None and alias.target_id == 9001

    by_old = await client.get(f"{OBJECTS}/invoice/{old_id}")
    assert by_old.status_code == 200
    assert by_old.json()["_id"] == 9001
    via_alias = await put(client, "invoice", old_id, period_end="2024-03-31")
    assert via_alias.status_code == 200
    assert via_alias.json()["_id"] == 9001
    assert await count(session, Invoice) == 1

    # A relation given as the old id follows the alias.
    relinked = await put(client, "payment", payment_id, invoice=old_id)
    assert relinked.status_code == 200, relinked.text
    assert relinked.json()["invoice"] == 9001

    # The Billecta id now belongs to 9001: another Lime id cannot take it.
    twin = await put(client, "invoice", 9002, actionpublicid="act-1")
    assert twin.status_code == 409
    assert await count(session, Invoice) == 1


async def test_adopting_into_an_existing_lime_object_with_another_billecta_id_is_409(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _gateway_invoice(session, "act-1")
    other = await _gateway_invoice(session, "act-2")
    await session.commit()
    assert (await put(client, "invoice", 9001, actionpublicid="act-1")).status_code == 200
    response = await put(client, "invoice", 9001, actionpublicid="act-2")
    assert response.status_code == 409
    assert str(other) in response.json()["error_message"]
    assert await count(session, Invoice) == 2


async def test_adoption_with_a_changed_gateway_field_is_422_and_nothing_moves(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    old_id = await _gateway_invoice(session, "act-1")
    await session.commit()
    response = await put(client, "invoice", 9001, actionpublicid="act-1", invoicestatus="paid")
    assert response.status_code == 422
    session.expunge_all()
    assert [i.id for i in (await session.scalars(select(Invoice))).all()] == [old_id]
    assert await count(session, ObjectAlias) == 0


async def test_payment_is_adopted_by_reference_and_action(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    invoice_id = await _gateway_invoice(session, "act-1")
    first, second = await gateway_id(session), await gateway_id(session)
    session.add_all(
        [
            Payment(
                id=first, invoice=invoice_id, paymentreferenceid="pay-1", actionpublicid="act-1"
            ),
            Payment(id=second, paymentreferenceid="pay-1", actionpublicid="act-credit"),
        ]
    )
    await session.commit()
    ambiguous = await put(client, "payment", 501, paymentreferenceid="pay-1")
    assert ambiguous.status_code == 422
    adopted = await put(
        client, "payment", 501, paymentreferenceid="pay-1", actionpublicid="act-credit"
    )
    assert adopted.status_code == 200, adopted.text
    session.expunge_all()
    ids = sorted(p.id for p in (await session.scalars(select(Payment))).all())
    assert ids == [501, first]


async def test_invoice_created_by_lime_with_an_unknown_billecta_id_is_kept(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await put(client, "invoice", 9005, actionpublicid="act-new")
    assert response.status_code == 201
    assert response.json()["actionpublicid"] == "act-new"


# --- delete -----------------------------------------------------------------------------------


async def test_delete_answers_204_writes_a_tombstone_then_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await put(client, "debtor", 1001, name="Gone")
    response = await client.delete(f"{OBJECTS}/debtor/1001")
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"{OBJECTS}/debtor/1001")).status_code == 404
    tombstone = await session.get(Tombstone, ("debtor", 1001))
    assert tombstone is not None
    again = await client.delete(f"{OBJECTS}/debtor/1001")
    assert again.status_code == 404
    assert again.json() == {"error_message": "debtor 1001 not found"}
    # Re-creating the id removes its tombstone.
    await put(client, "debtor", 1001, name="Back")
    session.expunge_all()
    assert await session.get(Tombstone, ("debtor", 1001)) is None


async def test_deleting_a_referenced_object_is_409_naming_the_referrer(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await put(client, "creditor", 1, name="C")
    await put(client, "debtor", 2, name="D")
    await put(client, "creditordebtor", 3, creditor=1, debtor=2)
    response = await client.delete(f"{OBJECTS}/debtor/2")
    assert response.status_code == 409
    assert response.json() == {
        "error_message": "debtor 2 is still referenced by creditordebtor 3 (debtor) "
        "and cannot be deleted"
    }
    assert await session.get(Debtor, 2) is not None
    assert (await client.delete(f"{OBJECTS}/creditordebtor/3")).status_code == 204
    assert (await client.delete(f"{OBJECTS}/debtor/2")).status_code == 204


@pytest.mark.parametrize("status", ["processing", "attested", "credited", "cancelled"])
async def test_orderrow_of_a_locked_order_cannot_be_deleted(
    client: httpx.AsyncClient, session: AsyncSession, status: str
) -> None:
    await put(client, "order", 7, currency="SEK")
    await put(client, "orderrow", 5, order=7, description="Row")
    order = await session.get(Order, 7)
    assert order is not None
    order.orderstatus = status
    await session.commit()
    response = await client.delete(f"{OBJECTS}/orderrow/5")
    assert response.status_code == 409
    assert response.json() == {
        "error_message": f"Order row 5 belongs to order 7 with status '{status}' "
        "and cannot be deleted"
    }
    assert await session.get(OrderRow, 5) is not None


@pytest.mark.parametrize("status", ["created", "errorupsert", "completed"])
async def test_orderrow_of_an_open_order_can_be_deleted(
    client: httpx.AsyncClient, session: AsyncSession, status: str
) -> None:
    await put(client, "order", 7, currency="SEK", orderstatus=status)
    await put(client, "orderrow", 5, order=7)
    assert (await client.delete(f"{OBJECTS}/orderrow/5")).status_code == 204


async def test_delete_by_an_adopted_id_deletes_the_adopted_object(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    old_id = await _gateway_invoice(session, "act-1")
    await session.commit()
    await put(client, "invoice", 9001, actionpublicid="act-1")
    assert (await client.delete(f"{OBJECTS}/invoice/{old_id}")).status_code == 204
    assert await count(session, Invoice) == 0
    assert await count(session, ObjectAlias) == 0


# --- auth and audit ---------------------------------------------------------------------------


async def test_every_route_needs_the_api_key(anon_client: httpx.AsyncClient) -> None:
    for response in (
        await anon_client.put(f"{OBJECTS}/debtor/1", json={"name": "x"}),
        await anon_client.get(f"{OBJECTS}/debtor/1"),
        await anon_client.get(f"{OBJECTS}/debtor"),
        await anon_client.delete(f"{OBJECTS}/debtor/1"),
    ):
        assert response.status_code == 401
        assert "error_message" in response.json()


async def test_put_is_audited_with_the_object(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await client.put(f"{OBJECTS}/debtor/1001", json={"name": "A"}, headers={"x-lime-user": "anna"})
    record = (await session.scalars(select(AuditRecord))).one()
    assert (record.limetype, record.object_id, record.actor, record.status_code) == (
        "debtor",
        1001,
        "anna",
        201,
    )


# --- custom properties ------------------------------------------------------------------------


@pytest.fixture
async def custom_client(
    tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    schema_file = tmp_path / "lime_schema.toml"
    schema_file.write_text(
        "[debtor.custom]\n"
        'invoice_reference = "string"\n'
        'credit_limit = "decimal"\n'
        'customer_since = "date"\n'
        'vip = "boolean"\n'
        'tier = { type = "option", options = ["gold", "silver"] }\n',
        encoding="utf-8",
    )
    application = create_app(make_settings(lime_schema_file=schema_file), configure_logs=False)
    async with application.router.lifespan_context(application):
        application.state.sessionmaker = sessionmaker
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test", headers={"x-api-key": LIME_KEY}
        ) as c:
            yield c


async def test_custom_properties_are_typed_merged_and_removed_by_null(
    custom_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    created = await put(
        custom_client,
        "debtor",
        1001,
        name="A",
        invoice_reference="PO-17",
        credit_limit="5000.50",
        customer_since="2020-02-29",
        vip=True,
        tier="gold",
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["invoice_reference"], body["credit_limit"], body["customer_since"]) == (
        "PO-17",
        5000.5,
        "2020-02-29",
    )
    assert (body["vip"], body["tier"]) == (True, "gold")

    merged = await put(custom_client, "debtor", 1001, tier=None, credit_limit=7000)
    assert merged.status_code == 200
    assert merged.json()["tier"] is None
    assert merged.json()["invoice_reference"] == "PO-17"
    row = await session.get(Debtor, 1001, populate_existing=True)
    assert row is not None
    assert row.custom == {
        "invoice_reference": "PO-17",
        "credit_limit": "7000",
        "customer_since": "2020-02-29",
        "vip": True,
    }

    bad = await put(
        custom_client, "debtor", 1001, tier="bronze", vip="yes", customer_since="2020-02-30"
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"tier", "vip", "customer_since"}
    row = await session.get(Debtor, 1001, populate_existing=True)
    assert row is not None and row.custom["vip"] is True

    listed = await custom_client.get(
        f"{OBJECTS}/debtor", params={"q": '{"key": "invoice_reference", "op": "=", "exp": "PO-17"}'}
    )
    assert [o["_id"] for o in listed.json()["objects"]] == [1001]


async def test_custom_property_not_declared_for_the_limetype_is_422(
    custom_client: httpx.AsyncClient,
) -> None:
    response = await put(custom_client, "company", 1, invoice_reference="PO-1")
    assert response.status_code == 422


# --- hooks ------------------------------------------------------------------------------------


async def test_after_upsert_hooks_run_only_for_sync_on_change_limetypes(
    session: AsyncSession,
) -> None:
    registry = ObjectHooks()
    seen: list[UpsertContext] = []

    @registry.after_upsert("orderrow")
    async def record(ctx: UpsertContext) -> None:
        assert isinstance(ctx.obj, OrderRow)
        seen.append(ctx)
        ctx.jobs.add("upsert_order", ctx.obj.order, job_id=f"order:{ctx.obj.order}")

    schema = LimeSchema()
    jobs = AfterCommit()
    off = make_settings()
    on = make_settings(sync_on_change="orderrow,debtor")
    for order_id in (7, 8):
        session.add(Order(id=order_id))
    await session.flush()

    async def upsert(settings: Any, limetype: str, id: int, body: dict[str, Any]) -> None:
        await upsert_object(
            session,
            schema=schema,
            settings=settings,
            limetype=limetype,
            object_id=id,
            body=body,
            jobs=jobs,
            registry=registry,
        )

    await upsert(off, "orderrow", 5, {"order": 7})
    assert seen == []
    await upsert(on, "orderrow", 6, {"order": 7, "description": "Row", "quantity": None})
    assert seen[-1].created is True
    assert seen[-1].changed == {"order", "description"}
    assert seen[-1].previous == {"order": None, "description": None}
    await upsert(on, "orderrow", 6, {"order": 8, "description": "Row"})
    assert seen[-1].created is False
    assert seen[-1].changed == {"order"}
    assert seen[-1].previous == {"order": 7}
    await upsert(on, "orderrow", 6, {"order": 8})
    assert seen[-1].changed == frozenset()
    await upsert(on, "debtor", 1, {"name": "no hook for debtor"})
    assert len(seen) == 3
    assert [job.args for job in jobs.jobs] == [(7,), (8,), (8,)]


async def test_route_enqueues_hook_jobs_after_commit(
    client: httpx.AsyncClient, redis: ArqRedis, monkeypatch: pytest.MonkeyPatch, app: FastAPI
) -> None:
    async def sync_debtor(ctx: UpsertContext) -> None:
        ctx.jobs.add("upsert_debtor", ctx.object_id, job_id=f"test-upsert-debtor:{ctx.object_id}")

    registry = ObjectHooks()
    registry.after_upsert("debtor")(sync_debtor)
    monkeypatch.setattr(hooks, "_after_upsert", registry._after_upsert)
    monkeypatch.setattr(app.state.settings, "sync_on_change", ["debtor"])
    response = await put(client, "debtor", 1001, name="Synced")
    assert response.status_code == 201
    queued = await redis.queued_jobs(queue_name=app.state.settings.arq_queue_name)
    assert [(job.function, job.args) for job in queued] == [("upsert_debtor", (1001,))]


async def test_before_delete_hooks_run_before_the_delete(session: AsyncSession) -> None:
    registry = ObjectHooks()
    calls: list[int] = []

    @registry.before_delete("debtor")
    async def refuse(ctx: DeleteContext) -> None:
        calls.append(ctx.object_id)
        assert isinstance(ctx.obj, Debtor)
        if ctx.obj.name == "keep":
            raise Conflict("kept")

    session.add_all([Debtor(id=1, name="keep"), Debtor(id=2, name="drop")])
    await session.flush()
    kwargs: dict[str, Any] = {
        "schema": LimeSchema(),
        "settings": make_settings(),
        "limetype": "debtor",
        "jobs": AfterCommit(),
        "registry": registry,
    }
    with pytest.raises(Conflict, match="kept"):
        await delete_object(session, object_id=1, **kwargs)
    assert await delete_object(session, object_id=2, **kwargs) == 2
    assert calls == [1, 2]
    assert [d.id for d in (await session.scalars(select(Debtor))).all()] == [1]


def test_hooks_refuse_unknown_limetypes() -> None:
    with pytest.raises(ValueError, match="spaceship"):
        ObjectHooks().after_upsert("spaceship")


# --- concurrency ------------------------------------------------------------------------------


async def test_two_puts_of_the_same_new_id_at_once_make_one_row(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    schema, settings = LimeSchema(), make_settings()

    async def put_once(name: str) -> bool:
        async with committed_sessionmaker() as s:
            result = await upsert_object(
                s,
                schema=schema,
                settings=settings,
                limetype="debtor",
                object_id=4242,
                body={"name": name},
                jobs=AfterCommit(),
            )
            await asyncio.sleep(0.05)  # hold the row while the other request arrives
            await s.commit()
            return result.created

    created = await asyncio.gather(*(put_once(f"n{i}") for i in range(4)))
    assert sorted(created) == [False, False, False, True]
    async with committed_sessionmaker() as s:
        assert await count(s, Debtor) == 1


async def test_concurrent_delete_and_reference_never_500(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    schema, settings = LimeSchema(), make_settings()
    async with committed_sessionmaker() as s:
        s.add_all([Creditor(id=1), Debtor(id=2)])
        await s.commit()

    async def link() -> str:
        async with committed_sessionmaker() as s:
            try:
                await upsert_object(
                    s,
                    schema=schema,
                    settings=settings,
                    limetype="creditordebtor",
                    object_id=3,
                    body={"creditor": 1, "debtor": 2},
                    jobs=AfterCommit(),
                )
            except Exception as exc:
                return type(exc).__name__
            await asyncio.sleep(0.02)
            await s.commit()
            return "linked"

    async def remove() -> str:
        async with committed_sessionmaker() as s:
            try:
                await delete_object(
                    s,
                    schema=schema,
                    settings=settings,
                    limetype="debtor",
                    object_id=2,
                    jobs=AfterCommit(),
                )
            except Exception as exc:
                return type(exc).__name__
            await s.commit()
            return "deleted"

    outcomes = set(await asyncio.gather(link(), remove()))
    assert outcomes in ({"linked", "Conflict"}, {"deleted", "InvalidInput"})
