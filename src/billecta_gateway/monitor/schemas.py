"""Read models of the integration monitor API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field
from pydantic.config import JsonDict

BatchStatus = Literal["running", "ok", "donewitherror", "error"]
LogStatus = Literal["pending", "running", "ok", "error"]

_BATCH_EXAMPLE: JsonDict = {
    "id": 412,
    "title": "Upsert debtors in Billecta",
    "task": "upsert_debtors_in_billecta",
    "status": "donewitherror",
    "created_by": "anna.svensson",
    "total": 250,
    "done": 250,
    "failed": 3,
    "progress": 1.0,
    "message": None,
    "starttime": "2026-03-04T09:12:03.114Z",
    "endtime": "2026-03-04T09:14:41.870Z",
}

_LOG_EXAMPLE: JsonDict = {
    "id": 90311,
    "batch_id": 412,
    "limetype": "debtor",
    "object_id": 1001,
    "task_id": "upsert_debtor:412:1001:1",
    "attempt": 1,
    "status": "error",
    "message": "Creditor 3 (Acme AB): Billecta rejected the request: OrgNo is not valid",
    "created_at": "2026-03-04T09:12:03.201Z",
    "updated_at": "2026-03-04T09:13:10.552Z",
}


class BatchRead(BaseModel):
    """An integration monitor batch: one bulk operation and its progress."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [_BATCH_EXAMPLE]}
    )

    id: int
    title: str = Field(description="The batch title given by the frontend")
    task: str = Field(description="The background task the batch runs")
    status: BatchStatus = Field(
        description="`running`; `ok` when every log is ok; `donewitherror` when any log failed; "
        "`error` when the batch itself could not run"
    )
    created_by: str | None = Field(description="The Lime user who started it, when known")
    total: int = Field(description="Number of logs (objects) in the batch")
    done: int = Field(description="Number of finished logs, ok or error")
    failed: int = Field(description="Number of logs that finished with an error")
    message: str | None = Field(description="Why the batch could not run (status `error`)")
    starttime: datetime
    endtime: datetime | None = Field(description="The latest log's update time once closed")

    @computed_field(  # type: ignore[prop-decorator]
        description="Share of finished logs, 0 to 1 (1 for a closed batch without logs)"
    )
    @property
    def progress(self) -> float:
        if self.total <= 0:
            return 0.0 if self.status == "running" else 1.0
        return round(min(self.done / self.total, 1.0), 4)


class LogRead(BaseModel):
    """One object's operation within a batch."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_LOG_EXAMPLE]})

    id: int
    batch_id: int
    limetype: str
    object_id: int | None = Field(description="The Lime `_id` of the object")
    task_id: str | None = Field(description="The id of the queued job that handles the object")
    attempt: int = Field(description="How many times the job was queued for the object")
    status: LogStatus
    message: str | None = Field(description="What went wrong (or what was done)")
    created_at: datetime
    updated_at: datetime


class BatchPage(BaseModel):
    """A page of batches, newest first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_BATCH_EXAMPLE], "next_cursor": 412}]}
    )

    items: list[BatchRead]
    next_cursor: int | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )


class LogPage(BaseModel):
    """A page of a batch's logs, newest first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_LOG_EXAMPLE], "next_cursor": None}]}
    )

    items: list[LogRead]
    next_cursor: int | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )
