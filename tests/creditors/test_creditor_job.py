"""The update-creditor job: validate, fetch Billecta's settings, two read-modify-write PUTs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.creditors.tasks import UPDATE_CREDITOR
from billecta_gateway.models import Creditor
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import start_task
from tests.tasks.support import FakeBillecta, add_creditor, batch_and_logs, run_batch

BANK = {"PaymentMethod": "BankGiro", "BankgiroNo": "123-4567"}


async def _run(session: AsyncSession, ctx: dict[str, Any], creditor_id: int = 1) -> int:
    batch_id = await start_task(
        session,
        kind=UPDATE_CREDITOR,
        title="Update creditor in Billecta",
        created_by=None,
        object_ids=[creditor_id],
        jobs=AfterCommit(),
    )
    await session.commit()
    await run_batch(ctx, batch_id)
    return batch_id


async def test_update_fetches_billecta_settings_and_sends_two_updates(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(
        session, 1, "cred-A", name="Acme AB", orgno="556000-1111", email="billing@acme.se"
    )
    fake.add_creditor(
        "cred-A",
        Name="Old name",
        CreditorBankInfo=BANK,
        CreditorInvoiceAddress={"City": "Umeå", "Email": "old@acme.se"},
        IsEnabled=True,
    )

    batch_id = await _run(session, ctx)

    assert [(s.method, s.path) for s in fake.sent] == [
        ("GET", "/v1/creditors/creditor/cred-A"),
        ("GET", "/v1/creditors/defaultactionconfig/cred-A"),
        ("PUT", "/v1/creditors/creditor"),
        ("PUT", "/v1/creditors/defaultactionconfig"),
    ]
    creditor_put, defaults_put = fake.sent[2].body, fake.sent[3].body
    assert creditor_put["Name"] == "Acme AB"
    assert creditor_put["OrgNo"] == "556000-1111"
    assert creditor_put["CreditorBankInfo"] == BANK
    assert creditor_put["IsEnabled"] is True
    assert creditor_put["CreditorInvoiceAddress"] == {"City": "Umeå", "Email": "billing@acme.se"}
    assert defaults_put["InvoiceFee"] == 29
    assert defaults_put["SendReminderInvoice"] is True
    creditor = await session.get(Creditor, 1, populate_existing=True)
    assert creditor is not None
    assert creditor.default_deliverymethod == "email"
    assert creditor.default_paymentterms == 20
    assert creditor.default_invoicefee == Decimal("29.00")
    assert creditor.default_reminderfee == Decimal("60.00")
    assert creditor.default_currency == "SEK"
    assert creditor.billecta_settings is not None
    assert creditor.billecta_settings["InvoicePaymentTermsInDays"] == 20
    batch, _ = await batch_and_logs(session, batch_id)
    assert batch.status == "ok"


async def test_a_creditor_unknown_to_billecta_is_a_clear_failure(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, 1, "cred-missing", name="Acme AB")

    batch_id = await _run(session, ctx)

    _, logs = await batch_and_logs(session, batch_id)
    assert logs[1].status == "error"
    assert logs[1].message == "Creditor 1 (Acme AB): Billecta has no creditor cred-missing"
    creditor = await session.get(Creditor, 1, populate_existing=True)
    assert creditor is not None and creditor.billecta_error_message == logs[1].message


async def test_a_refused_update_keeps_the_fetched_settings_and_records_why(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, 1, "cred-A", name="Acme AB")
    fake.add_creditor("cred-A")
    fake.fail("update_creditor", httpx.Response(400, json={"Message": "OrgNo cannot change"}))

    batch_id = await _run(session, ctx)

    _, logs = await batch_and_logs(session, batch_id)
    assert (
        logs[1].message
        == "Creditor 1 (Acme AB): Billecta rejected the request: OrgNo cannot change"
    )
    creditor = await session.get(Creditor, 1, populate_existing=True)
    assert creditor is not None and creditor.default_invoicefee == Decimal("29.00")
    assert creditor.billecta_error_message == logs[1].message
