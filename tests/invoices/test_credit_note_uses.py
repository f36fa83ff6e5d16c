"""A credit note is spent once: uses are recorded, serialised, and drawn from what is left."""

from __future__ import annotations

from decimal import Decimal

import httpx
import respx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.invoices.credit_use import credit_left
from billecta_gateway.models import CreditNoteUse, Invoice
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import invoice_action, reload, seed_invoice, sent_json

USE_CREDIT = "/limepkg-billecta-integration/billecta/use-credit-on-invoice"
CREDIT_NOTE = "/v1/invoice/action/credit-act-1003"


async def _seed(session: AsyncSession) -> None:
    await seed_invoice(session)
    await seed_invoice(session, id=1002, actionpublicid="inv-act-1002")
    await seed_invoice(session, id=1003, actionpublicid="credit-act-1003", is_credit_invoice=True)


def _credit_note(current: int) -> dict[str, object]:
    return invoice_action(
        "credit-act-1003",
        action_type="CreditInvoiceAction",
        invoiced=-30_000,
        current=current,
        invoice_number="K-3",
    )


async def test_a_credit_note_used_once_cannot_be_used_on_a_second_invoice(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        # The suspect call credits the target only: Billecta keeps reporting -300 left.
        note = billecta.get(CREDIT_NOTE).respond(200, json=_credit_note(-30_000))
        first = billecta.get("/v1/invoice/action/inv-act-1001").respond(
            200, json=invoice_action("inv-act-1001", invoiced=50_000)
        )
        billecta.get("/v1/invoice/action/inv-act-1002").respond(
            200, json=invoice_action("inv-act-1002", invoiced=50_000)
        )
        credit = billecta.put("/v1/invoice/credit").respond(200)
        on_a = await client.post(
            USE_CREDIT, json={"creditinvoiceid": 1003, "invoicetocreditid": 1001}
        )
        on_b = await client.post(
            USE_CREDIT, json={"creditinvoiceid": 1003, "invoicetocreditid": 1002}
        )

    assert on_a.status_code == 200
    assert on_b.status_code == 409
    assert on_b.json() == {"message": "Credit invoice 1003 has no credit left"}
    assert credit.call_count == 1
    sent = sent_json(credit.calls.last)
    assert sent["ActionPublicId"] == "inv-act-1001"
    assert sent["Value"]["Value"] == 30_000
    assert sent["CreditInvoiceActionPublicId"] == "credit-act-1003"
    use = (await session.scalars(select(CreditNoteUse))).one()
    assert (use.credit_invoice, use.target_invoice, use.amount) == (1003, 1001, Decimal("300"))
    assert (use.status, use.billecta_answer, use.reflected_at) == ("ok", "2xx", None)
    assert use.reference in sent["Comment"]
    # Both invoices were read back after the use: the credit note once more than its reads.
    assert note.call_count == 3
    assert first.call_count == 2
    assert (await reload(session, Invoice, 1003)).invoice_balance == Decimal("-300")


async def test_a_use_billecta_reflected_leaves_the_rest_of_the_credit(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _seed(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        note = billecta.get(CREDIT_NOTE)
        note.respond(200, json=_credit_note(-30_000))
        billecta.get("/v1/invoice/action/inv-act-1001").respond(
            200, json=invoice_action("inv-act-1001", invoiced=10_000)
        )
        billecta.get("/v1/invoice/action/inv-act-1002").respond(
            200, json=invoice_action("inv-act-1002", invoiced=50_000)
        )
        credit = billecta.put("/v1/invoice/credit").respond(200)
        await client.post(USE_CREDIT, json={"creditinvoiceid": 1003, "invoicetocreditid": 1001})
        note.respond(200, json=_credit_note(-20_000))
        on_b = await client.post(
            USE_CREDIT, json={"creditinvoiceid": 1003, "invoicetocreditid": 1002}
        )

    assert on_b.status_code == 200
    assert [sent_json(c)["Value"]["Value"] for c in credit.calls] == [10_000, 20_000]
    uses = list(await session.scalars(select(CreditNoteUse).order_by(CreditNoteUse.id)))
    assert [u.amount for u in uses] == [Decimal("100"), Decimal("200")]
    assert uses[0].reflected_at is not None and uses[1].reflected_at is None


def test_credit_left_subtracts_only_the_uses_billecta_has_not_reflected() -> None:
    from datetime import UTC, datetime

    def use(amount: str, before: str) -> CreditNoteUse:
        return CreditNoteUse(amount=Decimal(amount), available_before=Decimal(before))

    now = datetime.now(UTC)
    assert credit_left(Decimal(300), [], now=now) == Decimal(300)
    assert credit_left(Decimal(300), [use("300", "300")], now=now) == Decimal(0)
    assert credit_left(Decimal(0), [use("300", "300")], now=now) == Decimal(0)
    partly = [use("100", "300"), use("50", "200")]
    assert credit_left(Decimal(200), partly, now=now) == Decimal(150)
    assert partly[0].reflected_at == now and partly[1].reflected_at is None
