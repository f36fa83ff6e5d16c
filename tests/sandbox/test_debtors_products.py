"""Debtors and products: external-id lookups, Billecta's uniqueness and deletion rules."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from billecta_gateway.billecta import (
    BillectaApiBadRequestException,
    BillectaApiNotFoundException,
    BillectaClient,
)
from billecta_gateway.billecta import schemas as s
from billecta_gateway.sandbox import Sandbox
from tests.sandbox.conftest import CID, CID2, debtor_model, entry_model, flush


async def test_created_debtor_is_found_by_its_external_id_within_its_creditor(
    billecta: BillectaClient,
) -> None:
    debtor_id = await billecta.create_debtor(debtor_model("lime 1&2"))
    found = await billecta.get_debtor_by_external_id(CID, "lime 1&2")
    assert found is not None
    assert found.debtor_public_id == debtor_id
    assert found.name == "Anna Svensson"
    assert found.created is not None
    assert await billecta.get_debtor_by_external_id(CID2, "lime 1&2") is None
    assert await billecta.get_debtor_by_external_id(CID, "lime-unknown") is None


async def test_an_external_id_used_twice_is_a_400_on_lookup(billecta: BillectaClient) -> None:
    await billecta.create_debtor(debtor_model("dup"))
    await billecta.create_debtor(debtor_model("dup"))
    with pytest.raises(BillectaApiBadRequestException, match="not unique"):
        await billecta.get_debtor_by_external_id(CID, "dup")


async def test_changing_a_debtors_external_id_moves_the_lookup(billecta: BillectaClient) -> None:
    debtor_id = await billecta.create_debtor(debtor_model("old"))
    debtor = await billecta.get_debtor(debtor_id)
    await billecta.update_debtor(debtor.model_copy(update={"debtor_external_id": "new"}))
    assert await billecta.get_debtor_by_external_id(CID, "old") is None
    found = await billecta.get_debtor_by_external_id(CID, "new")
    assert found is not None and found.debtor_public_id == debtor_id


async def test_update_replaces_the_debtor_and_keeps_fields_it_sends_back(
    billecta: BillectaClient,
) -> None:
    debtor_id = await billecta.create_debtor(
        debtor_model(autogiro={"Active": True, "Stage": "Approved"}, notes="VIP")
    )
    fetched = await billecta.get_debtor(debtor_id)
    await billecta.update_debtor(fetched.model_copy(update={"email": "ny@example.com"}))
    again = await billecta.get_debtor(debtor_id)
    assert again.email == "ny@example.com"
    assert again.notes == "VIP"
    assert again.autogiro == {"Active": True, "Stage": "Approved"}
    assert again.created == fetched.created


async def test_a_debtor_of_another_creditor_cannot_be_updated_under_this_one(
    billecta: BillectaClient,
) -> None:
    debtor_id = await billecta.create_debtor(debtor_model())
    wrong = debtor_model(creditor_public_id=CID2, debtor_public_id=debtor_id)
    with pytest.raises(BillectaApiBadRequestException, match="does not belong"):
        await billecta.update_debtor(wrong)


async def test_creating_a_debtor_for_an_unknown_creditor_is_400(billecta: BillectaClient) -> None:
    with pytest.raises(BillectaApiBadRequestException, match="was not found"):
        await billecta.create_debtor(debtor_model(creditor_public_id="nobody"))


async def test_anonymizing_a_debtor_removes_personal_data_and_sends_debtor_updated(
    billecta: BillectaClient, control: httpx.AsyncClient, receiver: object
) -> None:
    debtor_id = await billecta.create_debtor(debtor_model())
    await billecta.anonymize_debtor(debtor_id)
    debtor = await billecta.get_debtor(debtor_id)
    assert debtor.name == "Anonymiserad"
    assert debtor.org_no is None and debtor.email is None and debtor.address is None
    assert debtor.debtor_external_id == "lime-1001"
    events = await billecta.get_debtor_events(debtor_id)
    assert [e.title for e in events] == ["Kund anonymiserad"]
    await flush(control)
    updated = receiver.of_type("DebtorUpdated")  # type: ignore[attr-defined]
    assert updated[-1]["Data"]["DebtorPublicId"] == debtor_id
    assert updated[-1]["Data"]["Name"] == "Anonymiserad"


async def test_products_are_found_by_external_id_and_keep_their_template_values(
    billecta: BillectaClient,
) -> None:
    product = s.BillectaProduct(
        creditor_public_id=CID,
        product_external_id="art-9",
        article_number="A9",
        description="Parkering",
        unit_price=Decimal("450.50"),
        vat=Decimal("25"),
        book_keeping_account=3010,
    )
    product_id = await billecta.create_product(product)
    found = await billecta.get_product_by_external_id(CID, "art-9")
    assert found is not None
    assert found.product_public_id == product_id
    assert found.unit_price == Decimal("450.5")
    assert found.book_keeping_account == 3010
    assert found.is_active is True
    assert await billecta.get_product_by_external_id(CID, "nope") is None


async def test_a_product_used_on_an_invoice_cannot_be_deleted(billecta: BillectaClient) -> None:
    product_id = await billecta.create_product(
        s.BillectaProduct(creditor_public_id=CID, product_external_id="used", description="X")
    )
    debtor_id = await billecta.create_debtor(debtor_model())
    action_id = await billecta.create_invoice_action(entry_model(debtor_id, product_id=product_id))
    with pytest.raises(BillectaApiBadRequestException, match="used on one or more invoices"):
        await billecta.delete_product(product_id)
    await billecta.attest_invoice_action(action_id)
    with pytest.raises(BillectaApiBadRequestException, match="used on one or more invoices"):
        await billecta.delete_product(product_id)
    assert (await billecta.get_product(product_id)).description == "X"


async def test_a_product_is_free_again_once_its_only_draft_is_deleted(
    billecta: BillectaClient,
) -> None:
    product_id = await billecta.create_product(
        s.BillectaProduct(creditor_public_id=CID, product_external_id="p", description="X")
    )
    debtor_id = await billecta.create_debtor(debtor_model())
    draft = await billecta.create_invoice_action(entry_model(debtor_id, product_id=product_id))
    await billecta.delete_invoice_action(draft)
    await billecta.delete_product(product_id)
    with pytest.raises(BillectaApiNotFoundException):
        await billecta.get_product(product_id)
    assert await billecta.get_product_by_external_id(CID, "p") is None


async def test_thousands_of_debtors_are_each_one_lookup_away(
    billecta: BillectaClient, sandbox: Sandbox
) -> None:
    for number in range(1000):
        await billecta.create_debtor(debtor_model(f"bulk-{number}"))
    found = await billecta.get_debtor_by_external_id(CID, "bulk-999")
    assert found is not None
    assert sandbox.requests.counts["create_debtor"] == 1000
    assert len(sandbox.store.debtor_by_external) == 1000
