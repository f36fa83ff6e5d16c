"""Lime's changes applied to the mirror, through the same ingestion as `PUT limeobjects`.

One path for every Lime source (webhooks, the catch-up poll, re-reads after a restore or of a
missing related object), Lime's names translated to the gateway's first (`limecrm.names`), so
the spec's decorators (`SYNC_ON_CHANGE`, dirty detection, the order-row guard) behave exactly
as for a push. Each object keeps the Lime ``_timestamp`` of the
last version applied (`lime_object_stamp`): an older or already applied version is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.errors import Conflict, InvalidInput, NotFound
from billecta_gateway.lime import ingest
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.codec import parse_lime_datetime
from billecta_gateway.limecrm.connect import LimeConnector
from billecta_gateway.limecrm.errors import LimeCodecError, LimeError
from billecta_gateway.limecrm.names import names_of
from billecta_gateway.models import LimeObjectStamp
from billecta_gateway.queue import AfterCommit


@dataclass(frozen=True, slots=True)
class MissingRelation:
    """A related object the mirror does not have yet."""

    limetype: str
    object_id: int


@dataclass
class Applied:
    """What applying one Lime change did."""

    status: str  # applied, stale, deleted, absent
    changed: frozenset[str] = frozenset()
    created: bool = False
    conflicts: list[str] = field(default_factory=list)


class WaitForRelations(Exception):
    """The change refers to objects the mirror does not have yet (an out-of-order delivery)."""

    def __init__(self, missing: list[MissingRelation]) -> None:
        self.missing = missing
        names = ", ".join(f"{m.limetype} {m.object_id}" for m in missing)
        super().__init__(f"waiting for {names} to reach the mirror")


class StillReferenced(Exception):
    """Lime deleted an object the mirror's other objects still refer to (their deletes may
    still be on the way)."""


def rest_timestamp(obj: Mapping[str, Any], settings: Settings) -> datetime | None:
    """The ``_timestamp`` of an object read over REST or the Query API."""
    value = obj.get("_timestamp")
    if not isinstance(value, str):
        return None
    try:
        return parse_lime_datetime(value, settings.timezone)
    except LimeCodecError:
        return None


async def applied_stamp(session: AsyncSession, limetype: str, object_id: int) -> datetime | None:
    """The Lime timestamp of the version of an object last applied (locked for the caller)."""
    return await session.scalar(
        select(LimeObjectStamp.lime_timestamp)
        .where(LimeObjectStamp.limetype == limetype, LimeObjectStamp.object_id == object_id)
        .with_for_update()
    )


async def _record_stamp(
    session: AsyncSession, limetype: str, object_id: int, stamp: datetime | None
) -> None:
    if stamp is None:
        return
    statement = pg_insert(LimeObjectStamp).values(
        limetype=limetype, object_id=object_id, lime_timestamp=stamp
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[LimeObjectStamp.limetype, LimeObjectStamp.object_id],
            set_={
                "lime_timestamp": func.greatest(
                    LimeObjectStamp.lime_timestamp, statement.excluded.lime_timestamp
                )
            },
        )
    )


def _missing_relations(
    schema: LimeSchema, limetype: str, body: Mapping[str, Any], exc: InvalidInput
) -> list[MissingRelation] | None:
    """The related objects a refused write lacks, or None when anything else was wrong."""
    spec = schema.limetypes[limetype]
    missing: list[MissingRelation] = []
    for error in exc.errors or []:
        prop = spec.property(str(error.get("field")))
        if error.get("type") != "unknown_relation" or prop is None or prop.relation is None:
            return None
        missing.append(MissingRelation(prop.relation, int(body[prop.name])))
    return missing or None


async def apply_values(
    session: AsyncSession,
    *,
    schema: LimeSchema,
    settings: Settings,
    limetype: str,
    object_id: int,
    values: Mapping[str, Any],
    stamp: datetime | None,
    jobs: AfterCommit,
) -> Applied:
    """Upsert Lime's values of one object (skipped when ``stamp`` is not newer than the version
    applied); raises `WaitForRelations` when a related object is not mirrored yet, and
    `InvalidInput` for values the gateway cannot store. ``values`` carry Lime's names."""
    values = names_of(schema).of(limetype).to_gateway(values)
    if stamp is not None:
        applied = await applied_stamp(session, limetype, object_id)
        if applied is not None and stamp <= applied:
            return Applied(status="stale")
    try:
        async with session.begin_nested():
            result = await ingest.upsert_object(
                session,
                schema=schema,
                settings=settings,
                limetype=limetype,
                object_id=object_id,
                body=dict(values),
                jobs=jobs,
                lime_sourced=True,
            )
    except InvalidInput as exc:
        missing = _missing_relations(schema, limetype, values, exc)
        if missing is not None:
            raise WaitForRelations(missing) from None
        raise
    await _record_stamp(session, limetype, object_id, stamp)
    return Applied(status="applied", changed=result.changed, created=result.created)


async def read_from_lime(
    lime: LimeConnector | None, schema: LimeSchema, limetype: str, object_id: int
) -> dict[str, Any]:
    """One object as Lime holds it now (under the customer's limetype name)."""
    if lime is None:
        raise LimeError("the Lime connector is off (LIME_BASE_URL is unset)")
    return await lime.client.get_object(names_of(schema).lime_limetype(limetype), object_id)


async def apply_delete(
    session: AsyncSession,
    *,
    schema: LimeSchema,
    settings: Settings,
    limetype: str,
    object_id: int,
    jobs: AfterCommit,
) -> Applied:
    """Apply a delete Lime has already made: what a hook would refuse is applied and returned
    as a conflict; an object others still refer to raises `StillReferenced`."""
    conflicts: list[str] = []
    try:
        async with session.begin_nested():
            await ingest.delete_object(
                session,
                schema=schema,
                settings=settings,
                limetype=limetype,
                object_id=object_id,
                jobs=jobs,
                on_refused=lambda refusal: conflicts.append(refusal.message),
            )
    except Conflict as exc:
        raise StillReferenced(exc.message) from None
    except NotFound:
        return Applied(status="absent")
    return Applied(status="deleted", conflicts=conflicts)
