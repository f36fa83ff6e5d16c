"""The event log's rows."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EventRead(BaseModel):
    """One event: when (business-local time), what, and the details."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "eventdate": "2025-09-25 14:15:00",
                    "title": "Payment Received",
                    "content": "Payment received from debtor",
                }
            ]
        }
    )

    eventdate: str | None = Field(description="YYYY-MM-DD HH:MM:SS in BUSINESS_TIMEZONE")
    title: str
    content: str
