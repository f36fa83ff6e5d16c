"""The event log: Billecta's events for invoices, orders, cases and debtors; the gateway's own
records for creditors and payments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.eventlog.service import INVALID, MISSING, NOT_IN_BILLECTA
from billecta_gateway.models import (
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    WebhookEvent,
    WebhookEventObject,
)
from tests.conftest import BILLECTA_URL
from tests.invoices.factories import (
    CONNECT_ERROR,
    CREDITOR_ID,
    seed_creditor,
    seed_debtcollection,
    seed_debtor,
    seed_invoice,
    seed_order,
    seed_payment,
)

BASE = "/limepkg-billecta-integration/billecta/event-log"


def _event(title: str, when: str, *, occurred: bool = True, content: str = "") -> dict[str, Any]:
    return {
        "Title": title,
        "Content": content,
        "EventDate": when,
        "EventType": "Created",
        "HasOccured": occurred,
    }


INVOICE_EVENTS = [
    _event("Invoice Attested", "2025-09-20T10:30:00", content="Invoice was attested"),
    _event("Reminder will be sent", "2025-10-20T00:00:00", occurred=False),
    _event("Payment Received", "2025-09-25T14:15:00", content="Payment received from debtor"),
]


async def test_invoice_events_newest_first_without_planned_ones(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/events/inv-act-1001").respond(200, json=INVOICE_EVENTS)
        response = await client.get(f"{BASE}/invoice/1001")
        with_slash = await client.get(f"{BASE}/invoice/1001/")

    assert response.status_code == with_slash.status_code == 200
    assert response.json() == [
        {
            "eventdate": "2025-09-25 14:15:00",
            "title": "Payment Received",
            "content": "Payment received from debtor",
        },
        {
            "eventdate": "2025-09-20 10:30:00",
            "title": "Invoice Attested",
            "content": "Invoice was attested",
        },
    ]


async def test_order_and_case_events_come_from_their_billecta_actions(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_order(session, actionpublicid="order-act-6001")
    await seed_debtcollection(session)
    utc_event = _event("Sent to bailiff", "2025-06-30T22:30:00Z")
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/events/order-act-6001").respond(200, json=[])
        billecta.get("/v1/debtcollection/events/dc-act-3001").respond(200, json=[utc_event])
        order = await client.get(f"{BASE}/order/6001")
        case = await client.get(f"{BASE}/debtcollection/3001")
    assert order.status_code == 200
    assert order.json() == []
    assert case.json() == [
        {"eventdate": "2025-07-01 00:30:00", "title": "Sent to bailiff", "content": ""}
    ]


async def test_debtor_events_from_every_creditor_it_is_synced_to(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_debtor(session, debtorpublicids=("deb-a", "deb-b"))
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/debtors/debtorevents/deb-a").respond(
            200, json=[_event("Updated", "2025-01-01T09:00:00")]
        )
        billecta.get("/v1/debtors/debtorevents/deb-b").respond(
            200, json=[_event("Created", "2025-02-01T09:00:00")]
        )
        response = await client.get(f"{BASE}/debtor/2001")
    assert [row["title"] for row in response.json()] == ["Created", "Updated"]


async def test_creditor_and_payment_events_come_from_the_gateways_records(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_creditor(session)
    await seed_payment(session)
    event = WebhookEvent(
        dedupe_key="evt-1",
        event_type="UnmatchedPayment",
        payload={},
        status="processed",
        created=datetime(2025, 3, 1, 8, 0, tzinfo=UTC),
    )
    failed = WebhookEvent(
        dedupe_key="evt-2",
        event_type="OverpaymentMatchedToInvoice",
        payload={},
        status="failed",
        last_error="Invoice not found",
        created=datetime(2025, 3, 2, 8, 0, tzinfo=UTC),
    )
    batch = IntegrationMonitorBatch(title="Update creditor in Billecta", task="update_creditor")
    session.add_all([event, failed, batch])
    await session.flush()
    session.add_all(
        [
            WebhookEventObject(event_id=event.id, limetype="payment", object_id=4001),
            WebhookEventObject(event_id=failed.id, limetype="payment", object_id=4001),
            IntegrationMonitorLog(
                batch_id=batch.id,
                limetype="creditor",
                object_id=CREDITOR_ID,
                status="error",
                message="Billecta answered 400",
            ),
        ]
    )
    await session.commit()

    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        payment = await client.get(f"{BASE}/payment/4001")
        creditor = await client.get(f"{BASE}/creditor/{CREDITOR_ID}")
    assert billecta.calls.call_count == 0
    assert payment.json() == [
        {
            "eventdate": "2025-03-02 09:00:00",
            "title": "OverpaymentMatchedToInvoice",
            "content": "Billecta webhook, failed: Invoice not found",
        },
        {
            "eventdate": "2025-03-01 09:00:00",
            "title": "UnmatchedPayment",
            "content": "Billecta webhook, processed",
        },
    ]
    rows = creditor.json()
    assert [(r["title"], r["content"]) for r in rows] == [
        ("Update creditor in Billecta", "Integration monitor, error: Billecta answered 400")
    ]
    assert len(rows[0]["eventdate"]) == len("2025-03-02 09:00:00")


async def test_unsupported_limetype_or_id_is_a_400(client: httpx.AsyncClient) -> None:
    for path in ("article/1", "invoice/abc", "invoice/0"):
        response = await client.get(f"{BASE}/{path}")
        assert response.status_code == 400, path
        assert response.json() == {"error_message": INVALID}


@pytest.mark.parametrize("limetype", ["invoice", "order", "debtcollection", "debtor", "payment"])
async def test_missing_object_is_a_404_without_billecta(
    client: httpx.AsyncClient, limetype: str
) -> None:
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        response = await client.get(f"{BASE}/{limetype}/9999")
    assert billecta.calls.call_count == 0
    assert response.status_code == 404
    assert response.json() == {"error_message": MISSING}


async def test_object_without_billecta_id_is_a_404_without_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session, actionpublicid=None)
    await seed_debtor(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=False) as billecta:
        invoice = await client.get(f"{BASE}/invoice/1001")
        debtor = await client.get(f"{BASE}/debtor/2001")
    assert billecta.calls.call_count == 0
    assert invoice.status_code == debtor.status_code == 404
    assert invoice.json() == debtor.json() == {"error_message": MISSING}


@pytest.mark.parametrize(
    ("billecta_answer", "status"),
    [
        (httpx.Response(404), 404),
        (httpx.Response(400, json={"Message": "Bad"}), 502),
        (CONNECT_ERROR, 503),
    ],
)
async def test_event_log_when_billecta_fails(
    client: httpx.AsyncClient, session: AsyncSession, billecta_answer: object, status: int
) -> None:
    await seed_invoice(session)
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/events/inv-act-1001").mock(side_effect=[billecta_answer])
        response = await client.get(f"{BASE}/invoice/1001")
    assert response.status_code == status
    assert set(response.json()) == {"error_message"}
    if status == 404:
        assert response.json() == {"error_message": NOT_IN_BILLECTA}
