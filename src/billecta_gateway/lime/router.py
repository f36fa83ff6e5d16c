"""Object ingestion, the read API and the change feed under `/limeobjects/`."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from billecta_gateway.deps import LimeSchemaDep, QueueDep, SessionDep, SettingsDep
from billecta_gateway.errors import InvalidInput
from billecta_gateway.lime import ingest, read
from billecta_gateway.lime.schemas import (
    LIST_RESPONSE_EXAMPLES,
    PUT_BODY_OPENAPI,
    ChangeFeedPage,
    LimeObjectPage,
    LimeObjectRead,
)
from billecta_gateway.openapi_docs import error_response
from billecta_gateway.queue import AfterCommit

router = APIRouter(prefix="/limeobjects", tags=["lime objects"])

LimetypePath = Annotated[
    str, Path(description="The limetype, lower case", examples=["debtor"], max_length=64)
]
IdPath = Annotated[int, Path(description="The Lime `_id`", ge=1, le=read.MAX_ID, examples=[1001])]
_UNKNOWN = error_response(404, "Unknown limetype, or no object with this id")


def _body_error(message: str) -> InvalidInput:
    return InvalidInput(
        f"Invalid request: {message}",
        errors=[{"loc": ["body"], "field": "body", "message": message, "type": "invalid_body"}],
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _body_error("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _body_error("the body must be a JSON object of Lime properties")
    return body


@router.put(
    "/{limetype}/{id}",
    summary="Create or update a Lime object",
    response_model=LimeObjectRead,
    response_description="The object was updated (or already held these values)",
    responses={
        201: {"model": LimeObjectRead, "description": "The object was created"},
        **_UNKNOWN,
        **error_response(
            409, "The object exists with another Billecta id, or a unique value is already used"
        ),
    },
    openapi_extra=PUT_BODY_OPENAPI,
)
async def put_object(
    limetype: LimetypePath,
    id: IdPath,
    request: Request,
    response: Response,
    session: SessionDep,
    schema: LimeSchemaDep,
    settings: SettingsDep,
    queue: QueueDep,
) -> dict[str, Any]:
    """Create or merge-update one object pushed by Lime (200 updated, 201 created).

    When SYNC_ON_CHANGE names the limetype, its Billecta sync is enqueued after the commit.
    """
    request.state.audit = {"limetype": limetype, "object_id": id}
    body = await _json_object(request)
    jobs = AfterCommit()
    result = await ingest.upsert_object(
        session,
        schema=schema,
        settings=settings,
        limetype=limetype,
        object_id=id,
        body=body,
        jobs=jobs,
    )
    await session.commit()
    await jobs.flush(queue)
    response.status_code = 201 if result.created else 200
    return result.data


@router.get(
    "/{limetype}/{id}",
    summary="Read one Lime object",
    response_model=LimeObjectRead,
    response_description="The stored object",
    responses=_UNKNOWN,
)
async def get_object(
    limetype: LimetypePath, id: IdPath, session: SessionDep, schema: LimeSchemaDep
) -> dict[str, Any]:
    """One stored object; a gateway-assigned id that Lime adopted answers the adopted object."""
    return await read.get_object(session, schema=schema, limetype=limetype, object_id=id)


@router.get(
    "/{limetype}",
    summary="List Lime objects, or read the change feed",
    response_model=LimeObjectPage | ChangeFeedPage,
    response_description="A page of objects, or a page of the change feed",
    responses={
        200: {"content": {"application/json": {"examples": LIST_RESPONSE_EXAMPLES}}},
        **error_response(404, "Unknown limetype"),
    },
)
async def list_objects(
    limetype: LimetypePath,
    session: SessionDep,
    schema: LimeSchemaDep,
    q: Annotated[
        str | None,
        Query(
            description="A Lime query filter as JSON, e.g. "
            '`{"key": "city", "op": "=", "exp": "Stockholm"}`',
            examples=['{"op": "AND", "exp": [{"key": "debtortype", "op": "=", "exp": "company"}]}'],
        ),
    ] = None,
    cursor: Annotated[
        str | None, Query(description="`next_cursor` of the previous page", max_length=32)
    ] = None,
    changed_after: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**63 - 1,
            description="Read the change feed from this change number (0 for everything); "
            "resume with the `last_change_no` of the previous answer",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=read.MAX_LIMIT, description="Page size")
    ] = read.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Pages of objects ordered by `_id`, or with `changed_after` the change feed.

    Pages: `q` (a Lime query filter) and `cursor` (the previous `next_cursor`) answer
    `{"objects": [...], "next_cursor": "<cursor>" | null}`.

    Change feed: `changed_after=<N>` answers `{"objects": [...], "deleted": [{"_id", "_limetype",
    "_change_no"}], "last_change_no": M}`: the objects written and deleted (tombstones) with a
    change number above N, each list ordered by change number then id; an id appears in one list
    only. Changes of transactions that may still commit are held back, and a page never splits
    the changes of one transaction, so a consumer that resumes with `changed_after=M` never
    misses a change. `last_change_no` equals N when nothing is returned. `q` and `cursor` cannot
    be combined with `changed_after`.
    """
    if changed_after is None:
        page = await read.list_objects(
            session, schema=schema, limetype=limetype, q=q, cursor=cursor, limit=limit
        )
        return {"objects": page.objects, "next_cursor": page.next_cursor}
    if q is not None or cursor is not None:
        given = "q" if q is not None else "cursor"
        message = f"{given} cannot be combined with changed_after"
        raise InvalidInput(
            f"Invalid request: {message}",
            errors=[
                {
                    "loc": ["query", given],
                    "field": given,
                    "message": message,
                    "type": "invalid_combination",
                }
            ],
        )
    feed = await read.change_feed(
        session, schema=schema, limetype=limetype, changed_after=changed_after, limit=limit
    )
    return {"objects": feed.objects, "deleted": feed.deleted, "last_change_no": feed.last_change_no}


@router.delete(
    "/{limetype}/{id}",
    summary="Delete a Lime object from the mirror",
    status_code=204,
    response_class=Response,
    response_description="The object was deleted",
    response_model=None,
    responses={
        **_UNKNOWN,
        **error_response(
            409, "Another object still refers to it, or its order no longer allows deleting rows"
        ),
    },
)
async def delete_object(
    limetype: LimetypePath,
    id: IdPath,
    request: Request,
    session: SessionDep,
    schema: LimeSchemaDep,
    settings: SettingsDep,
    queue: QueueDep,
) -> None:
    """Delete one object from the mirror (never in Billecta); the change feed reports it."""
    request.state.audit = {"limetype": limetype, "object_id": id}
    jobs = AfterCommit()
    await ingest.delete_object(
        session, schema=schema, settings=settings, limetype=limetype, object_id=id, jobs=jobs
    )
    await session.commit()
    await jobs.flush(queue)
