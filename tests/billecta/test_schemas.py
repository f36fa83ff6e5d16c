"""Billecta wire models: aliases, money, dates, required fields and round trips."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from billecta_gateway.billecta import schemas as s

CID = "8e0d1f5a-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("amount", "currency", "value"),
    [
        (Decimal("1000.50"), "SEK", 100050),
        (Decimal("0.01"), "SEK", 1),
        (Decimal("-250"), "EUR", -25000),
        (Decimal("1234"), "JPY", 1234),
        ("19.99", "NOK", 1999),
        (7, "SEK", 700),
    ],
)
def test_amount_from_decimal_uses_exact_minor_units(
    amount: Decimal | str | int, currency: str, value: int
) -> None:
    result = s.BillectaAmount.from_decimal(amount, currency)

    assert result.value == value
    assert result.currency_code == currency
    assert result.to_decimal() == Decimal(amount)
    assert result.to_wire() == {
        "CurrencyCode": currency,
        "Value": value,
        "ValueForView": float(Decimal(amount)),
    }


def test_amount_to_decimal_reads_value_not_the_float() -> None:
    amount = s.BillectaAmount.model_validate(
        {"CurrencyCode": "SEK", "Value": 10000000000000001, "ValueForView": 1e14}
    )

    assert amount.to_decimal() == Decimal("100000000000000.01")


def test_amount_refuses_floats_and_fractions_of_minor_units() -> None:
    with pytest.raises(TypeError):
        s.BillectaAmount.from_decimal(10.5, "SEK")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="minor units"):
        s.BillectaAmount.from_decimal(Decimal("10.005"), "SEK")


def test_odd_billecta_casing_uses_explicit_aliases() -> None:
    product = s.BillectaProduct.model_validate(
        {"CreditorPublicId": CID, "VAT": 25.0, "UnitPrice": 0.1, "BookKeepingAccount": 3001}
    )
    invoice = s.BillectaInvoiceActionInvoice.model_validate({"OCR": "55501"})
    debtor = s.BillectaDebtor.model_validate({"CreditorPublicId": CID, "GLN": "7300009"})
    result = s.BillectaPaymentMatchResult.model_validate({"Successfull": True})
    payment = s.BillectaRegisterPayment(action_public_id="a", payment_date=date(2025, 9, 10))

    assert product.vat == Decimal("25")
    assert product.unit_price == Decimal("0.1")
    assert invoice.ocr == "55501"
    assert debtor.gln == "7300009"
    assert result.successfull is True
    assert payment.to_wire() == {"ActionPublicId": "a", "Date": "2025-09-10T00:00:00"}
    assert product.to_wire() == {
        "CreditorPublicId": CID,
        "VAT": 25,
        "UnitPrice": 0.1,
        "BookKeepingAccount": 3001,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2025-09-10T08:30:00+02:00",
            datetime(2025, 9, 10, 8, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        (
            "2025-09-10 08:30:00+02:00",
            datetime(2025, 9, 10, 8, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        (
            "2025-09-10 08:30:00+0200",
            datetime(2025, 9, 10, 8, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2025-09-10T08:30:00Z", datetime(2025, 9, 10, 8, 30, tzinfo=UTC)),
        ("2025-09-10T08:30:00", datetime(2025, 9, 10, 8, 30)),
        ("2025-09-10T08:30:00.1234567", datetime(2025, 9, 10, 8, 30, 0, 123456)),
        ("2025-09-10", datetime(2025, 9, 10)),
    ],
)
def test_dates_are_accepted_in_billectas_formats(text: str, expected: datetime) -> None:
    state = s.BillectaInvoiceActionState.model_validate({"NextEventDate": text})

    assert state.next_event_date == expected


def test_dates_are_sent_as_iso_8601_with_their_offset() -> None:
    stockholm = timezone(timedelta(hours=2))
    search = s.BillectaSearch(
        creditor_public_id=CID, invoice_date_from=datetime(2025, 9, 1, tzinfo=stockholm)
    )

    assert search.to_wire()["InvoiceDateFrom"] == "2025-09-01T00:00:00+02:00"


def test_fields_required_on_create_are_required() -> None:
    with pytest.raises(ValidationError, match="CreditorPublicId"):
        s.BillectaDebtor.model_validate({"Name": "Ada"})
    with pytest.raises(ValidationError, match="CreditorPublicId"):
        s.BillectaProduct.model_validate({"Description": "Rent"})
    with pytest.raises(ValidationError) as caught:
        s.BillectaInvoiceActionEntry.model_validate(
            {"CreditorPublicId": CID, "DebtorPublicId": CID, "InvoiceDate": "2025-09-01"}
        )
    missing = {e["loc"][0] for e in caught.value.errors()}
    assert missing == {"DueDate", "Records"}


def test_get_modify_put_keeps_fields_the_gateway_does_not_model() -> None:
    fetched = {
        "DebtorPublicId": "d-1",
        "CreditorPublicId": CID,
        "Name": "Ada",
        "Autogiro": {"Active": True, "PayerNumber": "123"},
        "CreditCards": [{"MaskedCardNumber": "**** 1234"}],
        "SomethingNew": 42,
        "Notes": None,
    }
    debtor = s.BillectaDebtor.model_validate(fetched)

    debtor.name = "Ada Lovelace"
    sent = debtor.to_wire()

    assert sent == {
        "DebtorPublicId": "d-1",
        "CreditorPublicId": CID,
        "Name": "Ada Lovelace",
        "Autogiro": {"Active": True, "PayerNumber": "123"},
        "CreditCards": [{"MaskedCardNumber": "**** 1234"}],
        "SomethingNew": 42,
    }


def test_models_accept_python_names_and_wire_names() -> None:
    by_name = s.BillectaDebtor(creditor_public_id=CID, debtor_external_id="x")
    by_alias = s.BillectaDebtor.model_validate({"CreditorPublicId": CID, "DebtorExternalId": "x"})

    assert by_name == by_alias


def test_invoice_action_reads_nested_state_amounts_and_pdf_reference() -> None:
    action = s.BillectaInvoiceAction.model_validate(
        {
            "ActionPublicId": "inv-1",
            "State": {"Stage": "InvoiceSent", "NextEventDate": "2025-10-01 00:00:00+02:00"},
            "CurrentAmount": {"CurrencyCode": "SEK", "Value": 49950, "ValueForView": 499.5},
            "Invoices": [{"OCR": "1001", "InvoiceFile": {"FilePublicId": "f-1"}}],
            "CanDispute": True,
        }
    )

    assert action.state is not None
    assert action.state.stage == "InvoiceSent"
    assert action.current_amount is not None
    assert action.current_amount.to_decimal() == Decimal("499.50")
    assert action.invoices is not None
    assert action.invoices[0].invoice_file is not None
    assert action.invoices[0].invoice_file.file_public_id == "f-1"
    assert action.can_dispute is True


def test_file_object_decodes_its_base64_data() -> None:
    file = s.BillectaFile.model_validate({"Data": base64.b64encode(b"%PDF-1.7").decode()})

    assert file.decoded() == b"%PDF-1.7"
    assert s.BillectaFile().decoded() is None
