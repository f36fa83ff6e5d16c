"""The catch-up poll and the nightly id comparison (DESIGN §3.11, issue 18 §5).

Lime drops a webhook after about ten minutes of failed deliveries and disables the
subscription, so webhooks alone can lose changes. Every ``LIME_POLL_INTERVAL_MINUTES`` the poll
reads, per mirrored limetype, the objects whose ``_timestamp`` is above the stored high-water
mark minus ``LIME_POLL_OVERLAP_MINUTES`` (transactions can commit out of order) and feeds them
through the same ingestion as webhooks; versions already applied are skipped by their stamp.
Deletes cannot be seen by polling: the nightly comparison applies every mirrored Lime id that
Lime no longer has as a delete, and reports it on the monitor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.config import Settings
from billecta_gateway.db import session_scope
from billecta_gateway.errors import InvalidInput
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.apply import (
    StillReferenced,
    WaitForRelations,
    apply_delete,
    apply_values,
    read_from_lime,
    rest_timestamp,
)
from billecta_gateway.limecrm.connect import LimeConnector
from billecta_gateway.limecrm.names import names_of
from billecta_gateway.models import GATEWAY_ID_START, LimePollMark
from billecta_gateway.monitor import service as monitor
from billecta_gateway.queue import AfterCommit

logger = logging.getLogger("billecta_gateway.limecrm")

MONITOR_TITLE = "Lime catch-up"
MONITOR_TASK = "lime_catch_up"
_ERROR_LIMIT = 2_000


@dataclass
class PollSummary:
    """What one poll of one limetype did."""

    limetype: str
    read: int = 0
    applied: int = 0
    stale: int = 0
    failed: list[str] = field(default_factory=list)
    high_water: datetime | None = None


def polled_properties(schema: LimeSchema, limetype: str) -> list[str]:
    """The properties the poll asks Lime for, by their Lime names: those Lime-sourced
    ingestion applies and Lime has."""
    spec, names = schema.limetypes[limetype], names_of(schema).of(limetype)
    wanted = [
        names.lime_property(name)
        for name, prop in spec.properties.items()
        if not (prop.gateway_owned or prop.owned_once_set or prop.kind == "json")
    ]
    return [name for name in wanted if name is not None]


async def _log(
    session: AsyncSession,
    *,
    now: datetime,
    limetype: str,
    object_id: int | None,
    ok: bool,
    message: str,
) -> None:
    batch = await monitor.daily_batch(
        session, title=MONITOR_TITLE, task=MONITOR_TASK, day=now.date()
    )
    await monitor.add_log(
        session,
        batch_id=batch.id,
        limetype=limetype,
        object_id=object_id,
        status="ok" if ok else "error",
        message=message[:_ERROR_LIMIT],
        task_id=f"lime_poll:{limetype}",
    )


async def _store_mark(
    session: AsyncSession,
    limetype: str,
    *,
    high_water: datetime | None,
    now: datetime,
    error: str | None,
) -> None:
    statement = pg_insert(LimePollMark).values(
        limetype=limetype, high_water=high_water, last_polled_at=now, last_error=error
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[LimePollMark.limetype],
            set_={
                "high_water": statement.excluded.high_water,
                "last_polled_at": statement.excluded.last_polled_at,
                "last_error": statement.excluded.last_error,
            },
        )
    )


async def record_poll_error(
    sessionmaker: async_sessionmaker[AsyncSession], limetype: str, *, now: datetime, error: str
) -> None:
    """A poll of one limetype that Lime failed: its mark stays, the error is kept for
    `lime status` and logged on the monitor."""
    statement = pg_insert(LimePollMark).values(
        limetype=limetype, last_polled_at=now, last_error=error[:_ERROR_LIMIT]
    )
    async with session_scope(sessionmaker) as session:
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[LimePollMark.limetype],
                set_={"last_polled_at": now, "last_error": statement.excluded.last_error},
            )
        )
        await _log(
            session,
            now=now,
            limetype=limetype,
            object_id=None,
            ok=False,
            message=f"the catch-up poll of {limetype} failed, its mark stays: {error}",
        )


async def poll_limetype(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    lime: LimeConnector,
    schema: LimeSchema,
    settings: Settings,
    limetype: str,
    now: datetime,
    jobs: AfterCommit,
) -> PollSummary:
    """Read one limetype's changes since its mark (minus the overlap) into the mirror.

    Each object is applied in a short transaction of its own; the mark moves to the newest
    ``_timestamp`` read once the whole list was read (a Lime failure leaves it where it was).
    """
    async with session_scope(sessionmaker) as session:
        mark = await session.scalar(
            select(LimePollMark.high_water).where(LimePollMark.limetype == limetype)
        )
    overlap = timedelta(minutes=settings.lime_poll_overlap_minutes)
    since = (mark or now) - overlap
    summary = PollSummary(limetype=limetype, high_water=mark)
    lime_limetype = names_of(schema).lime_limetype(limetype)
    changes = lime.client.changed_since(lime_limetype, since, polled_properties(schema, limetype))
    async for obj in changes:
        summary.read += 1
        object_id = obj.get("_id")
        if not isinstance(object_id, int):
            continue
        stamp = rest_timestamp(obj, settings)
        if stamp is not None and (summary.high_water is None or stamp > summary.high_water):
            summary.high_water = stamp
        try:
            async with session_scope(sessionmaker) as session:
                applied = await _apply_with_relations(
                    session, lime, schema, settings, limetype, object_id, obj, jobs
                )
        except (InvalidInput, WaitForRelations) as exc:
            message = f"{limetype} {object_id} from the catch-up poll was not applied: {exc}"
            summary.failed.append(message)
            async with session_scope(sessionmaker) as session:
                await _log(
                    session,
                    now=now,
                    limetype=limetype,
                    object_id=object_id,
                    ok=False,
                    message=message,
                )
            continue
        if applied == "stale":
            summary.stale += 1
        else:
            summary.applied += 1
    async with session_scope(sessionmaker) as session:
        await _store_mark(session, limetype, high_water=summary.high_water, now=now, error=None)
    return summary


async def _apply_with_relations(
    session: AsyncSession,
    lime: LimeConnector,
    schema: LimeSchema,
    settings: Settings,
    limetype: str,
    object_id: int,
    obj: dict[str, object],
    jobs: AfterCommit,
) -> str:
    """Apply a polled object; related objects the mirror lacks are read from Lime first."""
    for attempt in range(2):
        try:
            applied = await apply_values(
                session,
                schema=schema,
                settings=settings,
                limetype=limetype,
                object_id=object_id,
                values=obj,
                stamp=rest_timestamp(obj, settings),
                jobs=jobs,
            )
            return applied.status
        except WaitForRelations as wait:
            if attempt:
                raise
            for missing in wait.missing:
                related = await read_from_lime(lime, schema, missing.limetype, missing.object_id)
                await apply_values(
                    session,
                    schema=schema,
                    settings=settings,
                    limetype=missing.limetype,
                    object_id=missing.object_id,
                    values=related,
                    stamp=rest_timestamp(related, settings),
                    jobs=jobs,
                )
    raise AssertionError("unreachable")


@dataclass
class CompareSummary:
    """What the nightly id comparison of one limetype did."""

    limetype: str
    in_lime: int = 0
    deleted: list[int] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


async def compare_ids(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    lime: LimeConnector,
    schema: LimeSchema,
    settings: Settings,
    limetype: str,
    now: datetime,
    jobs: AfterCommit,
) -> CompareSummary:
    """Apply as deletes the mirrored Lime ids Lime no longer has, and report each on the monitor.

    The mirror's ids are read before Lime's, so an object created meanwhile is never taken for
    a deleted one. Gateway-assigned ids (objects Lime does not hold yet) are left alone.
    """
    model = schema.limetypes[limetype].model
    async with session_scope(sessionmaker) as session:
        mirrored = set(
            (await session.scalars(select(model.id).where(model.id < GATEWAY_ID_START))).all()
        )
    in_lime: set[int] = set()
    query = {
        "limetype": names_of(schema).lime_limetype(limetype),
        "responseFormat": {"object": {"_id": None}},
        "orderBy": [{"_id": "ASC"}],
    }
    async for obj in lime.client.iter_query(query):
        if isinstance(obj.get("_id"), int):
            in_lime.add(int(obj["_id"]))
    summary = CompareSummary(limetype=limetype, in_lime=len(in_lime))
    if mirrored and not in_lime:
        # An API user who may not see this limetype also gets an empty list: never take that
        # for "everything was deleted".
        message = (
            f"Lime lists no {limetype} while the mirror holds {len(mirrored)}: nothing deleted; "
            "check the API user's access"
        )
        summary.kept.append(message)
        async with session_scope(sessionmaker) as session:
            await _log(
                session, now=now, limetype=limetype, object_id=None, ok=False, message=message
            )
        return summary
    for object_id in sorted(mirrored - in_lime):
        try:
            async with session_scope(sessionmaker) as session:
                applied = await apply_delete(
                    session,
                    schema=schema,
                    settings=settings,
                    limetype=limetype,
                    object_id=object_id,
                    jobs=jobs,
                )
                if applied.status != "deleted":
                    continue
                summary.deleted.append(object_id)
                summary.conflicts += applied.conflicts
                conflict = (
                    "; conflict: " + "; ".join(applied.conflicts) if applied.conflicts else ""
                )
                await _log(
                    session,
                    now=now,
                    limetype=limetype,
                    object_id=object_id,
                    ok=not applied.conflicts,
                    message=f"{limetype} {object_id} is no longer in Lime: deleted{conflict}",
                )
        except StillReferenced as exc:
            summary.kept.append(str(exc))
            async with session_scope(sessionmaker) as session:
                await _log(
                    session,
                    now=now,
                    limetype=limetype,
                    object_id=object_id,
                    ok=False,
                    message=f"{limetype} {object_id} is no longer in Lime but was kept: {exc}",
                )
    return summary
