from __future__ import annotations

from pathlib import Path

import pytest

from billecta_gateway.billecta.errors import InvalidBillectaApiConfig
from billecta_gateway.config import ConfigurationError, Settings
from billecta_gateway.lime.schema import LimeSchema
from tests.conftest import make_settings


def test_comma_separated_keys_are_split() -> None:
    settings = make_settings(
        lime_api_keys="a-key-1, b-key-2", cors_allowed_origins="https://x.lime"
    )
    assert [k.get_secret_value() for k in settings.lime_api_keys] == ["a-key-1", "b-key-2"]
    assert settings.cors_allowed_origins == ["https://x.lime"]


@pytest.mark.parametrize(
    ("missing", "setting"),
    [
        ("billecta_base_url", "BILLECTA_BASE_URL"),
        ("billecta_authentication", "BILLECTA_AUTHENTICATION"),
    ],
)
def test_missing_billecta_setting_names_it(missing: str, setting: str) -> None:
    with pytest.raises(InvalidBillectaApiConfig, match=setting):
        make_settings(**{missing: None})


def test_authentication_needs_a_known_prefix() -> None:
    with pytest.raises(InvalidBillectaApiConfig, match=r"Basic|SecureToken"):
        make_settings(billecta_authentication="Bearer abc")


@pytest.mark.parametrize(
    ("field", "setting"),
    [("lime_api_keys", "LIME_API_KEYS"), ("webhook_api_key", "WEBHOOK_API_KEY")],
)
def test_missing_keys_stop_start_up(field: str, setting: str) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        make_settings(**{field: ""})


def test_at_most_two_webhook_keys() -> None:
    assert len(make_settings(webhook_api_key="old-key-1,new-key-2").webhook_api_key) == 2
    with pytest.raises(ConfigurationError, match="at most two"):
        make_settings(webhook_api_key="k-one,k-two,k-three")


def test_unknown_sync_on_change_limetype_is_refused() -> None:
    assert make_settings(sync_on_change="debtor,order").sync_on_change == ["debtor", "order"]
    with pytest.raises(ConfigurationError, match="invoice"):
        make_settings(sync_on_change="debtor,invoice")


def test_settings_read_plain_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLECTA_BASE_URL", "https://apitest.billecta.com")
    monkeypatch.setenv("BILLECTA_AUTHENTICATION", "Basic dXNlcjpwYXNz")
    monkeypatch.setenv("LIME_API_KEYS", "k-one,k-two")
    monkeypatch.setenv("WEBHOOK_API_KEY", "hook-key")
    monkeypatch.setenv("BILLECTA_RATE_LIMIT", "")
    monkeypatch.setenv("BUSINESS_TIMEZONE", "Europe/Stockholm")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.billecta_base_url == "https://apitest.billecta.com"
    assert settings.billecta_rate_limit is None
    assert len(settings.lime_api_keys) == 2
    assert str(settings.timezone) == "Europe/Stockholm"


def test_env_example_starts_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    assert settings.billecta_base_url
    documented = {
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert {name.upper() for name in Settings.model_fields} <= documented


def test_secrets_are_not_in_the_settings_repr() -> None:
    settings = make_settings()
    text = repr(settings) + str(settings.model_dump())
    for secret in settings.secret_values():
        assert secret not in text


def test_lime_schema_file_declares_custom_properties(tmp_path: Path) -> None:
    path = tmp_path / "schema.toml"
    path.write_text('[debtor.custom]\ninvoice_reference = "string"\n')
    schema = LimeSchema.load(path)
    spec = schema.limetypes["debtor"].properties["invoice_reference"]
    assert spec.custom and spec.kind == "string"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[debtor.custom]\nname = "string"\n', "already a built-in"),
        ('[debtor.custom]\nx = "money"\n', "unknown type"),
        ('[nosuchtype.custom]\nx = "string"\n', "unknown limetypes"),
        ('[debtor.custom]\ntier = "option"\n', "options"),
    ],
)
def test_bad_lime_schema_file_fails_clearly(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "schema.toml"
    path.write_text(toml)
    with pytest.raises(ConfigurationError, match=message):
        LimeSchema.load(path)
