"""The value codec on the documented shapes (fixture files from lime-api.md), both ways."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.codec import LimeCodec
from billecta_gateway.limecrm.errors import LimeCodecError

FIXTURES = Path(__file__).parent / "fixtures"
TZ = ZoneInfo("Europe/Stockholm")


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


@pytest.fixture
def codec() -> LimeCodec:
    return LimeCodec(LimeSchema(), TZ)


def test_rest_object_decodes_empty_text_to_none_and_option_objects_to_keys(
    codec: LimeCodec,
) -> None:
    values = codec.decode("debtor", fixture("rest_debtor.json"))
    assert values["name"] == "Region Norrbotten"
    assert values["email"] is None and values["address"] is None
    assert values["debtortype"] == "company"
    assert values["company"] == 1014 and values["person"] is None
    assert values["anonymized"] is False
    assert "_id" not in values and "_links" not in values


def test_rest_dates_take_the_date_in_the_business_timezone(codec: LimeCodec) -> None:
    values = codec.decode("order", fixture("rest_order.json"))
    assert values["invoicedate"] == date(2022, 1, 30)
    assert values["duedate"] is None
    assert values["orderstatus"] == "99101"  # a digit-string key stays a string
    assert values["deliverymethod"] is None  # Lime's own empty option
    assert values["ourreference"] is None


def test_a_utc_midnight_is_the_previous_day_in_stockholm(codec: LimeCodec) -> None:
    values = codec.decode("order", {"invoicedate": "2022-01-29T23:00:00Z"})
    assert values["invoicedate"] == date(2022, 1, 30)
    assert codec.decode("order", {"invoicedate": "2022-01-29T22:59:00+00:00"}) == {
        "invoicedate": date(2022, 1, 29)
    }


def test_webhook_values_decode_with_plain_option_keys(codec: LimeCodec) -> None:
    values = codec.decode("debtor", fixture("webhook_debtor_update.json")["body"]["values"])
    assert values == {
        "name": "Testsson",
        "debtortype": None,
        "phone": "0701112223",
        "person": None,
        "email": None,
    }


def test_encode_sends_empty_text_option_keys_and_local_midnight(codec: LimeCodec) -> None:
    body = codec.encode(
        "invoice",
        {
            "ocr": None,
            "invoicestatus": "paid",
            "deliverymethod": None,
            "invoicedate": date(2026, 7, 1),
            "invoice_expires": date(2026, 1, 15),
            "invoice_amount": Decimal("1250.50"),
            "paid_amount": Decimal("1250.00"),
            "order": 2001,
            "disputed": False,
            "billecta_event_at": datetime(2026, 7, 1, 10, 0),
        },
    )
    assert body == {
        "ocr": "",
        "invoicestatus": "paid",
        "deliverymethod": "empty",
        "invoicedate": "2026-07-01T00:00:00+02:00",
        "invoice_expires": "2026-01-15T00:00:00+01:00",
        "invoice_amount": 1250.5,
        "paid_amount": 1250,
        "order": 2001,
        "disputed": False,
        "billecta_event_at": "2026-07-01T10:00:00+02:00",
    }


def test_round_trip_gives_back_the_python_values(codec: LimeCodec) -> None:
    values = {
        "name": None,
        "debtortype": "private",
        "person": 11,
        "anonymized": True,
        "billecta_event_at": datetime(2026, 3, 29, 1, 30, tzinfo=TZ),
    }
    assert codec.decode("debtor", codec.encode("debtor", values)) == values


@pytest.mark.parametrize(
    ("limetype", "values", "message"),
    [
        ("debtor", {"name": 5}, "debtor.name: expected a string"),
        ("debtor", {"debtortype": 108001}, "debtor.debtortype: expected an option object"),
        ("order", {"invoicedate": "30/01/2022"}, "order.invoicedate: '30/01/2022' is not"),
        ("invoice", {"invoice_amount": "lots"}, "invoice.invoice_amount: expected a number"),
    ],
)
def test_wrong_shapes_name_the_property(
    codec: LimeCodec, limetype: str, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(LimeCodecError, match=re.escape(message)):
        codec.decode(limetype, values)


def test_encode_refuses_properties_the_gateway_does_not_write(codec: LimeCodec) -> None:
    with pytest.raises(LimeCodecError, match=re.escape("creditor.billecta_settings")):
        codec.encode("creditor", {"billecta_settings": {}})
    with pytest.raises(LimeCodecError, match="unknown_property"):
        codec.encode("debtor", {"unknown_property": "x"})
