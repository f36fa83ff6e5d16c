"""Settings of the Billecta sandbox: credentials it accepts, seeded creditors, webhook target."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_AUTHENTICATION = "SecureToken c2FuZGJveC1zZWN1cmUtdG9rZW4="
DEFAULT_RETRY_SCHEDULE = (0.2, 0.5, 1.0, 2.0, 5.0)
_AUTH_PREFIXES = ("Basic ", "SecureToken ")


class SeedCreditor(BaseModel):
    """A creditor that exists from the start (and after every reset), with a fixed public id."""

    model_config = ConfigDict(extra="forbid")

    public_id: str = Field(min_length=1, max_length=64)
    name: str = "Sandbox Fastigheter AB"
    org_no: str = "556677-8899"
    next_invoice_number: int = Field(default=1001, ge=1)


class SandboxConfig(BaseModel):
    """Everything the sandbox is started with; ``POST /_sandbox/reset`` returns to it.

    ``seed`` makes every generated id deterministic (uuid5 of a counter) and fault error rates
    repeatable; ``None`` gives random ids. Webhooks go to ``webhook_url`` with the header
    ``webhook_header_name: webhook_header_value``; without a URL they are recorded as ``held``
    and sent once a URL is set through ``PUT /_sandbox/webhooks/settings``.
    """

    model_config = ConfigDict(extra="forbid")

    authentication: str = DEFAULT_AUTHENTICATION
    creditors: list[SeedCreditor] = Field(default_factory=list)
    seed: str | None = "billecta-sandbox"
    latency_ms: float = Field(default=0.0, ge=0)
    currency: str = "SEK"
    timezone: str = "Europe/Stockholm"
    webhook_url: str | None = None
    webhook_header_name: str = "x-api-key"
    webhook_header_value: str | None = None
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_concurrency: int = Field(default=1, ge=1, le=64)
    timeout_hang_seconds: float = Field(default=600.0, gt=0)
    request_log_limit: int = Field(default=200_000, ge=0)
    delivery_log_limit: int = Field(default=50_000, ge=100)
    validate_responses: bool = True

    @field_validator("authentication")
    @classmethod
    def _authorization_value(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(_AUTH_PREFIXES) or not value.split(" ", 1)[1].strip():
            raise ValueError("authentication must be 'Basic <base64>' or 'SecureToken <base64>'")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        """Read ``SANDBOX_*`` variables (see the README); unset ones keep their defaults.

        ``SANDBOX_CREDITORS`` is a JSON list of seed creditors or a comma-separated list of
        public ids; ``SANDBOX_SEED=random`` turns deterministic ids off.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        plain = {
            "SANDBOX_AUTHENTICATION": "authentication",
            "SANDBOX_WEBHOOK_URL": "webhook_url",
            "SANDBOX_WEBHOOK_HEADER_NAME": "webhook_header_name",
            "SANDBOX_WEBHOOK_API_KEY": "webhook_header_value",
            "SANDBOX_LATENCY_MS": "latency_ms",
            "SANDBOX_CURRENCY": "currency",
        }
        for variable, name in plain.items():
            if env.get(variable):
                values[name] = env[variable]
        if "SANDBOX_SEED" in env:
            seed = env["SANDBOX_SEED"].strip()
            values["seed"] = None if seed.lower() in ("", "random", "none") else seed
        creditors = env.get("SANDBOX_CREDITORS", "").strip()
        if creditors.startswith("["):
            values["creditors"] = json.loads(creditors)
        elif creditors:
            values["creditors"] = [
                {"public_id": item.strip()} for item in creditors.split(",") if item.strip()
            ]
        return cls.model_validate(values)
