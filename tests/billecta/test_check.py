"""The route check against the sandbox (which answers like ASP.NET Web API) and its verdicts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from billecta_gateway.billecta import ROUTES, BillectaClient, InvalidBillectaApiConfig
from billecta_gateway.billecta.check import (
    CheckReport,
    Verdict,
    check_billecta,
    classify,
    refuse_production,
    render_report,
)
from billecta_gateway.billecta.overrides import apply_route_overrides
from billecta_gateway.billecta.routes import ALTERNATIVES, RouteTable
from billecta_gateway.cli import main
from billecta_gateway.sandbox import SandboxConfig, SeedCreditor, create_sandbox_app

AUTH = "SecureToken Y2hlY2stdG9rZW4="
CID = "5a1e2b3c-0000-4000-8000-00000000c001"
PLANTED = {"routes": {"pause_invoice": {"path": "/v1/invoice/pauze/{action_public_id}"}}}


def _sandbox() -> Any:
    return create_sandbox_app(
        SandboxConfig(authentication=AUTH, creditors=[SeedCreditor(public_id=CID, name="AB")])
    )


async def _check(app: Any, routes: RouteTable = ROUTES, auth: str = AUTH) -> CheckReport:
    async with BillectaClient(
        base_url="http://sandbox",
        authentication=auth,
        transport=httpx.ASGITransport(app=app),
        max_retries=0,
        routes=routes,
    ) as client:
        return await check_billecta(client)


def _by_name(report: CheckReport) -> dict[str, Any]:
    return {check.route.name: check for check in report.routes}


async def test_every_route_of_the_table_exists_at_the_sandbox() -> None:
    report = await _check(_sandbox())
    assert {c.route.name: c.probe.answer.verdict for c in report.routes} == {
        name: Verdict.EXISTS for name in ROUTES
    }
    assert report.ok and not report.auth_failed
    checks = _by_name(report)
    alternatives = {
        name: {p.label: p.answer.verdict for p in check.alternatives}
        for name, check in checks.items()
        if check.alternatives
    }
    assert alternatives == {
        "credit_amount": {"POST instead of PUT": Verdict.WRONG, "creditamount": Verdict.MISSING},
        "create_reminder_invoice": {
            "reminderinvoice section": Verdict.MISSING,
            "reminderinvoice send": Verdict.MISSING,
        },
        "postpone_invoice": {"by days": Verdict.WRONG},
        "postpone_debt_collection": {"by days": Verdict.WRONG},
        "send_to_long_term_surveillance": {"one l (Surveilance)": Verdict.MISSING},
        "undispute_invoice": {"PUT undispute": Verdict.MISSING},
    }
    assert checks["credit_amount"].alternatives[0].answer.evidence == (
        "405: The requested resource does not support http method 'POST'."
    )
    assert all(check.suggested_override() is None for check in report.routes)


def _state(app: Any) -> str:
    store = app.state.sandbox.store
    return repr({k: v for k, v in sorted(vars(store).items()) if isinstance(v, dict)})


def _literal_segments() -> set[str]:
    paths = [r.path for r in ROUTES.values()]
    paths += [a.path for options in ALTERNATIVES.values() for a in options if a.path]
    return {segment.lower() for path in paths for segment in path.split("/")}


async def test_the_probes_cannot_change_anything() -> None:
    app = _sandbox()
    before = _state(app)
    await _check(app)
    entries = app.state.sandbox.requests.query()
    assert len(entries) == len(ROUTES) + 8  # every route, and the six suspects' alternatives
    literal = _literal_segments()
    for entry in entries:
        for segment in entry["path"].split("/"):
            if segment.lower() not in literal:
                assert str(uuid.UUID(segment)) == segment, entry  # ids are random GUIDs
        body = entry["body"]
        for item in body if isinstance(body, list) else [body] if body else []:
            assert item and all(key.endswith("PublicId") for key in item), entry
            assert all(str(uuid.UUID(v)) == v and v != CID for v in item.values()), entry
    assert _state(app) == before


async def test_a_planted_wrong_path_is_reported_as_no_such_route() -> None:
    report = await _check(_sandbox(), apply_route_overrides(PLANTED))
    pause = _by_name(report)["pause_invoice"]
    assert pause.overridden and pause.probe.label == "override"
    assert pause.probe.answer.verdict is Verdict.MISSING
    assert pause.probe.answer.evidence == (
        "404: No action was found on the controller 'invoice' that matches the name 'pauze'."
    )
    # The built-in path is probed beside the override, and answers.
    [builtin] = pause.alternatives
    assert builtin.label == "built-in" and builtin.answer.verdict is Verdict.EXISTS
    assert pause.suggested_override() == (
        "# remove [routes.pause_invoice]: the built-in route answered"
    )
    assert not report.ok and [c.route.name for c in report.broken] == ["pause_invoice"]
    text = render_report(report)
    row = next(line for line in text.splitlines() if line.startswith("pause_invoice"))
    assert "(override)" in row and "/v1/invoice/pauze/" in row and "no such route" in row


async def test_an_alternative_that_answers_is_suggested_as_an_override() -> None:
    table = apply_route_overrides({"routes": {"postpone_invoice": {"postpone_by": "days"}}}, ROUTES)
    report = await _check(_sandbox(), table)
    postpone = _by_name(report)["postpone_invoice"]
    assert postpone.probe.answer.verdict is Verdict.WRONG
    assert postpone.suggested_override() == (
        "# remove [routes.postpone_invoice]: the built-in route answered"
    )
    surveillance = apply_route_overrides(
        {
            "routes": {
                "send_to_long_term_surveillance": {
                    "path": "/v1/debtcollection/SendToLongTermSurveilance/{action_public_id}"
                }
            }
        }
    )
    check = _by_name(await _check(_sandbox(), surveillance))["send_to_long_term_surveillance"]
    assert check.probe.answer.verdict is Verdict.MISSING
    assert [p.label for p in check.alternatives] == ["built-in"]


async def test_refused_credentials_fail_the_check() -> None:
    report = await _check(_sandbox(), auth="SecureToken d3Jvbmc=")
    assert report.auth_failed and not report.ok
    assert all(c.probe.answer.verdict is Verdict.INCONCLUSIVE for c in report.routes)
    assert "Billecta refused the credentials" in render_report(report)


async def test_probes_are_spaced_by_the_rate_limit() -> None:
    async with BillectaClient(
        base_url="http://sandbox",
        authentication=AUTH,
        transport=httpx.ASGITransport(app=_sandbox()),
        rate_limit=200,
        max_concurrency=1,
        interactive_reserved=0,
    ) as client:
        started = time.monotonic()
        report = await check_billecta(client)
    probes = sum(1 + len(c.alternatives) for c in report.routes)
    assert time.monotonic() - started >= (probes - 1) / 200


def _response(status: int, body: Any = None, text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text)
    return httpx.Response(status, json=body) if body is not None else httpx.Response(status)


@pytest.mark.parametrize(
    ("route", "response", "verdict"),
    [
        (
            "get_debtor",
            _response(
                404,
                {
                    "Message": "No HTTP resource was found that matches the request "
                    "URI 'https://apitest.billecta.com/v1/x'."
                },
            ),
            Verdict.MISSING,
        ),
        ("get_debtor", _response(404, text="<html>Not Found</html>"), Verdict.MISSING),
        ("get_debtor", _response(404), Verdict.MISSING),
        ("get_debtor", _response(404, {"Message": "Debtor not found"}), Verdict.EXISTS),
        ("pause_invoice", _response(405, {"Message": "not supported"}), Verdict.WRONG),
        (
            "postpone_invoice",
            _response(
                404,
                {
                    "Message": "No HTTP resource was found that matches the request URI 'x'.",
                    "MessageDetail": "No action was found on the controller "
                    "'Invoice' that matches the request.",
                },
            ),
            Verdict.WRONG,
        ),
        (
            "pause_invoice",
            _response(
                404,
                {
                    "Message": "No HTTP resource was found that matches the request URI 'x'.",
                    "MessageDetail": "No action was found on the controller "
                    "'Invoice' that matches the name 'pauze'.",
                },
            ),
            Verdict.MISSING,
        ),
        (
            "get_debtor",
            _response(401, {"Message": "Authorization has been denied"}),
            Verdict.INCONCLUSIVE,
        ),
        ("list_creditors", _response(200, []), Verdict.EXISTS),
        ("search_actions", _response(200, {}), Verdict.EXISTS),
        ("create_debtor", _response(200, {"PublicId": "x"}), Verdict.INCONCLUSIVE),
        ("create_debtor", _response(400, {"Message": "Name is required"}), Verdict.EXISTS),
        ("create_debtor", _response(400, text="Bad Request"), Verdict.INCONCLUSIVE),
        ("get_debtor", _response(500, {"Message": "error"}), Verdict.INCONCLUSIVE),
    ],
)
def test_answers_are_classified_as_asp_net_answers_them(
    route: str, response: httpx.Response, verdict: Verdict
) -> None:
    answer = classify(ROUTES[route], response, credentials_work=False)
    assert answer.verdict is verdict, answer
    assert answer.evidence.startswith(f"{response.status_code}: ")
    assert answer.auth_failed is (response.status_code == 401)


def test_a_403_is_about_the_object_only_once_the_credentials_proved_good() -> None:
    forbidden = _response(403, {"Message": "No access to creditor"})
    before = classify(ROUTES["get_creditor"], forbidden, credentials_work=False)
    after = classify(ROUTES["get_creditor"], forbidden, credentials_work=True)
    assert (before.verdict, before.auth_failed) == (Verdict.INCONCLUSIVE, True)
    assert (after.verdict, after.auth_failed) == (Verdict.EXISTS, False)


@pytest.mark.parametrize(
    "url",
    ["https://api.billecta.com", "https://APP.billecta.com./v1", " https://api.billecta.com/"],
)
def test_production_is_refused_unless_allowed(url: str) -> None:
    with pytest.raises(InvalidBillectaApiConfig, match="production"):
        refuse_production(url, allow_production=False)
    refuse_production(url, allow_production=True)
    refuse_production("https://apitest.billecta.com", allow_production=False)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    """The sandbox over real HTTP, in a thread, for the command (which runs its own loop)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = _Server(uvicorn.Config(_sandbox(), log_config=None, access_log=False))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def check_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("BILLECTA_AUTHENTICATION", AUTH)
    monkeypatch.setenv("BILLECTA_RATE_LIMIT", "500")
    monkeypatch.delenv("BILLECTA_ROUTES_FILE", raising=False)
    monkeypatch.delenv("BILLECTA_BASE_URL", raising=False)
    return tmp_path


def test_the_command_reports_every_route_of_the_sandbox_as_existing(
    sandbox_url: str, check_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = check_env / "report.json"
    main(["check-billecta", "--base-url", sandbox_url, "--json", str(out)])
    text = capsys.readouterr().out
    assert f"Billecta {sandbox_url}: {len(ROUTES)} routes, {len(ROUTES)} route exists." in text
    assert text.splitlines()[0].split() == [
        "route",
        "method",
        "path",
        "confidence",
        "verdict",
        "evidence",
    ]
    report = json.loads(out.read_text())
    assert report["ok"] is True and report["summary"]["route exists"] == len(ROUTES)
    surveillance = next(
        r for r in report["routes"] if r["name"] == "send_to_long_term_surveillance"
    )
    assert surveillance["verdict"] == "route exists"
    assert [a["verdict"] for a in surveillance["alternatives"]] == ["no such route"]


def test_the_command_fails_on_a_planted_wrong_path(
    sandbox_url: str,
    check_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    routes = check_env / "routes.toml"
    routes.write_text(
        '[routes.pause_invoice]\npath = "/v1/invoice/pauze/{action_public_id}"\n', "utf-8"
    )
    monkeypatch.setenv("BILLECTA_ROUTES_FILE", str(routes))
    monkeypatch.setenv("BILLECTA_BASE_URL", sandbox_url)
    with pytest.raises(SystemExit) as raised:
        main(["check-billecta"])
    assert raised.value.code == 1
    row = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("pause_invoice")
    )
    assert "no such route" in row and "(override)" in row


def test_the_command_refuses_production(
    check_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["check-billecta", "--base-url", "https://api.billecta.com"])
    assert raised.value.code == 2
    assert "--allow-production" in capsys.readouterr().err


async def test_the_sandbox_ignores_the_routes_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text('[routes.pause_invoice]\npath = "/v1/invoice/pauze/{action_public_id}"\n')
    monkeypatch.setenv("BILLECTA_ROUTES_FILE", str(routes))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_sandbox()), base_url="http://sandbox"
    ) as client:
        planted = await client.put(f"/v1/invoice/pauze/{CID}", headers={"Authorization": AUTH})
        builtin = await client.put(f"/v1/invoice/pause/{CID}", headers={"Authorization": AUTH})
    assert planted.status_code == 404 and "No action was found" in planted.text
    assert builtin.status_code == 404 and "was not found" in builtin.json()["Message"]
    assert "MessageDetail" not in builtin.json()
