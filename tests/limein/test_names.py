"""A customer's Lime names (LIME_SCHEMA_FILE) and the start-up schema check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from billecta_gateway.config import ConfigurationError
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm import subscriptions
from billecta_gateway.limecrm.connect import open_lime
from billecta_gateway.limecrm.names import LimeNames
from billecta_gateway.limecrm.poll import polled_properties
from billecta_gateway.limecrm.schemacheck import check_schema, startup_check
from billecta_gateway.limesandbox import LimeSandboxConfig
from billecta_gateway.main import create_app
from billecta_gateway.models import Debtor, LimeWebhookEvent
from tests.limecrm.support import API_KEY, APPLICATION, LimeSandboxServer, serve_lime_sandbox
from tests.limein.conftest import lime_settings
from tests.limein.support import post_v1, process

RENAMES = """
[debtor]
lime_limetype = "kund"
[debtor.lime_names]
name = "namn"
gln = false
[debtor.lime_options.debtortype]
company = "foretag"
private = "privat"
"""


def schema_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schema.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_lime_values_are_translated_to_the_gateways_names(tmp_path: Path) -> None:
    names = LimeNames(LimeSchema.load(schema_file(tmp_path, RENAMES)))
    assert (names.lime_limetype("debtor"), names.gateway_limetype("kund")) == ("kund", "debtor")
    assert names.gateway_limetype("debtor") is None
    debtor = names.of("debtor")
    assert debtor.to_gateway(
        {
            "namn": "Acme",
            "name": "another Lime property of that name",
            "gln": "not the gateway's gln",
            "debtortype": {"id": 1, "key": "foretag", "text": "Företag"},
            "phone": "0701",
        }
    ) == {"name": "Acme", "debtortype": "company", "phone": "0701"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[debtor.lime_names]\nnmae = "namn"\n', "nmae is not a property"),
        ("[debtor.lime_names]\nname = 5\n", "a Lime property name or false"),
        ('[debtor.lime_names]\nname = "x"\nphone = "x"\n', "share a Lime name"),
        ('[debtor]\nlime_limetype = "person"\n', "also the Lime limetype of person"),
        ('[debtor.lime_options.name]\na = "b"\n', "not an option property"),
        ('[debtor.lime_options.debtortype]\nmartian = "m"\n', "unknown keys martian"),
        ('[debtor]\nlime_color = "x"\n', "may only hold"),
    ],
)
def test_bad_names_stop_start_up(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        LimeNames(LimeSchema.load(schema_file(tmp_path, text)))


@pytest.fixture
async def renamed_lime(tmp_path: Path) -> AsyncIterator[tuple[LimeSandboxServer, Path]]:
    """A sandbox whose Lime uses the customer's names."""
    path = schema_file(tmp_path, RENAMES)
    config = LimeSandboxConfig(api_key=API_KEY, application=APPLICATION, schema_file=path)
    async with serve_lime_sandbox(config) as server:
        yield server, path


async def test_a_renamed_limetype_comes_in_under_the_gateways_names(
    renamed_lime: tuple[LimeSandboxServer, Path],
    app: Any,
    session: AsyncSession,
    engine: AsyncEngine,
) -> None:
    server, path = renamed_lime
    settings = lime_settings(server, lime_schema_file=str(path))
    schema = LimeSchema.load(path)
    assert "kund.new" in subscriptions.main_events(schema)
    assert "namn" in polled_properties(schema, "debtor")
    assert "gln" not in polled_properties(schema, "debtor")
    connector = open_lime(settings, engine, role="worker", schema=schema)
    assert connector is not None
    try:
        assert (await check_schema(connector.client, schema)).problems == []
        created = await connector.client.create_object(
            "kund", {"namn": "Kund AB", "debtortype": "foretag"}
        )
        app.state.lime_schema = schema
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as hook:
            body = {
                "event": "kund.new",
                "body": {
                    "id": created["_id"],
                    "limetype": "kund",
                    "values": {
                        "namn": "Kund AB",
                        "debtortype": "foretag",
                        "timestamp": created["_timestamp"],
                    },
                },
            }
            answer = (await post_v1(hook, body)).json()
        assert answer["status"] == "accepted"
        event = await session.get(LimeWebhookEvent, answer["event_id"])
        assert event is not None and event.limetype == "debtor"
        assert (await process(session, event.id, settings, lime=connector)).status == "processed"
        debtor = await session.get(Debtor, created["_id"], populate_existing=True)
        assert debtor is not None and (debtor.name, debtor.debtortype) == ("Kund AB", "company")

        # A restore re-reads the object under the Lime limetype name.
        restore = {"event": "kund.restore", "body": {"id": created["_id"], "limetype": "kund"}}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as hook:
            restored = (await post_v1(hook, restore)).json()["event_id"]
        assert (await process(session, restored, settings, lime=connector)).status == "processed"
    finally:
        await connector.aclose()


async def test_a_schema_mismatch_refuses_to_start_and_names_every_problem(
    lime_server: LimeSandboxServer, tmp_path: Path, redis: Any
) -> None:
    path = schema_file(
        tmp_path,
        '[debtor.custom]\ninvoice_reference = "string"\n[debtor.lime_names]\nphone = "telefon"\n',
    )
    settings = lime_settings(lime_server, lime_schema_file=str(path))
    app = create_app(settings, configure_logs=False)
    with pytest.raises(ConfigurationError) as refused:
        async with app.router.lifespan_context(app):
            pass
    message = str(refused.value)
    assert "debtor.invoice_reference: missing in Lime" in message
    assert "debtor.phone (Lime debtor.telefon): missing in Lime" in message

    skipped = create_app(
        lime_settings(lime_server, lime_schema_file=str(path), lime_schema_check=False),
        configure_logs=False,
    )
    async with skipped.router.lifespan_context(skipped):
        pass


async def test_lime_unreachable_starts_degraded_and_checks_again(
    engine: AsyncEngine, lime_server: LimeSandboxServer
) -> None:
    settings = lime_settings(
        lime_server, lime_base_url="http://127.0.0.1:1/nowhere", lime_timeout=1
    )
    task = await startup_check(settings, engine, LimeSchema())
    assert task is not None and not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_slow_lime_does_not_hold_start_up_back(
    engine: AsyncEngine, lime_server: LimeSandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billecta_gateway.limecrm import schemacheck

    monkeypatch.setattr(schemacheck, "FIRST_CHECK_SECONDS", 0.001)
    task = await startup_check(lime_settings(lime_server), engine, LimeSchema())
    assert task is not None and not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
