"""The sandbox in-process: the real BillectaClient over ASGITransport, a control client, and a
small webhook receiver the sandbox delivers to (also in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta import schemas as s
from billecta_gateway.sandbox import Sandbox, SandboxConfig, SeedCreditor, create_sandbox_app

# The sandbox keeps Billecta's clock: Stockholm time. Dates a test compares with the sandbox's
# come from that clock too, so a run between 23:00 and 24:00 UTC sees the same day.
BILLECTA_ZONE = ZoneInfo("Europe/Stockholm")


def billecta_today() -> date:
    """Today on Billecta's clock."""
    return datetime.now(BILLECTA_ZONE).date()


def billecta_midnight() -> datetime:
    """Today's midnight on Billecta's clock."""
    return datetime.now(BILLECTA_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)


AUTH = "SecureToken c2FuZGJveC10ZXN0LXRva2Vu"
CID = "5a1e2b3c-0000-4000-8000-00000000c001"
CID2 = "5a1e2b3c-0000-4000-8000-00000000c002"
HOOK_URL = "http://receiver.test/limepkg-billecta-integration/billecta-webhook-receiver"
HOOK_KEY = "sandbox-webhook-key"


@dataclass
class Receiver:
    """Records what reaches the webhook receiver; can be told to fail the next deliveries."""

    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 503

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/limepkg-billecta-integration/billecta-webhook-receiver")
        async def receive(request: Request) -> JSONResponse:
            if request.headers.get("x-api-key") != HOOK_KEY:
                return JSONResponse({"error_message": "bad key"}, status_code=401)
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse({"error_message": "busy"}, status_code=self.fail_status)
            self.received.append(await request.json())
            self.headers.append(dict(request.headers))
            return JSONResponse({"status": "accepted"})

        return app

    def types(self) -> list[str]:
        return [body["Event"] for body in self.received]

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [body for body in self.received if body["Event"] == event_type]


def make_config(**overrides: Any) -> SandboxConfig:
    values: dict[str, Any] = {
        "authentication": AUTH,
        "creditors": [
            SeedCreditor(public_id=CID, name="Testbolaget AB"),
            SeedCreditor(public_id=CID2, name="Andra Bolaget AB", next_invoice_number=5001),
        ],
        "seed": "tests",
        "webhook_url": HOOK_URL,
        "webhook_header_value": HOOK_KEY,
        "webhook_retry_schedule": (0.01, 0.02, 0.03),
    }
    values.update(overrides)
    return SandboxConfig(**values)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def config() -> SandboxConfig:
    return make_config()


@pytest.fixture
async def sandbox_app(config: SandboxConfig, receiver: Receiver) -> AsyncIterator[FastAPI]:
    app = create_sandbox_app(config, webhook_transport=httpx.ASGITransport(app=receiver.app()))
    yield app
    await app.state.sandbox.aclose()


@pytest.fixture
def sandbox(sandbox_app: FastAPI) -> Sandbox:
    found: Sandbox = sandbox_app.state.sandbox
    return found


@pytest.fixture
async def billecta(sandbox_app: FastAPI) -> AsyncIterator[BillectaClient]:
    """The gateway's own client, talking to the sandbox."""
    client = BillectaClient(
        base_url="http://sandbox",
        authentication=AUTH,
        transport=httpx.ASGITransport(app=sandbox_app),
        max_retries=0,
    )
    yield client
    await client.aclose()


@pytest.fixture
async def control(sandbox_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for the control endpoints (and raw Billecta requests)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as client:
        yield client


def sek(value: str) -> s.BillectaAmount:
    return s.BillectaAmount.from_decimal(Decimal(value), "SEK")


def debtor_model(external_id: str = "lime-1001", **extra: Any) -> s.BillectaDebtor:
    values: dict[str, Any] = {
        "creditor_public_id": CID,
        "debtor_external_id": external_id,
        "name": "Anna Svensson",
        "org_no": "19800101-1234",
        "email": "anna@example.com",
        "address": "Storgatan 1",
        "zip_code": "111 22",
        "city": "Stockholm",
        "debtor_type": "Private",
    }
    values.update(extra)
    return s.BillectaDebtor(**values)


def entry_model(
    debtor_id: str,
    *,
    price: str = "1000.00",
    quantity: str = "1",
    vat: str = "25",
    product_id: str | None = None,
    delivery: str | None = "Email",
    **extra: Any,
) -> s.BillectaInvoiceActionEntry:
    today = billecta_midnight()
    values: dict[str, Any] = {
        "creditor_public_id": CID,
        "debtor_public_id": debtor_id,
        "invoice_date": today,
        "due_date": today + timedelta(days=30),
        "delivery_method": delivery,
        "communication_language": "SV",
        "records": [
            s.BillectaInvoiceActionRecord(
                product_public_id=product_id,
                article_description="Hyra",
                quantity=Decimal(quantity),
                unit_price=sek(price),
                vat=Decimal(vat),
                record_type="Standard",
            )
        ],
    }
    values.update(extra)
    return s.BillectaInvoiceActionEntry(**values)


async def new_debtor(billecta: BillectaClient, external_id: str = "lime-1001") -> str:
    return await billecta.create_debtor(debtor_model(external_id))


async def sent_invoice(
    billecta: BillectaClient, debtor_id: str | None = None, **entry: Any
) -> s.BillectaInvoiceAction:
    """A created, attested and sent invoice (1,000 SEK + 25 % VAT = 1,250 SEK by default)."""
    debtor_id = debtor_id or await new_debtor(billecta)
    action_id = await billecta.create_invoice_action(entry_model(debtor_id, **entry))
    await billecta.attest_invoice_action(action_id)
    return await billecta.get_invoice_action(action_id)


async def flush(control: httpx.AsyncClient) -> dict[str, Any]:
    response = await control.post("/_sandbox/webhooks/flush", params={"wait": 10})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
