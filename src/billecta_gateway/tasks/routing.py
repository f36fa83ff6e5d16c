"""What every `/task/...` route does: resolve, create the batch, commit, enqueue, answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arq.connections import ArqRedis
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.openapi_docs import ErrorBody, ValidationErrorBody
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import TaskKind, resolve_object_ids, start_task
from billecta_gateway.tasks.schemas import TaskRequest, TaskStarted

TASK_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ValidationErrorBody,
        "description": "Invalid body or query filter (unknown key or op), or no object matches",
    },
    503: {"model": ErrorBody, "description": "The database is unavailable"},
}


def _audit(request: Request, kind: TaskKind, ids: Sequence[int], batch_id: int | None) -> None:
    request.state.audit = {
        "limetype": kind.limetype,
        "object_id": ids[0] if len(ids) == 1 else None,
        "detail": {
            "task": kind.task,
            "integration_monitor_batch_id": batch_id,
            "objects": len(ids),
        },
    }


async def start_ids_task(
    request: Request,
    *,
    session: AsyncSession,
    queue: ArqRedis,
    kind: TaskKind,
    title: str | None,
    actor: str | None,
    object_ids: Sequence[int],
    missing_ids: Sequence[int] = (),
) -> TaskStarted:
    """Create the batch over known ids, commit, enqueue its fan-out and answer the task."""
    jobs = AfterCommit()
    batch_id = await start_task(
        session,
        kind=kind,
        title=title,
        created_by=actor,
        object_ids=object_ids,
        missing_ids=missing_ids,
        jobs=jobs,
    )
    _audit(request, kind, object_ids, batch_id)
    await session.commit()
    await jobs.flush(queue)
    return TaskStarted(task_id=str(batch_id), integration_monitor_batch_id=batch_id)


async def start_filter_task(
    request: Request,
    *,
    session: AsyncSession,
    queue: ArqRedis,
    schema: LimeSchema,
    kind: TaskKind,
    body: TaskRequest,
    actor: str | None,
) -> TaskStarted:
    """Resolve the body's query filter (422 when it matches nothing) and start the task."""
    _audit(request, kind, [], None)
    resolved = await resolve_object_ids(
        session, schema=schema, limetype=kind.limetype, query_filter=body.query_filter
    )
    return await start_ids_task(
        request,
        session=session,
        queue=queue,
        kind=kind,
        title=body.integration_monitor_batch_title,
        actor=actor,
        object_ids=resolved.found,
        missing_ids=resolved.missing,
    )
