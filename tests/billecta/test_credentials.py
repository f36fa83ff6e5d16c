"""A 401/403 is BillectaCredentialsRefused: permanent, never retried, told to the observer."""

from __future__ import annotations

import httpx
import pytest
import respx

from billecta_gateway.billecta import BillectaClient, BillectaCredentialsRefused, CredentialsRefusal

BASE = "https://billecta.test"
TOKEN = "SecureToken dGVzdA=="


@pytest.mark.parametrize("status", [401, 403])
@respx.mock
async def test_refused_credentials_are_permanent_and_observed(status: int) -> None:
    seen: list[CredentialsRefusal | None] = []

    async def observe(refusal: CredentialsRefusal | None) -> None:
        seen.append(refusal)

    route = respx.get(f"{BASE}/v1/debtors/debtor/d1")
    route.side_effect = [
        httpx.Response(status, json={"Message": "Authorization has been denied"}),
        httpx.Response(200, json={"DebtorPublicId": "d1", "CreditorPublicId": "c1"}),
    ]
    async with BillectaClient(
        base_url=BASE,
        authentication=TOKEN,
        max_retries=3,
        retry_base_delay=0,
        credentials_observer=observe,
    ) as client:
        with pytest.raises(BillectaCredentialsRefused) as raised:
            await client.get_debtor("d1")
        assert route.call_count == 1  # a GET, yet not retried
        error = raised.value
        assert (error.status_code, error.retryable) == (status, False)
        assert error.message == (
            f"Billecta refused the credentials ({status} to GET /v1/debtors/debtor/d1: "
            "Authorization has been denied); renew BILLECTA_AUTHENTICATION"
        )
        assert TOKEN.split(" ")[1] not in error.message
        assert client.credentials_refused is not None
        assert client.credentials_refused.path == "/v1/debtors/debtor/{debtor_public_id}"

        await client.get_debtor("d1")
        assert client.credentials_refused is None
    [refusal, accepted] = seen
    assert refusal is not None and refusal.status_code == status and accepted is None


@respx.mock
async def test_an_observer_that_fails_does_not_change_the_answer() -> None:
    async def broken(refusal: CredentialsRefusal | None) -> None:
        raise RuntimeError("database down")

    respx.get(f"{BASE}/v1/creditors/creditors").respond(200, json=[])
    async with BillectaClient(
        base_url=BASE, authentication=TOKEN, credentials_observer=broken
    ) as client:
        assert await client.list_creditors() == []
