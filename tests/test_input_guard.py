"""Input PostgreSQL cannot store is refused before any route code runs, with the route's
documented validation error; a body that is not UTF-8 gets the same answer as one that is
not JSON; every `errors` item has a string `loc` and a `type`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import AuditRecord, Debtor

PREFIX = "/limepkg-billecta-integration"


def assert_field_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The documented shape of every item: string loc, field, message and type."""
    assert isinstance(body["error_message"], str)
    errors = body["errors"]
    assert errors
    for item in errors:
        assert set(item) == {"loc", "field", "message", "type"}, item
        assert all(isinstance(part, str) for part in item["loc"]), item
        assert all(isinstance(item[k], str) and item[k] for k in ("field", "message", "type"))
    return list(errors)


@pytest.mark.parametrize("name", ["limetype", "event_type", "creditorpublicid"])
async def test_a_nul_in_a_query_parameter_is_a_422_not_a_500(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await client.get(f"{PREFIX}/webhook-events", params={name: "in\x00voice"})
    assert response.status_code == 422, response.text
    errors = assert_field_errors(response.json())
    assert [(e["loc"], e["type"]) for e in errors] == [(["query", name], "control_character")]


async def test_a_control_character_in_a_body_string_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.put(
        f"{PREFIX}/limeobjects/debtor/1001", json={"name": "Acme\u0000 AB", "city": "Ok\u001bA"}
    )
    assert response.status_code == 422, response.text
    errors = assert_field_errors(response.json())
    assert sorted(e["loc"] for e in errors) == [["body", "city"], ["body", "name"]]
    assert await session.scalar(select(func.count()).select_from(Debtor)) == 0


async def test_tabs_and_line_breaks_are_ordinary_text(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.put(
        f"{PREFIX}/limeobjects/debtor/1001", json={"name": "Acme\tAB", "address": "Box 1\r\nGata"}
    )
    assert response.status_code in (200, 201), response.text
    debtor = await session.scalar(select(Debtor).where(Debtor.id == 1001))
    assert debtor is not None and debtor.address == "Box 1\r\nGata"


async def test_an_escaped_backslash_u_is_not_a_control_character(
    client: httpx.AsyncClient,
) -> None:
    response = await client.put(
        f"{PREFIX}/limeobjects/debtor/1001",
        content=b'{"name": "C:\\\\u0000 AB"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (200, 201), response.text
    assert response.json()["name"] == "C:\\u0000 AB"


async def test_a_path_id_beyond_int64_is_a_422_and_is_still_audited(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    too_big = str(2**63)
    response = await client.put(f"{PREFIX}/limeobjects/debtor/{too_big}", json={"name": "X"})
    assert response.status_code == 422, response.text
    errors = assert_field_errors(response.json())
    assert [(e["loc"], e["type"]) for e in errors] == [(["path", "id"], "int64_out_of_range")]
    assert await session.scalar(select(func.count()).select_from(Debtor)) == 0
    audit = (await session.scalars(select(AuditRecord))).all()
    assert [(a.method, a.status_code, a.object_id) for a in audit] == [("PUT", 422, None)]
    largest = await client.get(f"{PREFIX}/limeobjects/debtor/{2**53 - 1}")
    assert largest.status_code == 404, largest.text


async def test_a_query_integer_beyond_int64_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{PREFIX}/limeobjects/debtor", params={"changed_after": "9" * 30})
    assert response.status_code == 422, response.text
    errors = assert_field_errors(response.json())
    assert [e["loc"] for e in errors] == [["query", "changed_after"]]


async def test_a_nul_in_a_path_segment_is_refused_and_audited(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.delete(f"{PREFIX}/limeobjects/deb%00tor/5")
    assert response.status_code == 422, response.text
    assert_field_errors(response.json())
    audit = (await session.scalars(select(AuditRecord))).all()
    assert len(audit) == 1 and "\x00" not in audit[0].path and audit[0].status_code == 422


async def test_a_body_that_is_not_utf8_gets_the_json_error_of_the_route(
    client: httpx.AsyncClient,
) -> None:
    not_utf8 = b'{"invoice_id": "\xff\xfe"}'
    answers = []
    for path in ("billecta/register-manual-payment", "task/upsert-debtors-in-billecta"):
        response = await client.post(
            f"{PREFIX}/{path}", content=not_utf8, headers={"content-type": "application/json"}
        )
        answers.append(response.status_code)
        errors = assert_field_errors(response.json())
        assert [(e["loc"], e["type"]) for e in errors] == [(["body"], "json_invalid")]
    not_json = await client.post(
        f"{PREFIX}/billecta/register-manual-payment",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert answers == [422, 422] and not_json.status_code == 422
    assert assert_field_errors(not_json.json())[0]["type"] == "json_invalid"


async def test_a_spec_400_route_answers_an_undecodable_body_as_its_other_field_errors(
    client: httpx.AsyncClient,
) -> None:
    """Its spec's 400 is for a bad `postpone_days`; a body it cannot read is its 422."""
    response = await client.put(
        f"{PREFIX}/billecta/invoice-postpone-next-event/",
        content=b'{"invoice_id": 1, "postpone_days": "\xff"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert assert_field_errors(response.json())[0]["type"] == "json_invalid"
    bad_days = await client.put(
        f"{PREFIX}/billecta/invoice-postpone-next-event/",
        json={"invoice_id": 1, "postpone_days": "x"},
    )
    assert bad_days.status_code == 400


async def test_service_field_errors_carry_a_type_and_string_locs(
    client: httpx.AsyncClient,
) -> None:
    inverted = {"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}
    for path in ("integration-monitor/batches", "webhook-events"):
        response = await client.get(f"{PREFIX}/{path}", params=inverted)
        assert response.status_code == 422, response.text
        assert_field_errors(response.json())
    no_limetype = await client.get(f"{PREFIX}/webhook-events", params={"object_id": 5})
    assert no_limetype.status_code == 422
    assert assert_field_errors(no_limetype.json())[0]["type"] == "value_error"


async def test_query_filter_errors_locate_list_items_with_strings(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        f"{PREFIX}/task/upsert-debtors-in-billecta",
        json={
            "query_filter": {
                "op": "AND",
                "exp": [{"key": "_id", "op": "=", "exp": 1}, {"key": "nope", "op": "=", "exp": 2}],
            }
        },
    )
    assert response.status_code == 422, response.text
    errors = assert_field_errors(response.json())
    assert [e["loc"] for e in errors] == [["query_filter", "exp", "1", "key"]]


async def test_a_body_integer_beyond_int64_is_a_422_and_a_long_digit_string_is_not(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.put(
        f"{PREFIX}/limeobjects/debtor/1001", json={"name": "Acme AB", "person": 2**64}
    )
    assert response.status_code == 422, response.text
    errors = assert_field_errors(response.json())
    assert [(e["loc"], e["type"]) for e in errors] == [(["body", "person"], "int64_out_of_range")]
    assert await session.scalar(select(func.count()).select_from(Debtor)) == 0
    digits = await client.put(
        f"{PREFIX}/limeobjects/debtor/1001", json={"name": "Acme AB", "orgno": "9" * 25}
    )
    assert digits.status_code in (200, 201), digits.text
