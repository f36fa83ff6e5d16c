"""The Lime connector's settings: off without LIME_BASE_URL, the key a redacted secret."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from billecta_gateway.config import ConfigurationError
from billecta_gateway.limecrm import LimeAuthError, LimeClient
from billecta_gateway.limecrm.connect import open_lime
from billecta_gateway.limecrm.ratelimit import spacing
from tests.conftest import make_settings
from tests.limecrm.support import LimeSandboxServer


def test_without_lime_base_url_the_connector_is_off() -> None:
    settings = make_settings()
    assert settings.lime_enabled is False
    assert settings.lime_rate_limit == 9 and settings.lime_timeout == 30
    engine = create_async_engine(settings.database_url)
    assert open_lime(settings, engine, role="api") is None


def test_settings_come_from_the_plain_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIME_BASE_URL", "https://lime.example.com/Lime%20CRM")
    monkeypatch.setenv("LIME_API_KEY", "lime-secret-1")
    monkeypatch.setenv("LIME_RATE_LIMIT", "5")
    monkeypatch.setenv("LIME_TIMEOUT", "12.5")
    settings = make_settings()
    assert settings.lime_enabled and settings.lime_rate_limit == 5
    assert settings.lime_timeout == 12.5
    assert "lime-secret-1" in settings.secret_values()
    assert "lime-secret-1" not in repr(settings)
    assert spacing(settings.lime_rate_limit) == pytest.approx(1.1 / 5)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lime_base_url": "https://lime.example.com/app"}, "LIME_API_KEY is not set"),
        ({"lime_base_url": "lime.example.com/app", "lime_api_key": "k"}, "LIME_BASE_URL must be"),
        (
            {
                "lime_base_url": "https://l/app",
                "lime_api_key": "k",
                "lime_rate_limit": 2,
                "lime_interactive_reserved": 2,
            },
            "LIME_INTERACTIVE_RESERVED must be smaller",
        ),
    ],
)
def test_a_half_configured_connector_refuses_to_start(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_settings(**overrides)


async def test_the_api_key_never_reaches_the_logs(
    lime: LimeSandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    await lime.fault(kind="status", status=500, count=1)
    caplog.set_level(logging.DEBUG, logger="billecta_gateway.limecrm")

    async def no_sleep(_: float) -> None:
        return None

    async with lime.client(sleep=no_sleep) as client:
        await client.ping()
    async with LimeClient(base_url=lime.base_url, api_key="other-secret-key") as other:
        with pytest.raises(LimeAuthError, match="401"):
            await other.ping()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "retry 1/3" in text
    assert "lime-sandbox-test-key" not in text and "other-secret-key" not in text
