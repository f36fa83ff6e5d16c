"""Settings (pydantic-settings) and the loading of the package's TOML configuration files."""

from __future__ import annotations

import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from billecta_gateway.billecta.errors import InvalidBillectaApiConfig
from billecta_gateway.billecta.overrides import load_route_overrides
from billecta_gateway.billecta.routes import ROUTES, RouteTable


class ConfigurationError(Exception):
    """The service cannot start with the given configuration; the message says why."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CsvList = Annotated[list[str], NoDecode]
SecretCsvList = Annotated[list[SecretStr], NoDecode]


class Settings(BaseSettings):
    """Every setting of the service, read from the environment (and `.env`)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/billecta_gateway"
    database_pool_size: int = 10
    redis_url: str = "redis://127.0.0.1:6379/0"
    arq_queue_name: str = "billecta-gateway:queue"
    # Long jobs (backfill, reconciliation, nightly maintenance) have a queue and a worker of
    # their own, so a dead worker's object jobs are not held for the longest job's timeout.
    arq_long_queue_name: str = "billecta-gateway:long"
    # Overrides every per-object job's timeout (seconds); for fault drills and tests.
    task_timeout_seconds: float | None = Field(default=None, gt=0)

    billecta_base_url: str | None = None
    billecta_authentication: SecretStr | None = None
    billecta_max_concurrency: int = Field(default=20, ge=1)
    billecta_interactive_reserved: int = Field(default=4, ge=0)
    billecta_rate_limit: float | None = Field(default=None, gt=0)
    billecta_timeout_seconds: float = Field(default=30.0, gt=0)
    billecta_max_retries: int = Field(default=3, ge=0)
    billecta_routes_file: Path | None = None
    # Seconds a Billecta call made while a user waits may take in all: the wait for a slot,
    # every attempt and the waits between them (README "Operating", deadlines).
    interactive_deadline: float = Field(default=20.0, gt=0)

    lime_api_keys: SecretCsvList = Field(default_factory=list)
    webhook_header_name: str = "x-api-key"
    webhook_api_key: SecretCsvList = Field(default_factory=list)

    cors_allowed_origins: CsvList = Field(default_factory=list)
    sync_on_change: CsvList = Field(default_factory=list)

    field_mappings_file: Path | None = None
    reports_config_file: Path | None = None
    lime_schema_file: Path | None = None

    # The Lime connector (DESIGN §3.11): off while LIME_BASE_URL is unset.
    lime_base_url: str | None = None
    lime_api_key: SecretStr | None = None
    lime_rate_limit: float = Field(default=9.0, gt=0)
    lime_interactive_reserved: float = Field(default=2.0, ge=0)
    lime_timeout: float = Field(default=30.0, gt=0)
    # Lime's webhook deliveries (issue 18): the subscription secret (two during a rotation),
    # the gateway's public URL Lime delivers to, and the catch-up poll.
    lime_webhook_secret: SecretCsvList = Field(default_factory=list)
    public_base_url: str | None = None
    lime_poll_interval_minutes: int = Field(default=5, ge=1, le=60)
    lime_poll_overlap_minutes: int = Field(default=10, ge=0)
    lime_relation_wait_seconds: int = Field(default=120, ge=0)
    # The start-up check of Lime's schema (`--no-schema-check` turns it off).
    lime_schema_check: bool = True

    business_timezone: str = "Europe/Stockholm"
    webhook_retention_days: int = Field(default=90, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # Seconds during which an identical money operation without Idempotency-Key is refused.
    idempotency_window: int = Field(default=600, ge=1)

    swish_default_message: str = "Betalning av faktura {invoicenumber}"
    swish_phone_field: str = "debtor.phone"

    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "console"

    # The worker's /metrics port (0: none); its database-derived gauges are read this often.
    metrics_port: int = Field(default=9108, ge=0, le=65535)
    metrics_refresh_seconds: float = Field(default=15.0, gt=0)
    # Seconds a stopping worker lets running jobs finish, and a stopping API lets requests
    # finish: below an orchestrator's grace period (Kubernetes: 30 s).
    job_completion_wait: int = Field(default=25, ge=0)
    api_shutdown_timeout: int = Field(default=25, ge=0)

    @field_validator(
        "lime_api_keys",
        "webhook_api_key",
        "lime_webhook_secret",
        "cors_allowed_origins",
        "sync_on_change",
        mode="before",
    )
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("business_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"BUSINESS_TIMEZONE {value!r} is not a known time zone") from exc
        return value

    @model_validator(mode="after")
    def _required_secrets(self) -> Settings:
        if not self.billecta_base_url:
            raise InvalidBillectaApiConfig(
                "BILLECTA_BASE_URL is not set: the base URL of the Billecta API is required"
            )
        auth = (
            self.billecta_authentication.get_secret_value() if self.billecta_authentication else ""
        )
        if not auth:
            raise InvalidBillectaApiConfig(
                "BILLECTA_AUTHENTICATION is not set: give the whole Authorization header value, "
                "'Basic <base64>' or 'SecureToken <base64>'"
            )
        if not auth.startswith(("Basic ", "SecureToken ")):
            raise InvalidBillectaApiConfig(
                "BILLECTA_AUTHENTICATION must start with 'Basic ' or 'SecureToken '"
            )
        if not [k for k in self.lime_api_keys if k.get_secret_value()]:
            raise ConfigurationError(
                "LIME_API_KEYS is not set: at least one API key for the Lime-facing endpoints "
                "is required (comma-separated)"
            )
        keys = [k for k in self.webhook_api_key if k.get_secret_value()]
        if not keys:
            raise ConfigurationError(
                "WEBHOOK_API_KEY is not set: the key Billecta sends in the webhook header is "
                "required (two comma-separated keys are accepted during rotation)"
            )
        if len(keys) > 2:
            raise ConfigurationError("WEBHOOK_API_KEY accepts at most two comma-separated keys")
        if self.billecta_interactive_reserved >= self.billecta_max_concurrency:
            raise ConfigurationError(
                "BILLECTA_INTERACTIVE_RESERVED must be smaller than BILLECTA_MAX_CONCURRENCY"
            )
        # A routes file that cannot be applied stops start-up, naming the route.
        _ = self.billecta_routes
        self._check_lime()
        unknown = set(self.sync_on_change) - SYNC_ON_CHANGE_LIMETYPES
        if unknown:
            raise ConfigurationError(
                f"SYNC_ON_CHANGE names unknown limetypes: {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(SYNC_ON_CHANGE_LIMETYPES))}"
            )
        return self

    def _check_lime(self) -> None:
        if not self.lime_base_url:
            return
        if not self.lime_base_url.startswith(("https://", "http://")):
            raise ConfigurationError(
                "LIME_BASE_URL must be https://<host>/<application> (application URL-encoded)"
            )
        if not (self.lime_api_key and self.lime_api_key.get_secret_value()):
            raise ConfigurationError(
                "LIME_API_KEY is not set: the Lime connector (LIME_BASE_URL) needs the API key "
                "of a Lime API user"
            )
        if self.lime_interactive_reserved >= self.lime_rate_limit:
            raise ConfigurationError(
                "LIME_INTERACTIVE_RESERVED must be smaller than LIME_RATE_LIMIT"
            )
        if len([s for s in self.lime_webhook_secret if s.get_secret_value()]) > 2:
            raise ConfigurationError(
                "LIME_WEBHOOK_SECRET accepts at most two comma-separated secrets"
            )
        if self.public_base_url and not self.public_base_url.startswith(("https://", "http://")):
            raise ConfigurationError("PUBLIC_BASE_URL must start with https:// (or http://)")

    @property
    def lime_enabled(self) -> bool:
        """Whether the Lime connector is on (LIME_BASE_URL is set)."""
        return bool(self.lime_base_url)

    @cached_property
    def billecta_routes(self) -> RouteTable:
        """The effective Billecta route table (built-in, with BILLECTA_ROUTES_FILE applied)."""
        return effective_routes(self.billecta_routes_file)

    @cached_property
    def timezone(self) -> ZoneInfo:
        """The business time zone (dates such as `invoice_expires` are local to it)."""
        return ZoneInfo(self.business_timezone)

    def secret_values(self) -> list[str]:
        """Every configured secret, for log redaction."""
        values = [
            k.get_secret_value()
            for k in (*self.lime_api_keys, *self.webhook_api_key, *self.lime_webhook_secret)
        ]
        if self.lime_api_key:
            values.append(self.lime_api_key.get_secret_value())
        if self.billecta_authentication:
            auth = self.billecta_authentication.get_secret_value()
            values.append(auth)
            values.append(auth.split(" ", 1)[-1])
        return [v for v in values if v]


def effective_routes(routes_file: Path | None) -> RouteTable:
    """The built-in route table, with the overrides of ``routes_file`` when one is given."""
    return ROUTES if routes_file is None else load_route_overrides(routes_file)


class BillectaToolSettings(BaseSettings):
    """Only what `routes` and `check-billecta` need, so an operator can check Billecta with
    nothing but test credentials (no database, no Lime keys)."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    billecta_base_url: str | None = None
    billecta_authentication: SecretStr | None = None
    billecta_rate_limit: float | None = Field(default=None, gt=0)
    billecta_timeout_seconds: float = Field(default=30.0, gt=0)
    billecta_max_retries: int = Field(default=3, ge=0)
    billecta_routes_file: Path | None = None

    @cached_property
    def billecta_routes(self) -> RouteTable:
        """The effective Billecta route table (built-in, with BILLECTA_ROUTES_FILE applied)."""
        return effective_routes(self.billecta_routes_file)


class DatabaseSettings(BaseSettings):
    """Only what `billecta-gateway migrate` needs, so migrating never requires Billecta secrets."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    database_url: str = Settings.model_fields["database_url"].default


SYNC_ON_CHANGE_LIMETYPES = frozenset(
    {
        "person",
        "company",
        "debtor",
        "creditordebtor",
        "article",
        "creditorarticle",
        "order",
        "orderrow",
    }
)


def load_toml(path: Path | None, packaged_name: str) -> dict[str, Any]:
    """Read a TOML file given in settings, else the one shipped in the package."""
    if path is not None:
        try:
            with path.open("rb") as fh:
                return tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigurationError(f"configuration file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"configuration file {path} is not valid TOML: {exc}") from exc
    resource = resources.files("billecta_gateway").joinpath("data", packaged_name)
    if not resource.is_file():
        return {}
    return tomllib.loads(resource.read_text(encoding="utf-8"))
