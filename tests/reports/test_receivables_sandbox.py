"""A past-dated receivables report against the Billecta sandbox: an invoice only Billecta holds,
paid (and closed) after the report date, is in the report with its balance at the date."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.models import Creditor
from billecta_gateway.reports.output import render_report
from billecta_gateway.reports.receivables import build_receivables_report
from billecta_gateway.reports.schemas import AccountReceivablesReportRequest
from billecta_gateway.sandbox import create_sandbox_app
from tests.reports.helpers import sheet_rows
from tests.reports.test_receivables import as_values
from tests.sandbox.conftest import AUTH, CID, make_config, new_debtor, sent_invoice

ZONE = ZoneInfo("Europe/Stockholm")
D = Decimal


@pytest.fixture
async def sandbox_billecta() -> AsyncIterator[tuple[BillectaClient, httpx.AsyncClient]]:
    app = create_sandbox_app(make_config(webhook_url=None))
    transport = httpx.ASGITransport(app=app)
    client = BillectaClient(
        base_url="http://sandbox", authentication=AUTH, transport=transport, max_retries=0
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as control:
        yield client, control
    await client.aclose()
    await app.state.sandbox.aclose()


async def report_rows(
    session: AsyncSession, billecta: BillectaClient, creditor: Creditor, day: datetime
) -> list[tuple[object, ...]]:
    today = datetime.now(ZONE).date()
    params = AccountReceivablesReportRequest(idcreditor=creditor.id, date=day.date())
    report, streams = await build_receivables_report(
        session,
        billecta=billecta,
        creditor=creditor,
        creditor_public_id=CID,
        params=params,
        zone=ZONE,
        today=today,
    )
    content = await render_report(report, "xlsx", streams=streams)
    return [as_values(row) for row in sheet_rows(content, "Invoices")[1:]]


async def test_invoice_paid_after_the_date_is_in_a_past_dated_report(
    session: AsyncSession, sandbox_billecta: tuple[BillectaClient, httpx.AsyncClient]
) -> None:
    billecta, control = sandbox_billecta
    creditor = Creditor(id=1501, name="Sandlådan AB", creditorpublicid=CID)
    session.add(creditor)
    await session.commit()
    start = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    issued, due = start - timedelta(days=40), start - timedelta(days=10)
    debtor = await new_debtor(billecta)
    paid = await sent_invoice(billecta, debtor, invoice_date=issued, due_date=due)
    unpaid = await sent_invoice(billecta, debtor, invoice_date=issued, due_date=due)
    response = await control.post(
        "/_sandbox/payments/incoming", json={"action_public_id": paid.action_public_id}
    )
    assert response.status_code == 200, response.text
    closed = await billecta.get_closed_invoices(CID, start.date(), start.date())
    assert [item.action_public_id for item in closed] == [paid.action_public_id]

    past = await report_rows(session, billecta, creditor, start - timedelta(days=5))
    numbers = {row[1]: row for row in past if row[0] != "Total"}
    assert set(numbers) == {paid.invoice_number, unpaid.invoice_number}
    # Its balance at the date: what it owed before today's payment (1,000 + 25 % VAT).
    assert numbers[paid.invoice_number][6:13] == ("SEK", D(1250), None, None, None, D(1250), 5)
    assert past[-1][6:12] == ("SEK", D(2500), D(0), D(0), D(0), D(2500))

    now = await report_rows(session, billecta, creditor, start.astimezone(ZONE))
    assert [row[1] for row in now if row[0] != "Total"] == [unpaid.invoice_number]
