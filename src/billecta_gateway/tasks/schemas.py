"""Request and response bodies shared by the `/task/...` endpoints (DESIGN §3.5)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

QUERY_FILTER_EXAMPLE: dict[str, Any] = {"key": "_id", "op": "IN", "exp": [1001, 1002, 1003]}


def task_example(title: str) -> dict[str, Any]:
    """The spec's request example of a query-filter task with its batch title."""
    return {"integration_monitor_batch_title": title, "query_filter": QUERY_FILTER_EXAMPLE}


def spec_example(value: dict[str, Any]) -> dict[str, Any]:
    """`openapi_examples` for a request body: the spec's example, shown in /docs."""
    return {"spec": {"summary": "The request the Lime frontend sends", "value": value}}


def task_body_example(title: str) -> dict[str, Any]:
    """`openapi_examples` of a query-filter task body."""
    return spec_example(task_example(title))


class TaskRequest(BaseModel):
    """A background task over the objects a Lime query filter selects."""

    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": [task_example("Upsert debtors in Billecta")]}
    )

    integration_monitor_batch_title: str | None = Field(
        default=None,
        max_length=255,
        description="Title of the integration monitor batch (the task's name when omitted)",
        examples=["Upsert debtors in Billecta"],
    )
    query_filter: dict[str, Any] = Field(
        description=(
            "A Lime query filter: a leaf `{key, op, exp}` or `{op: AND|OR, exp: [...]}`; "
            "ops `=`, `!=`, `<`, `<=`, `>`, `>=`, `IN`, `!IN`, `?`, `=?`"
        ),
        examples=[QUERY_FILTER_EXAMPLE],
    )


class TaskStarted(BaseModel):
    """The task was accepted: its batch shows progress in the integration monitor."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"task_id": "412", "status": "success", "integration_monitor_batch_id": 412}
            ]
        }
    )

    task_id: str = Field(description="The task's id (the batch id as a string)")
    status: Literal["success"] = "success"
    integration_monitor_batch_id: int = Field(description="The integration monitor batch id")
