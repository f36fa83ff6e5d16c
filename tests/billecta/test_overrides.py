"""BILLECTA_ROUTES_FILE: overrides applied to the client's table, validated at start-up."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import respx

from billecta_gateway.billecta import ROUTES, BillectaApiRequestException, BillectaClient
from billecta_gateway.billecta.limiter import Priority
from billecta_gateway.billecta.overrides import (
    InvalidRouteOverride,
    apply_route_overrides,
    load_route_overrides,
)
from billecta_gateway.cli import main
from billecta_gateway.main import build_billecta_client
from tests.conftest import make_settings

BASE = "https://billecta.test"
TOKEN = "SecureToken dGVzdA=="
ACTION = "5a1e2b3c-0000-4000-8000-0000000000a1"

OVERRIDES = """
[routes.pause_invoice]
method = "POST"
path = "/v1/invoice/pausing/{action_public_id}"

[routes.get_debtor_by_external_id]
query = ["externalId"]

[routes.postpone_invoice]
postpone_by = "days"
"""


@pytest.fixture
def routes_file(tmp_path: Path) -> Path:
    path = tmp_path / "routes.toml"
    path.write_text(OVERRIDES, encoding="utf-8")
    return path


def test_an_override_file_changes_only_the_routes_it_names(routes_file: Path) -> None:
    table = load_route_overrides(routes_file)
    assert table.overridden == {"pause_invoice", "get_debtor_by_external_id", "postpone_invoice"}
    pause = table["pause_invoice"]
    assert (pause.method, pause.path) == ("POST", "/v1/invoice/pausing/{action_public_id}")
    # The operation keeps its models and its idempotency, whatever its verb.
    assert pause.idempotent and pause.request_model is None
    assert table["postpone_invoice"].query_params == ("days",)
    assert table["postpone_invoice"].postpone_by == "days"
    assert table["get_debtor_by_external_id"].query_params == ("externalId",)
    assert {name: table[name] for name in set(ROUTES) - table.overridden} == {
        name: ROUTES[name] for name in set(ROUTES) - table.overridden
    }
    # The built-in table is untouched.
    assert ROUTES["pause_invoice"].path == "/v1/invoice/pause/{action_public_id}"


@respx.mock
async def test_the_client_calls_the_overridden_method_path_and_query(routes_file: Path) -> None:
    paused = respx.post(f"{BASE}/v1/invoice/pausing/{ACTION}").respond(200)
    found = respx.get(
        f"{BASE}/v1/debtors/debtorbyexternalid/c1", params={"externalId": "D-1"}
    ).respond(404, json={"Message": "Debtor not found"})
    action = respx.get(f"{BASE}/v1/invoice/action/{ACTION}").respond(
        200,
        json={
            "ActionPublicId": ACTION,
            "DueDate": "2026-12-20T00:00:00+01:00",
            "State": {"NextEventDate": "2026-12-10T00:00:00+01:00"},
        },
    )
    postponed = respx.put(f"{BASE}/v1/invoice/postpone/{ACTION}").respond(200)
    table = load_route_overrides(routes_file)
    async with BillectaClient(base_url=BASE, authentication=TOKEN, routes=table) as client:
        await client.pause_invoice(ACTION)
        assert await client.get_debtor_by_external_id("c1", "D-1") is None
        await client.postpone_invoice(ACTION, date(2026, 12, 17))
    assert paused.call_count == 1 and found.call_count == 1 and action.call_count == 1
    # Seven days after the next event Billecta reported, sent as days, not as a date.
    assert dict(postponed.calls.last.request.url.params) == {"days": "7"}


@respx.mock
async def test_without_overrides_postpone_sends_the_date() -> None:
    postponed = respx.put(f"{BASE}/v1/debtcollection/postpone/{ACTION}").respond(200)
    async with BillectaClient(base_url=BASE, authentication=TOKEN) as client:
        await client.postpone_debt_collection(ACTION, date(2026, 12, 17))
    assert dict(postponed.calls.last.request.url.params) == {"date": "2026-12-17"}


def test_the_settings_give_the_api_and_worker_client_the_effective_table(
    routes_file: Path,
) -> None:
    settings = make_settings(billecta_routes_file=str(routes_file))
    client = build_billecta_client(settings, priority=Priority.BULK)
    assert client.routes["pause_invoice"].path == "/v1/invoice/pausing/{action_public_id}"
    assert client.routes.overridden == settings.billecta_routes.overridden


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[routes.pause_invoices]\nmethod = "PUT"', "route 'pause_invoices' does not exist"),
        (
            '[routes.pause_invoice]\npath = "/v1/invoice/pause/{id}"',
            "route pause_invoice: path '/v1/invoice/pause/{id}' has placeholders {id}; "
            "the route's are {action_public_id}",
        ),
        (
            '[routes.pause_invoice]\npath = "/v1/invoice/pause"',
            "route pause_invoice: path '/v1/invoice/pause' has placeholders none",
        ),
        ('[routes.pause_invoice]\nmethod = "FETCH"', "route pause_invoice: method 'FETCH'"),
        (
            '[routes.credit_amount]\nrequest_model = "X"',
            "route credit_amount: request_model cannot be overridden",
        ),
        ('[routes.pause_invoice]\nverb = "PUT"', "route pause_invoice: unknown key(s) verb"),
        (
            '[routes.pause_invoice]\npostpone_by = "days"',
            "route pause_invoice: postpone_by applies to the postpone routes only",
        ),
        (
            '[routes.postpone_invoice]\npostpone_by = "weeks"',
            "route postpone_invoice: postpone_by 'weeks' must be 'date' or 'days'",
        ),
        (
            '[routes.get_closed_invoices]\nquery = ["from"]',
            "route get_closed_invoices: query names Billecta's names for the route's 2",
        ),
        (
            '[routes.pause_invoice]\npath = "/v1/invoice/pause/{action_public_id}?x=1"',
            "route pause_invoice: path",
        ),
        ('[pause_invoice]\nmethod = "PUT"', "unknown top-level key(s) pause_invoice"),
    ],
)
def test_a_bad_override_is_refused_naming_the_route(text: str, message: str) -> None:
    import tomllib

    with pytest.raises(InvalidRouteOverride) as raised:
        apply_route_overrides(tomllib.loads(text), source="routes.toml")
    assert message in str(raised.value)
    assert str(raised.value).startswith("routes.toml")


def test_a_bad_override_file_stops_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "routes.toml"
    bad.write_text('[routes.send_to_long_term_surveilance]\nmethod = "PUT"\n', encoding="utf-8")
    with pytest.raises(InvalidRouteOverride, match="send_to_long_term_surveilance"):
        make_settings(billecta_routes_file=str(bad))
    with pytest.raises(InvalidRouteOverride, match="does not exist"):
        make_settings(billecta_routes_file=str(tmp_path / "missing.toml"))


def test_routes_prints_the_effective_table_marking_overrides(
    routes_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BILLECTA_ROUTES_FILE", str(routes_file))
    main(["routes"])
    rows = {line.split("|")[1].strip(" `"): line for line in capsys.readouterr().out.splitlines()}
    assert rows["pause_invoice"] == (
        "| `pause_invoice` | POST | `/v1/invoice/pausing/{action_public_id}` | UNCONFIRMED |"
        " overridden |"
    )
    assert "`/v1/invoice/postpone/{action_public_id}?days=`" in rows["postpone_invoice"]
    assert rows["resume_invoice"].endswith("| UNCONFIRMED | |")


def test_routes_refuses_a_bad_override_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "routes.toml"
    bad.write_text('[routes.pause_invoice]\nmethod = "GRAB"\n', encoding="utf-8")
    monkeypatch.setenv("BILLECTA_ROUTES_FILE", str(bad))
    with pytest.raises(SystemExit) as raised:
        main(["routes"])
    assert raised.value.code == 2
    assert "route pause_invoice: method 'GRAB'" in capsys.readouterr().err


@respx.mock
async def test_a_routes_file_cannot_make_a_days_postpone_lie_about_its_base() -> None:
    respx.get(f"{BASE}/v1/debtcollection/action/{ACTION}").respond(
        200, json={"ActionPublicId": ACTION, "State": {"NextEventDate": None}}
    )
    table = apply_route_overrides({"routes": {"postpone_debt_collection": {"postpone_by": "days"}}})
    async with BillectaClient(base_url=BASE, authentication=TOKEN, routes=table) as client:
        with pytest.raises(BillectaApiRequestException, match="needs the next event date"):
            await client.postpone_debt_collection(ACTION, date(2026, 12, 17))


async def test_report_lists_go_through_the_overridden_table(tmp_path: Path) -> None:
    from billecta_gateway.reports.billecta_lists import closed_invoices_body

    path = tmp_path / "routes.toml"
    path.write_text(
        '[routes.get_closed_invoices]\npath = "/v1/invoice/closedlist/{creditor_public_id}"\n'
        'query = ["fromDate", "toDate"]\n',
        encoding="utf-8",
    )
    client = build_billecta_client(
        make_settings(billecta_routes_file=str(path)), priority=Priority.BULK
    )
    try:
        with respx.mock(base_url=BASE, assert_all_called=True) as mock:
            route = mock.get("/v1/invoice/closedlist/c-1").respond(200, content=b"[]")
            body = await closed_invoices_body(client, "c-1", date(2026, 1, 1), date(2026, 1, 31))
        assert body == b"[]"
        assert dict(route.calls.last.request.url.params) == {
            "fromDate": "2026-01-01",
            "toDate": "2026-01-31",
        }
    finally:
        await client.aclose()
