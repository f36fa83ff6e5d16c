"""The read API: one object, filtered pages with keyset cursors, and hostile filters."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Debtor
from tests.lime.test_ingestion import OBJECTS, put

CITIES = ["Stockholm", "Lund", "Stockholm", "Malmö", "Stockholm", "Stockholm", "Umeå"]


@pytest.fixture
async def debtors(session: AsyncSession) -> list[int]:
    ids = []
    for index, city in enumerate(CITIES):
        ids.append(101 + index * 3)
        session.add(Debtor(id=ids[-1], name=f"Debtor {index}", city=city))
    await session.commit()
    return ids


async def list_page(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    if isinstance(params.get("q"), dict | list):
        params["q"] = json.dumps(params["q"])
    return await client.get(f"{OBJECTS}/debtor", params=params)


async def test_get_answers_the_stored_object(client: httpx.AsyncClient) -> None:
    await put(client, "debtor", 1001, name="Acme", countrycode="SE")
    response = await client.get(f"{OBJECTS}/debtor/1001")
    assert response.status_code == 200
    body = response.json()
    assert list(body)[:4] == ["_id", "_limetype", "_timestamp", "_change_no"]
    assert (body["_id"], body["name"], body["countrycode"], body["city"]) == (
        1001,
        "Acme",
        "SE",
        None,
    )
    assert "custom" not in body and "created_at" not in body


async def test_get_of_a_missing_object_is_404_json(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{OBJECTS}/debtor/999")
    assert response.status_code == 404
    assert response.json() == {"error_message": "debtor 999 not found"}


async def test_pages_follow_the_cursor_in_id_order(
    client: httpx.AsyncClient, debtors: list[int]
) -> None:
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = await list_page(client, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"objects", "next_cursor"}
        seen += [o["_id"] for o in body["objects"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == debtors
    assert pages == 3


async def test_q_filters_and_pages(client: httpx.AsyncClient, debtors: list[int]) -> None:
    q = {"key": "city", "op": "=", "exp": "Stockholm"}
    first = (await list_page(client, q=q, limit=2)).json()
    stockholm = [i for i, c in zip(debtors, CITIES, strict=True) if c == "Stockholm"]
    assert [o["_id"] for o in first["objects"]] == stockholm[:2]
    second = (await list_page(client, q=q, limit=2, cursor=first["next_cursor"])).json()
    assert [o["_id"] for o in second["objects"]] == stockholm[2:]
    assert second["next_cursor"] is None

    compound = {
        "op": "AND",
        "exp": [
            {"key": "city", "op": "IN", "exp": ["Lund", "Umeå"]},
            {"key": "_id", "op": ">", "exp": debtors[1]},
        ],
    }
    response = await list_page(client, q=compound)
    assert [o["_id"] for o in response.json()["objects"]] == [debtors[6]]


async def test_exact_page_size_ends_without_a_cursor(
    client: httpx.AsyncClient, debtors: list[int]
) -> None:
    body = (await list_page(client, limit=len(debtors))).json()
    assert len(body["objects"]) == len(debtors)
    assert body["next_cursor"] is None


@pytest.mark.parametrize(
    "q",
    [
        {"key": "nickname", "op": "=", "exp": "x"},
        {"key": "name; DROP TABLE debtor; --", "op": "=", "exp": "x"},
        {"key": "name", "op": "= 1 OR 1=1 --", "exp": "x"},
        {"key": "name", "op": "=", "exp": "x", "sql": "1=1"},
        {"key": "person.personalnumber.secret", "op": "=", "exp": "x"},
        {"key": "billecta_settings", "op": "=", "exp": "x"},
        {"key": "_id", "op": "IN", "exp": "1,2"},
        "name = 'x'",
        [],
    ],
)
async def test_hostile_filters_are_422(
    client: httpx.AsyncClient, debtors: list[int], q: Any
) -> None:
    response = await list_page(client, q=q)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]


async def test_deeply_nested_and_malformed_q_is_422(client: httpx.AsyncClient) -> None:
    nested: dict[str, Any] = {"key": "name", "op": "=", "exp": "x"}
    for _ in range(200):
        nested = {"op": "AND", "exp": [nested]}
    assert (await list_page(client, q=nested)).status_code == 422
    deep_json = "[" * 10_000 + "]" * 10_000
    assert (await client.get(f"{OBJECTS}/debtor", params={"q": deep_json})).status_code == 422
    assert (await client.get(f"{OBJECTS}/debtor", params={"q": "{nope"})).status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"cursor": "abc"},
        {"cursor": "-5"},
        {"changed_after": -1},
        {"changed_after": 0, "q": '{"key": "name", "op": "=", "exp": "x"}'},
        {"changed_after": 0, "cursor": "5"},
    ],
)
async def test_bad_paging_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get(f"{OBJECTS}/debtor", params=params)
    assert response.status_code == 422, response.text
    assert "error_message" in response.json()


async def test_list_values_are_json_typed(client: httpx.AsyncClient) -> None:
    await put(client, "article", 1, name="A", unitprice="10.25", vat="12.5")
    body = (await client.get(f"{OBJECTS}/article")).json()
    (article,) = body["objects"]
    assert (article["unitprice"], article["vat"], article["isactive"]) == (10.25, 12.5, True)
