"""The credit-invoice job: create and attest the credit invoice, record it on the original."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.invoices.credit import CREDIT_INVOICE
from billecta_gateway.models import Invoice
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import start_task
from tests.tasks.support import FakeBillecta, add_creditor, add_debtor, batch_and_logs, run_batch

RECORDS = [
    {
        "ProductPublicId": "product-1",
        "SequenceNo": 1,
        "ArticleDescription": "Consulting",
        "Quantity": 3,
        "UnitPrice": {"CurrencyCode": "SEK", "Value": 100000, "ValueForView": 1000.0},
        "VAT": 25,
        "RecordType": "Standard",
        "TotalIncVAT": {"CurrencyCode": "SEK", "Value": 375000, "ValueForView": 3750.0},
    },
    {"SequenceNo": 2, "ArticleDescription": "Thank you", "RecordType": "Message"},
]


async def _seed(session: AsyncSession, fake: FakeBillecta, **invoice: Any) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    relation_id = 10010
    from billecta_gateway.models import CreditorDebtor

    relation = await session.get(CreditorDebtor, relation_id)
    assert relation is not None
    relation.debtorpublicid = "debtor-1"
    values: dict[str, Any] = {
        "actionpublicid": "inv-1",
        "invoicestatus": "sent",
        "creditor": 1,
        "debtor": 1001,
        "creditordebtor": relation_id,
    }
    values.update(invoice)
    session.add(Invoice(id=5001, **values))
    await session.flush()
    fake.add_action(
        "inv-1",
        CreditorPublicId="cred-A",
        DebtorPublicId="debtor-1",
        InvoiceNumber="1042",
        OurReference="Anna",
        DeliveryMethod="Email",
        Records=RECORDS,
    )
    fake.actions["inv-1"]["State"] = {"Stage": "InvoiceSent", "AttestedDate": "2026-03-01T10:00:00"}


async def _run(session: AsyncSession, ctx: dict[str, Any]) -> int:
    batch_id = await start_task(
        session,
        kind=CREDIT_INVOICE,
        title="t",
        created_by=None,
        object_ids=[5001],
        jobs=AfterCommit(),
    )
    await session.commit()
    await run_batch(ctx, batch_id)
    return batch_id


async def _invoice(session: AsyncSession) -> Invoice:
    invoice = await session.get(Invoice, 5001, populate_existing=True)
    assert invoice is not None
    return invoice


async def test_credit_creates_and_attests_the_credit_invoice_and_records_it(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session, fake)

    batch_id = await _run(session, ctx)

    [create] = fake.requests("POST", "/v1/invoice/action")
    entry = create.body
    assert entry["ActionType"] == "CreditInvoiceAction"
    assert entry["CreditingInvoicePublicId"] == "inv-1"
    assert entry["ExternalReference"] == "credit-5001"
    assert (entry["CreditorPublicId"], entry["DebtorPublicId"]) == ("cred-A", "debtor-1")
    assert entry["OurReference"] == "Anna"
    assert "InvoiceNumber" not in entry
    standard, message = entry["Records"]
    assert standard["Quantity"] == -3
    assert standard["UnitPrice"]["Value"] == 100000
    assert "TotalIncVAT" not in standard
    assert message == {"SequenceNo": 2, "ArticleDescription": "Thank you", "RecordType": "Message"}
    invoice = await _invoice(session)
    credit_id = invoice.credit_invoice_actionpublicid
    assert credit_id is not None and credit_id != "inv-1"
    assert fake.sent[-1].path == f"/v1/invoice/attest/{credit_id}"
    assert fake.actions[credit_id]["State"]["Stage"] == "Attested"
    assert invoice.invoicestatus == "sent"  # the credit invoice's webhook sets `credited`
    batch, logs = await batch_and_logs(session, batch_id)
    assert (batch.status, logs[5001].status) == ("ok", "ok")


async def test_crediting_twice_credits_once(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session, fake)
    await _run(session, ctx)
    await _run(session, ctx)
    assert len(fake.requests("POST", "/v1/invoice/action")) == 1
    assert len(fake.actions) == 2


async def test_a_credit_whose_attest_failed_is_attested_by_the_next_run(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session, fake)
    fake.fail("attest_invoice_action", httpx.Response(400, json={"Message": "Try later"}))

    first = await _run(session, ctx)

    _, logs = await batch_and_logs(session, first)
    assert logs[5001].message == "Invoice 5001: Billecta rejected the request: Try later"
    invoice = await _invoice(session)
    assert invoice.credit_invoice_actionpublicid is not None
    assert invoice.billecta_error_message == logs[5001].message

    second = await _run(session, ctx)

    _, logs = await batch_and_logs(session, second)
    assert logs[5001].status == "ok"
    assert len(fake.requests("POST", "/v1/invoice/action")) == 1
    assert (await _invoice(session)).billecta_error_message is None


@pytest.mark.parametrize(
    ("invoice", "stage", "message"),
    [
        (
            {"is_credit_invoice": True},
            "InvoiceSent",
            "Invoice 5001 is a credit invoice and cannot be credited",
        ),
        (
            {"actionpublicid": None},
            "InvoiceSent",
            "Invoice 5001 has no actionpublicid: it is not in Billecta",
        ),
        (
            {},
            "Created",
            "Invoice 5001 is not attested in Billecta: delete its order instead of crediting it",
        ),
    ],
)
async def test_invoices_that_cannot_be_credited_fail_clearly(
    session: AsyncSession,
    ctx: dict[str, Any],
    fake: FakeBillecta,
    invoice: dict[str, Any],
    stage: str,
    message: str,
) -> None:
    await _seed(session, fake, **invoice)
    fake.actions["inv-1"]["State"] = {"Stage": stage}

    batch_id = await _run(session, ctx)

    _, logs = await batch_and_logs(session, batch_id)
    assert (logs[5001].status, logs[5001].message) == ("error", message)
    assert fake.requests("POST") == []
    assert (await _invoice(session)).billecta_error_message == message


async def test_a_full_credit_credits_the_fees_and_negates_discounts(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session, fake)
    discounted = {
        **RECORDS[0],
        "DiscountType": "Amount",
        "DiscountAmount": {"CurrencyCode": "SEK", "Value": 5000, "ValueForView": 50.0},
    }
    fake.actions["inv-1"].update(
        Records=[discounted, RECORDS[1]],
        InvoiceFee={"CurrencyCode": "SEK", "Value": 4900, "ValueForView": 49.0},
        FreightFee={"CurrencyCode": "SEK", "Value": 2500, "ValueForView": 25.0},
    )

    await _run(session, ctx)

    [create] = fake.requests("POST", "/v1/invoice/action")
    entry = create.body
    assert entry["InvoiceFee"] == {"CurrencyCode": "SEK", "Value": -4900, "ValueForView": -49.0}
    assert entry["FreightFee"] == {"CurrencyCode": "SEK", "Value": -2500, "ValueForView": -25.0}
    standard, message = entry["Records"]
    assert standard["Quantity"] == -3
    assert standard["DiscountAmount"] == {
        "CurrencyCode": "SEK",
        "Value": -5000,
        "ValueForView": -50.0,
    }
    assert "DiscountAmount" not in message
