"""The database's binding to one Billecta: recorded on first use, refused elsewhere, rebound on
purpose; what Billecta says of the credentials reaches /readyz."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.billecta import BillectaCredentialsRefused, CredentialsRefusal
from billecta_gateway.binding.service import (
    BillectaBindingMismatch,
    check_binding,
    rebind,
    record_credentials,
)
from billecta_gateway.models import BillectaBinding
from billecta_gateway.worker import _startup
from tests.conftest import BILLECTA_URL, make_settings
from tests.tasks.support import add_creditor

APITEST = "https://apitest.billecta.com"
PRODUCTION = "https://api.billecta.com"
MONITOR = "/limepkg-billecta-integration/integration-monitor/batches"


async def _binding(session: AsyncSession) -> BillectaBinding:
    found = await session.scalar(select(BillectaBinding).execution_options(populate_existing=True))
    assert found is not None
    return found


async def test_first_use_records_the_base_url_and_the_creditors(session: AsyncSession) -> None:
    await add_creditor(session, 1, "cred-A")
    await add_creditor(session, 2, None)
    await check_binding(session, base_url="HTTPS://APItest.billecta.com/")
    binding = await _binding(session)
    assert binding.base_url == APITEST
    assert binding.creditor_public_ids == ["cred-A"]
    # Creditors met later are added; the same Billecta passes.
    await add_creditor(session, 3, "cred-C")
    await check_binding(session, base_url=APITEST)
    assert (await _binding(session)).creditor_public_ids == ["cred-A", "cred-C"]


async def test_another_billecta_is_refused_and_changes_nothing(session: AsyncSession) -> None:
    await add_creditor(session, 1, "cred-A")
    await check_binding(session, base_url=APITEST)
    await add_creditor(session, 2, "cred-B")
    with pytest.raises(BillectaBindingMismatch) as raised:
        await check_binding(session, base_url=PRODUCTION)
    message = raised.value.message
    assert f"belongs to Billecta {APITEST}" in message and f"is {PRODUCTION}" in message
    assert "billecta-gateway rebind-billecta --yes" in message
    binding = await _binding(session)
    assert (binding.base_url, binding.creditor_public_ids) == (APITEST, ["cred-A"])


async def test_rebind_needs_confirmation_then_moves_the_binding(session: AsyncSession) -> None:
    await add_creditor(session, 1, "cred-A")
    await check_binding(session, base_url=APITEST)
    await record_credentials(
        session, CredentialsRefusal(401, "GET", "/v1/x", datetime(2026, 12, 1, tzinfo=UTC))
    )

    message, bound = await rebind(session, base_url=PRODUCTION, confirmed=False)
    assert not bound and "cred-A" in message and "--yes" in message
    assert (await _binding(session)).base_url == APITEST

    message, bound = await rebind(session, base_url=PRODUCTION, confirmed=True)
    assert bound and message.startswith(f"Rebound the database from Billecta {APITEST}")
    binding = await _binding(session)
    assert (binding.base_url, binding.previous_base_url) == (PRODUCTION, APITEST)
    assert binding.rebound_at is not None and binding.credentials_refusal is None
    await check_binding(session, base_url=PRODUCTION)
    with pytest.raises(BillectaBindingMismatch):
        await check_binding(session, base_url=APITEST)


async def test_the_api_refuses_lime_calls_against_another_billecta(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await check_binding(session, base_url=PRODUCTION)
    await session.commit()
    response = await client.get(MONITOR)
    assert response.status_code == 503
    assert response.json()["error_message"].startswith(
        f"The database belongs to Billecta {PRODUCTION}"
    )
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["details"]["billecta_binding"] == (
        f"mismatch: bound to {PRODUCTION}, BILLECTA_BASE_URL is {BILLECTA_URL}"
    )


async def test_the_first_api_call_binds_the_database(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    assert (await client.get(MONITOR)).status_code == 200
    assert (await _binding(session)).base_url == BILLECTA_URL
    ready = (await client.get("/readyz")).json()
    assert ready["details"] == {
        "billecta_binding": f"bound to {BILLECTA_URL}",
        "billecta_credentials": "unknown (no call to Billecta yet)",
    }


async def test_a_credentials_refusal_shows_in_readyz_until_billecta_accepts_them(
    app: Any, client: httpx.AsyncClient
) -> None:
    assert (await client.get(MONITOR)).status_code == 200
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        creditors = billecta.get("/v1/creditors/creditors")
        creditors.side_effect = [
            httpx.Response(401, json={"Message": "Authorization has been denied"}),
            httpx.Response(200, json=[]),
        ]
        with pytest.raises(BillectaCredentialsRefused):
            await app.state.billecta.list_creditors()
        refused = (await client.get("/readyz")).json()
        assert refused["status"] == "ok"
        assert refused["details"]["billecta_credentials"].startswith(
            "Billecta refused the credentials (401 to GET /v1/creditors/creditors at "
        )
        await app.state.billecta.list_creditors()
    accepted = (await client.get("/readyz")).json()
    assert accepted["details"]["billecta_credentials"].startswith("accepted (")


async def test_the_worker_does_not_start_against_another_billecta(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with committed_sessionmaker() as session:
        await check_binding(session, base_url=PRODUCTION)
        await session.commit()
    ctx: dict[str, Any] = {}
    try:
        with pytest.raises(BillectaBindingMismatch, match=f"belongs to Billecta {PRODUCTION}"):
            await _startup(make_settings())(ctx)
    finally:
        await ctx["billecta"].aclose()
        await ctx["engine"].dispose()


async def test_the_worker_binds_on_first_start_and_reports_credentials(
    committed_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ctx: dict[str, Any] = {}
    try:
        await _startup(make_settings())(ctx)
        assert ctx["billecta"].credentials_observer is not None
        await ctx["billecta"].credentials_observer(
            CredentialsRefusal(
                403, "PUT", "/v1/invoice/attest/{action_public_id}", datetime.now(UTC)
            )
        )
    finally:
        await ctx["billecta"].aclose()
        await ctx["engine"].dispose()
    async with committed_sessionmaker() as session:
        binding = await _binding(session)
    assert binding.base_url == BILLECTA_URL
    assert binding.credentials_refusal is not None
    assert binding.credentials_refusal.startswith(
        "Billecta refused the credentials (403 to PUT /v1/invoice/attest/{action_public_id}"
    )
