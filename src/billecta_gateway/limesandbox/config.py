"""Settings of the Lime sandbox; ``POST /_lime-sandbox/reset`` returns to them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_API_KEY = "dev-lime-sandbox-key"
DEFAULT_APPLICATION = "sandbox"

NextForm = Literal["offset", "offset_id", "page"]
OptionEncoding = Literal["object", "key", "id"]
AddonState = Literal["installed", "forbidden", "missing"]


class LimeSandboxConfig(BaseModel):
    """How the sandbox behaves; the shapes Lime servers differ in are switchable.

    ``next_form``: ``offset`` and ``offset_id`` are the two documented forms of a list's next
    link; ``page`` is a form nobody documented, for proving that ``lime check`` notices.
    ``option_encoding``: ``object`` is the documented REST read shape, ``key`` the webhook
    shape, ``id`` an undocumented one. ``time_scale`` multiplies every webhook backoff (0.01 is
    a fast clock for tests). ``rate_limit`` answers 429 above that many API requests in any
    one second (None: no limit).
    """

    model_config = ConfigDict(extra="forbid")

    api_key: str = DEFAULT_API_KEY
    application: str = DEFAULT_APPLICATION
    timezone: str = "Europe/Stockholm"
    next_form: NextForm = "offset_id"
    option_encoding: OptionEncoding = "object"
    default_limit: int = Field(default=10, ge=1)
    max_limit: int = Field(default=500, ge=1)
    rate_limit: float | None = Field(default=None, gt=0)
    webhooks_addon: AddonState = "installed"
    delivery_attempts: int = Field(default=5, ge=0)
    delivery_backoff: float = Field(default=10.0, ge=0)
    dont_disable_on_failed_delivery: bool = False
    time_scale: float = Field(default=1.0, ge=0)
    delivery_timeout: float = Field(default=5.0, gt=0)
    schema_file: Path | None = None
    demo_data: bool = False
    request_log_limit: int = Field(default=100_000, ge=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LimeSandboxConfig:
        """Read ``LIME_SANDBOX_<SETTING>`` variables (e.g. ``LIME_SANDBOX_NEXT_FORM=offset``);
        ``LIME_SCHEMA_FILE`` gives the custom properties of the generated schema."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(f"LIME_SANDBOX_{name.upper()}")
            if raw is not None and raw.strip():
                values[name] = raw.strip()
        if "schema_file" not in values and env.get("LIME_SCHEMA_FILE"):
            values["schema_file"] = env["LIME_SCHEMA_FILE"]
        return cls.model_validate(values)
