"""`lime check` against the Lime sandbox: passes as documented, fails clearly otherwise,
and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from billecta_gateway.cli import build_parser
from billecta_gateway.limecrm.check import check_lime
from tests.conftest import make_settings
from tests.limecrm.support import API_KEY, LimeSandboxServer

pytestmark = pytest.mark.usefixtures("migrated_database")


async def _check(lime: LimeSandboxServer, **overrides: Any) -> tuple[int, list[str]]:
    lines: list[str] = []
    settings = make_settings(lime_base_url=lime.base_url, lime_api_key=API_KEY, **overrides)
    code = await check_lime(settings, out=lines.append)
    return code, lines


async def _demo(lime: LimeSandboxServer) -> None:
    response = await lime.control.post("/_lime-sandbox/seed", json={"demo": True})
    assert response.status_code == 200


async def test_check_passes_against_the_sandbox_and_only_reads(lime: LimeSandboxServer) -> None:
    await _demo(lime)
    code, lines = await _check(lime)
    assert code == 0, "\n".join(lines)
    assert "OK   api key" in lines[0]
    assert any(line.startswith("OK   paging: creditordebtor paged") for line in lines) or any(
        line.startswith("OK   paging:") for line in lines
    )
    assert "next link form:  _offset_id (expected _offset or _offset_id)" in lines
    assert "option encoding: object {id, key, text} (expected object {id, key, text})" in lines
    assert "OK   subscription api: available, 0 subscription(s)" in lines
    assert lines[-1] == "result: ok"
    methods = {r["method"] for r in (await lime.requests())["requests"]}
    assert methods == {"GET"}
    before = (await lime.control.get("/_lime-sandbox/objects/debtor")).json()
    assert len(before) == 3


async def test_check_passes_with_the_other_documented_next_form(lime: LimeSandboxServer) -> None:
    await lime.settings(next_form="offset")
    await _demo(lime)
    code, lines = await _check(lime, lime_rate_limit=50)
    assert code == 0, "\n".join(lines)
    assert "next link form:  _offset (expected _offset or _offset_id)" in lines


async def test_check_fails_on_an_undocumented_next_form(lime: LimeSandboxServer) -> None:
    await lime.settings(next_form="page")
    await _demo(lime)
    code, lines = await _check(lime, lime_rate_limit=50)
    assert code == 1
    assert any(line.startswith("FAIL paging:") and "uses other: _page" in line for line in lines), (
        lines
    )
    assert lines[-1] == "result: MISMATCH"


@pytest.mark.parametrize(("encoding", "shown"), [("key", "key string"), ("id", "numeric id")])
async def test_check_fails_on_another_option_encoding(
    lime: LimeSandboxServer, encoding: str, shown: str
) -> None:
    await lime.settings(option_encoding=encoding)
    await _demo(lime)
    code, lines = await _check(lime, lime_rate_limit=50)
    assert code == 1
    assert any(
        line.startswith("FAIL debtor object:") and f"debtortype is a {shown}" in line
        for line in lines
    ), lines
    assert f"option encoding: {shown} (expected object {{id, key, text}})" in lines


@pytest.mark.parametrize(
    ("addon", "message"),
    [("forbidden", "Webhook Users"), ("missing", "Webhooks add-on installed")],
)
async def test_check_fails_when_the_subscription_api_is_unusable(
    lime: LimeSandboxServer, addon: str, message: str
) -> None:
    await lime.settings(webhooks_addon=addon)
    await _demo(lime)
    code, lines = await _check(lime, lime_rate_limit=50)
    assert code == 1
    assert any(line.startswith("FAIL subscription api") and message in line for line in lines)


async def test_check_stops_at_a_refused_key(lime: LimeSandboxServer) -> None:
    lines: list[str] = []
    settings = make_settings(lime_base_url=lime.base_url, lime_api_key="not-the-key")
    assert await check_lime(settings, out=lines.append) == 1
    assert lines[0].startswith("FAIL api key: GET /api/v1/ failed: Lime refused the API key")
    assert "not-the-key" not in "\n".join(lines)


async def test_check_without_lime_base_url_says_the_connector_is_off() -> None:
    lines: list[str] = []
    assert await check_lime(make_settings(), out=lines.append) == 2
    assert "connector is off" in lines[0]


def test_the_cli_has_lime_check_and_lime_sandbox() -> None:
    parser = build_parser()
    args = parser.parse_args(["lime", "check", "--limetype", "debtor"])
    assert args.limetype == ["debtor"] and args.func.__name__ == "cmd_lime_check"
    args = parser.parse_args(["lime-sandbox", "--demo", "--next-form", "offset"])
    assert args.port == 8091 and args.demo and args.next_form == "offset"
