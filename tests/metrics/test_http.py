"""API metrics: requests by route template (never an id), Billecta calls by route name, retries
and slots, and the /metrics endpoint."""

from __future__ import annotations

import httpx
import respx
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient, Priority
from tests.conftest import BILLECTA_AUTH, BILLECTA_URL
from tests.invoices.factories import invoice_action, seed_invoice

NEXT = "/limepkg-billecta-integration/billecta/get-invoice-next-event"
NEXT_TEMPLATE = "/limepkg-billecta-integration/billecta/get-invoice-next-event/{invoice_id}"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_requests_are_counted_by_route_template(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_invoice(session)
    labels = {"method": "GET", "route": NEXT_TEMPLATE}
    before = value("billecta_gateway_http_requests_total", **labels, status="200")
    missing_before = value("billecta_gateway_http_requests_total", **labels, status="404")
    timed_before = value("billecta_gateway_http_request_duration_seconds_count", **labels)
    billecta_before = value(
        "billecta_gateway_client_requests_total",
        client="billecta",
        route="get_invoice_action",
        status="200",
    )
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/invoice/action/inv-act-1001").respond(200, json=invoice_action())
        assert (await client.get(f"{NEXT}/1001")).status_code == 200
    assert (await client.get(f"{NEXT}/999999")).status_code == 404

    assert value("billecta_gateway_http_requests_total", **labels, status="200") == before + 1
    assert (
        value("billecta_gateway_http_requests_total", **labels, status="404") == missing_before + 1
    )
    assert value("billecta_gateway_http_request_duration_seconds_count", **labels) == (
        timed_before + 2
    )
    assert (
        value(
            "billecta_gateway_client_requests_total",
            client="billecta",
            route="get_invoice_action",
            status="200",
        )
        == billecta_before + 1
    )
    scraped = (await client.get("/metrics")).text
    assert f'route="{NEXT_TEMPLATE}"' in scraped
    # Ids never become labels.
    assert "/999999" not in scraped and "inv-act-1001" not in scraped


async def test_an_unknown_path_is_one_series(anon_client: httpx.AsyncClient) -> None:
    before = value(
        "billecta_gateway_http_requests_total", method="GET", route="unmatched", status="404"
    )
    for n in range(3):
        await anon_client.get(f"/no/such/path/{n}")
    after = value(
        "billecta_gateway_http_requests_total", method="GET", route="unmatched", status="404"
    )
    assert after == before + 3


async def test_metrics_is_open_and_in_the_text_format(anon_client: httpx.AsyncClient) -> None:
    response = await anon_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE billecta_gateway_http_requests_total counter" in response.text


async def test_retries_and_slots_are_reported() -> None:
    client = BillectaClient(
        base_url=BILLECTA_URL,
        authentication=BILLECTA_AUTH,
        max_retries=2,
        retry_base_delay=0.001,
        max_concurrency=3,
        interactive_reserved=1,
    )
    labels = {"client": "billecta", "route": "get_creditor"}
    retries_before = value("billecta_gateway_client_retries_total", **labels)
    failed_before = value("billecta_gateway_client_requests_total", **labels, status="503")
    seen: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(
            value(
                "billecta_gateway_client_requests_in_flight",
                client="billecta",
                priority="interactive",
            )
        )
        return httpx.Response(503) if len(seen) == 1 else httpx.Response(200, json={})

    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        billecta.get("/v1/creditors/creditor/c-1").mock(side_effect=answer)
        await client.handle_api_request("GET", "/v1/creditors/creditor/c-1")
    await client.aclose()

    assert value("billecta_gateway_client_retries_total", **labels) == retries_before + 1
    assert (
        value("billecta_gateway_client_requests_total", **labels, status="503") == failed_before + 1
    )
    assert seen == [1.0, 1.0]
    for priority in Priority:
        assert (
            value(
                "billecta_gateway_client_requests_in_flight", client="billecta", priority=priority
            )
            == 0
        )
        assert (
            value("billecta_gateway_client_requests_waiting", client="billecta", priority=priority)
            == 0
        )
