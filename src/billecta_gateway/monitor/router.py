"""Read API of the integration monitor: batches, their progress and their logs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from billecta_gateway.deps import SessionDep
from billecta_gateway.monitor import service
from billecta_gateway.monitor.schemas import (
    BatchPage,
    BatchRead,
    BatchStatus,
    LogPage,
    LogRead,
    LogStatus,
)
from billecta_gateway.openapi_docs import ValidationErrorBody, error_response

router = APIRouter(prefix="/integration-monitor", tags=["integration monitor"])

MAX_ID = 2**63 - 1  # bigint: a larger id is a 422, not a database error
BatchId = Annotated[
    int, Path(description="The batch id (`integration_monitor_batch_id`)", ge=1, le=MAX_ID)
]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")]
Cursor = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="The `next_cursor` of the previous page")
]

_NOT_FOUND = error_response(404, "No batch with this id")
_INVALID = error_response(422, "Unknown status, malformed date-time or limit", ValidationErrorBody)


@router.get(
    "/batches",
    summary="List integration monitor batches",
    response_model=BatchPage,
    responses=_INVALID,
)
async def read_batches(
    session: SessionDep,
    status: Annotated[BatchStatus | None, Query(description="Only batches of this status")] = None,
    since: Annotated[
        datetime | None, Query(description="Only batches started at or after (ISO 8601)")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Only batches started before (ISO 8601)")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> BatchPage:
    """Batches newest first, paged with `cursor` (naive date-times are read as UTC)."""
    page = await service.list_batches(
        session, status=status, since=since, until=until, limit=limit, cursor=cursor
    )
    return BatchPage(
        items=[BatchRead.model_validate(b) for b in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/batches/{batch_id}",
    summary="Get an integration monitor batch",
    response_model=BatchRead,
    responses=_NOT_FOUND,
)
async def read_batch(session: SessionDep, batch_id: BatchId) -> BatchRead:
    """One batch with its counters and progress."""
    return BatchRead.model_validate(await service.get_batch(session, batch_id=batch_id))


@router.get(
    "/batches/{batch_id}/logs",
    summary="List the logs of an integration monitor batch",
    response_model=LogPage,
    responses={**_NOT_FOUND, **_INVALID},
)
async def read_batch_logs(
    session: SessionDep,
    batch_id: BatchId,
    status: Annotated[LogStatus | None, Query(description="Only logs of this status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> LogPage:
    """A batch's logs newest first, paged with `cursor`."""
    page = await service.list_logs(
        session, batch_id=batch_id, status=status, limit=limit, cursor=cursor
    )
    return LogPage(
        items=[LogRead.model_validate(log) for log in page.items], next_cursor=page.next_cursor
    )
