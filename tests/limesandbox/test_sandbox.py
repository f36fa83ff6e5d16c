"""The Lime sandbox's documented behaviour: write rules, read shapes, relations, 429, the
Subscription API, signed deliveries with retry → drop → disable, and delivery faults."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.limesandbox.conftest import API, HOOK_URL, SECRET, World


async def settle(world: World) -> None:
    for _ in range(500):
        if world.sandbox.webhooks.idle():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("deliveries did not settle")


async def create(world: World, limetype: str, values: dict[str, Any]) -> dict[str, Any]:
    response = await world.api.post(f"{API}limeobject/{limetype}/", json=values)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def subscribe(world: World, events: list[str], secret: str | None = SECRET) -> int:
    body = {"events": events, "target_url": HOOK_URL, "secret": secret, "name": "gateway"}
    response = await world.api.post(f"{API}subscription/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_writes_refuse_null_text_unknown_properties_and_option_objects(
    world: World,
) -> None:
    for body, message in [
        ({"name": None}, "null is not allowed"),
        ({"nickname": "x"}, "has no property 'nickname'"),
        ({"debtortype": {"key": "private"}}, "expected an option key"),
        ({"person": 4242}, "person 4242 not found"),
        ({"_id": 5}, "system properties"),
    ]:
        response = await world.api.post(f"{API}limeobject/debtor/", json=body)
        assert response.status_code == 400 and message in response.json()["message"]
    assert (await world.control.get("/_lime-sandbox/objects/debtor")).json() == []


async def test_reads_give_empty_text_option_objects_links_and_embeds(world: World) -> None:
    person = await create(world, "person", {"firstname": "Anna"})
    debtor = await create(world, "debtor", {"debtortype": "private", "person": person["_id"]})
    assert debtor["name"] == "" and debtor["debtortype"]["key"] == "private"
    assert debtor["language"] == {"id": debtor["language"]["id"], "key": "empty", "text": ""}
    response = await world.api.get(
        f"{API}limeobject/debtor/{debtor['_id']}/", params={"_embed": "person"}
    )
    read = response.json()
    assert read["_embedded"]["relation_person"]["firstname"] == "Anna"
    assert read["_links"]["relation_person"]["href"].endswith(f"/debtor/{debtor['_id']}/person/")
    related = await world.api.get(f"{API}limeobject/person/{person['_id']}/debtor/")
    assert [o["_id"] for o in related.json()["_embedded"]["limeobjects"]] == [debtor["_id"]]
    no_slash = await world.api.get(f"{API}limeobject/debtor/{debtor['_id']}")
    assert no_slash.status_code == 404


async def test_dates_are_stored_as_local_midnight_with_offset(world: World) -> None:
    creditor = await create(world, "creditor", {"name": "C"})
    order = await create(world, "order", {"creditor": creditor["_id"], "invoicedate": "2026-01-30"})
    assert order["invoicedate"] == "2026-01-30T00:00:00+01:00"
    updated = await world.api.put(
        f"{API}limeobject/order/{order['_id']}/", json={"duedate": "2026-06-30T22:00:00Z"}
    )
    assert updated.json()["duedate"] == "2026-07-01T00:00:00+02:00"


async def test_lists_filter_sort_and_page(world: World) -> None:
    for n in range(5):
        await create(world, "company", {"name": f"C{n}", "city": "Luleå" if n % 2 else "Umeå"})
    response = await world.api.get(
        f"{API}limeobject/company/", params={"city": "Luleå", "_sort": "-name", "_limit": 1}
    )
    page = response.json()
    assert [o["name"] for o in page["_embedded"]["limeobjects"]] == ["C3"]
    nxt = page["_links"]["next"]["href"]
    assert "_offset_id=" in nxt and "city=Lule" in nxt
    second = (await world.api.get(nxt.replace("http://lime.test", ""))).json()
    assert [o["name"] for o in second["_embedded"]["limeobjects"]] == ["C1"]
    assert "next" not in second["_links"]


async def test_query_api_filters_orders_and_shapes(world: World) -> None:
    ids = [(await create(world, "company", {"name": f"N{n}"}))["_id"] for n in range(4)]
    query = {
        "limetype": "company",
        "responseFormat": {"object": {"_id": None, "name": None}},
        "filter": {
            "op": "OR",
            "exp": [
                {"key": "name", "op": "=", "exp": "N1"},
                {"key": "_id", "op": "IN", "exp": [ids[3]]},
            ],
        },
        "orderBy": [{"_id": "DESC"}],
        "limit": 10,
    }
    response = await world.api.get(f"{API}query/", params={"q": json.dumps(query)})
    assert response.json() == {
        "objects": [{"_id": ids[3], "name": "N3"}, {"_id": ids[1], "name": "N1"}]
    }


async def test_rate_limit_answers_429_with_retry_after(make_world: Callable[..., World]) -> None:
    world = make_world(rate_limit=3)
    statuses = [(await world.api.get(API)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert (await world.api.get(API)).headers["retry-after"] == "1"
    log = (await world.control.get("/_lime-sandbox/requests")).json()
    assert log["total"] == 6 and log["max_per_second"] == 6


async def test_deliveries_are_signed_and_updates_carry_original_values(world: World) -> None:
    await subscribe(world, ["debtor.new", "debtor.update"])
    debtor = await create(world, "debtor", {"name": "Anna", "debtortype": "private"})
    await world.api.put(f"{API}limeobject/debtor/{debtor['_id']}/", json={"name": "Anna B"})
    await world.api.put(f"{API}limeobject/debtor/{debtor['_id']}/", json={"name": "Anna B"})
    await settle(world)
    assert world.receiver.events() == ["debtor.new", "debtor.update"]  # no-op PUT: no event
    for raw, headers in zip(world.receiver.bodies, world.receiver.headers, strict=True):
        expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["x-lime-signature"] == f"sha256={expected}"
    update = json.loads(world.receiver.bodies[1])["body"]
    assert update["original_values"] == {"name": "Anna"}
    assert update["values"]["name"] == "Anna B" and update["values"]["debtortype"] == "private"
    assert update["values"]["id"] == debtor["_id"] and "timestamp" in update["values"]


async def test_a_failing_receiver_gets_retries_then_drop_and_disable(world: World) -> None:
    main = await subscribe(world, ["company.new"])
    await subscribe(world, ["webhook.webhook.disabled", "webhook.msg_dropped"], secret=None)
    world.receiver.fail_events = {"company.new"}
    await create(world, "company", {"name": "Lost"})
    await settle(world)
    first = world.sandbox.webhooks.messages[0]
    assert first.status == "dropped" and first.attempts == 3  # one try, delivery_attempts=2
    assert world.receiver.failed == 3
    sub = (await world.api.get(f"{API}subscription/{main}")).json()
    assert sub["enabled"] is False
    assert sorted(world.receiver.events()) == ["webhook.msg_dropped", "webhook.webhook.disabled"]
    await create(world, "company", {"name": "Not sent"})
    await settle(world)
    assert "company.new" not in world.receiver.events()


async def test_delivery_faults_lose_and_reorder(world: World) -> None:
    await subscribe(world, ["company.new"])
    await world.control.post("/_lime-sandbox/faults", json={"kind": "lose_deliveries", "count": 1})
    await create(world, "company", {"name": "gone"})
    await world.control.post(
        "/_lime-sandbox/faults", json={"kind": "reorder_deliveries", "count": 3}
    )
    for name in ("a", "b", "c"):
        await create(world, "company", {"name": name})
    await settle(world)
    names = [json.loads(b)["body"]["values"]["name"] for b in world.receiver.bodies]
    assert names == ["c", "b", "a"]
    statuses = [
        m["status"]
        for m in (await world.control.get("/_lime-sandbox/deliveries")).json()["messages"]
    ]
    assert statuses == ["lost", "delivered", "delivered", "delivered"]


async def test_injected_status_faults_hit_matching_requests_only(world: World) -> None:
    await world.control.post(
        "/_lime-sandbox/faults",
        json={"kind": "status", "status": 503, "count": 1, "path_contains": "limeobject/company"},
    )
    assert (await world.api.get(API)).status_code == 200
    assert (await world.api.get(f"{API}limeobject/company/")).status_code == 503
    assert (await world.api.get(f"{API}limeobject/company/")).status_code == 200


async def test_subscription_api_lists_filters_and_disables(world: World) -> None:
    sub = await subscribe(world, ["company.new", "company.update"])
    listed = await world.api.get(f"{API}subscription/", params={"events": "company.new"})
    assert [s["id"] for s in listed.json()] == [sub] and "secret" not in listed.json()[0]
    bad = await world.api.post(
        f"{API}subscription/", json={"events": ["nope.new"], "target_url": HOOK_URL}
    )
    assert bad.status_code == 400
    await world.control.post(f"/_lime-sandbox/subscriptions/{sub}/disable")
    assert (await world.api.get(f"{API}subscription/{sub}")).json()["enabled"] is False
    await world.api.put(f"{API}subscription/{sub}", json={"enabled": True})
    assert (await world.api.get(f"{API}subscription/{sub}")).json()["enabled"] is True
    available = (await world.api.get(f"{API}subscription/available/")).json()["events"]
    assert "invoice.restore" in available and "webhook.msg_dropped" in available


async def test_restore_sends_an_event_and_the_object_is_back(world: World) -> None:
    await subscribe(world, ["company.delete", "company.restore"])
    company = await create(world, "company", {"name": "Back"})
    assert (await world.api.delete(f"{API}limeobject/company/{company['_id']}/")).status_code == 204
    assert (await world.api.get(f"{API}limeobject/company/{company['_id']}/")).status_code == 404
    await world.control.post(f"/_lime-sandbox/objects/company/{company['_id']}/restore")
    assert (await world.api.get(f"{API}limeobject/company/{company['_id']}/")).status_code == 200
    await settle(world)
    assert world.receiver.events() == ["company.delete", "company.restore"]


async def test_the_limetype_schema_includes_custom_properties(
    make_world: Callable[..., World], tmp_path: Path
) -> None:
    schema = tmp_path / "schema.toml"
    schema.write_text('[debtor.custom]\ninvoice_reference = "string"\n', encoding="utf-8")
    world = make_world(schema_file=schema)
    props = (await world.api.get(f"{API}limetype/debtor/")).json()["_embedded"]["properties"]
    assert {"name": "invoice_reference", "type": "string"}.items() <= next(
        p for p in props if p["name"] == "invoice_reference"
    ).items()
    created = await create(world, "debtor", {"invoice_reference": "R-1"})
    assert created["invoice_reference"] == "R-1"


async def test_demo_data_and_wrong_key(make_world: Callable[..., World]) -> None:
    world = make_world(demo_data=True)
    debtors = (await world.api.get(f"{API}limeobject/debtor/")).json()["_embedded"]["limeobjects"]
    assert [d["_id"] for d in debtors] == [101, 102, 103]
    wrong = await world.control.get(API, headers={"x-api-key": "nope"})
    assert wrong.status_code == 401
