"""Field mappings: start-up validation, value conversion and the read-modify-write overlay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import ConfigurationError
from billecta_gateway.lime.mappings import (
    VIEWS,
    FieldMapping,
    MappingValueError,
    build_field_mappings,
    load_field_mappings,
)
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.models import Company, CreditorDebtor, Debtor, Person
from billecta_gateway.tasks.values import MappedValues, ObjectLoader, convert, overlay
from tests.conftest import make_settings

SCHEMA = LimeSchema()
CUSTOM_SCHEMA = LimeSchema(
    {
        "debtor": {"custom": {"invoice_reference": "string", "segment": "integer"}},
        "creditordebtor": {"custom": {"customer_number": "string"}},
    }
)


def test_shipped_mappings_load_and_cover_every_view() -> None:
    mappings = load_field_mappings(make_settings(), SCHEMA)
    assert set(mappings.sections) == set(VIEWS)
    debtor = {m.target: m.sources for m in mappings["debtor"].fields}
    assert debtor["Email"] == (("email",), ("person", "email"), ("company", "email"))
    assert ("person", "personalnumber") in debtor["OrgNo"]
    article = {m.target for m in mappings["article"].fields}
    assert {"ArticleNumber", "UnitPrice", "VAT", "BookKeepingAccount", "ProductType"} <= article
    order = {m.target for m in mappings["order"].fields}
    assert {"InvoiceDate", "DueDate", "DeliveryMethod", "OurReference", "YourReference"} <= order
    row = {m.target for m in mappings["orderrow"].fields}
    assert {"Quantity", "UnitPrice", "VAT", "DiscountAmount", "PeriodStart", "PeriodEnd"} <= row
    creditor = {m.target for m in mappings["creditor"].fields}
    assert {"Name", "OrgNo"} <= creditor


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"debtor": {"Email": "emial"}},
            "[debtor] Email: 'emial': 'emial' is not a property of debtor",
        ),
        (
            {"debtor": {"Email": "person.emial"}},
            "[debtor] Email: 'person.emial': 'emial' is not a property of person",
        ),
        (
            {"debtor": {"Email": "name.email"}},
            "'name.email': 'name' of debtor is not a relation to follow",
        ),
        (
            {"debtor": {"Emial": "email"}},
            "[debtor] Emial: Emial is not a field of Billecta's DebtorView",
        ),
        (
            {"debtor": {"DebtorPublicId": "name"}},
            "DebtorPublicId is set by the gateway and cannot be mapped",
        ),
        ({"debtor": {"Name": "person"}}, "'person' of debtor is a relation, not a value"),
        (
            {"article": {"UnitPrice": "name"}},
            "'name' is a string property and cannot fill UnitPrice",
        ),
        ({"order": {"InvoiceDate": "ourreference"}}, "cannot fill InvoiceDate"),
        ({"debitor": {"Name": "name"}}, "unknown table(s) debitor"),
        ({"debtor": {"Name": []}}, "give at least one Lime property path"),
    ],
)
def test_a_mapping_naming_a_bad_field_fails_at_start_up(
    table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        build_field_mappings(table, SCHEMA, source="custom.toml")
    assert message in str(caught.value)
    assert "custom.toml" in str(caught.value)


def test_declared_custom_properties_can_be_mapped_also_from_the_relation() -> None:
    mappings = build_field_mappings(
        {
            "debtor": {
                "Notes": "invoice_reference",
                "DebtorNo": ["creditordebtor.customer_number", "segment"],
            }
        },
        CUSTOM_SCHEMA,
    )
    assert mappings.mapped_properties("debtor") == {"invoice_reference", "segment"}
    assert mappings.mapped_properties("creditordebtor") == {"customer_number"}
    with pytest.raises(ConfigurationError, match="'invoice_reference' is not a property"):
        build_field_mappings({"debtor": {"Notes": "invoice_reference"}}, SCHEMA)


def test_field_mappings_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "mappings.toml"
    path.write_text('[debtor]\nName = "name"\n', encoding="utf-8")
    mappings = load_field_mappings(make_settings(field_mappings_file=path), SCHEMA)
    assert [m.target for m in mappings["debtor"].fields] == ["Name"]
    assert mappings["article"].fields == ()
    path.write_text('[debtor]\nName = "nmae"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"mappings.toml \[debtor\] Name"):
        load_field_mappings(make_settings(field_mappings_file=path), SCHEMA)


def test_an_option_without_a_billecta_value_fails_at_start_up() -> None:
    schema = LimeSchema(
        {"debtor": {"custom": {"channel": {"type": "option", "options": ["email", "pigeon"]}}}}
    )
    with pytest.raises(ConfigurationError, match="pigeon"):
        build_field_mappings({"order": {"DeliveryMethod": "debtor.channel"}}, schema)


def _mapping(target: str, section: str = "orderrow") -> FieldMapping:
    return FieldMapping(target=target, sources=(("x",),), spec=VIEWS[section].fields[target])


def test_values_are_converted_to_what_billecta_expects() -> None:
    assert convert(_mapping("UnitPrice"), Decimal("99.50"), currency="SEK") == {
        "CurrencyCode": "SEK",
        "Value": 9950,
        "ValueForView": 99.5,
    }
    assert convert(_mapping("VAT"), Decimal("25.0000"), currency="SEK") == 25
    assert convert(_mapping("PeriodStart"), date(2026, 3, 1), currency="SEK") == "2026-03-01"
    product_type = FieldMapping("ProductType", (("x",),), VIEWS["article"].fields["ProductType"])
    assert convert(product_type, "package", currency="SEK") == "Package"
    assert convert(product_type, "standard", currency="SEK") == "Service"
    delivery = FieldMapping("DeliveryMethod", (("x",),), VIEWS["order"].fields["DeliveryMethod"])
    assert convert(delivery, "manual", currency="SEK") == "Manually"
    account = FieldMapping(
        "BookKeepingAccount", (("x",),), VIEWS["article"].fields["BookKeepingAccount"]
    )
    assert convert(account, "3010", currency="SEK") == 3010
    with pytest.raises(MappingValueError, match="BookKeepingAccount: '30a' is not a number"):
        convert(account, "30a", currency="SEK")
    with pytest.raises(MappingValueError, match="UnitPrice"):
        convert(_mapping("UnitPrice"), Decimal("1.005"), currency="SEK")


def test_overlay_keeps_unmapped_fields_and_clears_unset_ones() -> None:
    billecta = {
        "Name": "Old",
        "Email": "old@example.se",
        "Autogiro": {"Active": True},
        "CreditorInvoiceAddress": {"Email": "a@b.se", "City": "Umeå"},
    }
    result = overlay(
        billecta,
        {"Name": "New", "Email": None, "CreditorInvoiceAddress.Email": "n@b.se", "Phone": None},
    )
    assert result == {
        "Name": "New",
        "Autogiro": {"Active": True},
        "CreditorInvoiceAddress": {"Email": "n@b.se", "City": "Umeå"},
    }
    assert billecta["Name"] == "Old"


async def test_mapped_values_follow_relations_and_fall_back_in_order(session: AsyncSession) -> None:
    session.add_all(
        [
            Person(
                id=501, firstname="Anna", email="anna@example.se", personalnumber="19800101-1234"
            ),
            Company(id=601, name="Acme AB"),
        ]
    )
    await session.flush()
    debtor = Debtor(id=701, person=501, debtortype="private", phone="070-1")
    session.add(debtor)
    await session.flush()
    relation = CreditorDebtor(id=7010, debtor=701)
    mappings = load_field_mappings(make_settings(), SCHEMA)
    values = await MappedValues.collect(
        mappings["debtor"],
        ObjectLoader(session, SCHEMA),
        debtor,
        roots={"creditordebtor": relation},
    )
    assert values.get("Email") == "anna@example.se"
    assert values.get("OrgNo") == "19800101-1234"
    assert values.get("Phone") == "070-1"
    assert values.get("DebtorType") == "Private"
    assert values.get("Name") is None


async def test_bad_values_are_listed_together(session: AsyncSession) -> None:
    debtor = Debtor(id=702, custom={"segment": "x"})
    session.add(debtor)
    await session.flush()
    mappings = build_field_mappings(
        {"debtor": {"DebtorNo": "segment", "Notes": "invoice_reference"}}, CUSTOM_SCHEMA
    )
    values = await MappedValues.collect(
        mappings["debtor"], ObjectLoader(session, CUSTOM_SCHEMA), debtor
    )
    assert values.get("DebtorNo") == "x"
    int_mapping = build_field_mappings(
        {"debtor": {"DefaultActionConfig.PaymentTermsInDays": "invoice_reference"}}, CUSTOM_SCHEMA
    )
    debtor.custom = {"invoice_reference": "ten"}
    with pytest.raises(MappingValueError, match="PaymentTermsInDays: 'ten' is not a number"):
        await MappedValues.collect(
            int_mapping["debtor"], ObjectLoader(session, CUSTOM_SCHEMA), debtor
        )
