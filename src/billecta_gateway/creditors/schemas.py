"""Request body of `/task/update-creditor-in-billecta`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**63 - 1


class CreditorTaskRequest(BaseModel):
    """Update one creditor in Billecta."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "integration_monitor_batch_title": "Update creditor in Billecta",
                    "creditor_id": 1001,
                }
            ]
        },
    )

    integration_monitor_batch_title: str | None = Field(
        default=None,
        max_length=255,
        description="Title of the integration monitor batch (the task's name when omitted)",
        examples=["Update creditor in Billecta"],
    )
    creditor_id: int = Field(ge=1, le=MAX_ID, description="The creditor's Lime id", examples=[1001])
