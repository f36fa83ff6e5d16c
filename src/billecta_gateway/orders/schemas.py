"""Request and response bodies of `/add-message-to-orderrow/`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**63 - 1


class AddMessageRequest(BaseModel):
    """A message (note) to add right after an order row."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"orderrow_id": 1001, "orderrow_description": "Special handling required"}]
        },
    )

    orderrow_id: int = Field(ge=1, le=MAX_ID, description="The order row the message follows")
    orderrow_description: str = Field(
        min_length=1, max_length=10_000, description="The message text"
    )


class AddMessageResponse(BaseModel):
    """The message row was added."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "success", "orderrow_id": 1000000000123, "position": 3}]
        }
    )

    status: Literal["success"] = "success"
    orderrow_id: int = Field(description="The new message row's id")
    position: int = Field(description="The new row's position in its order")
