"""Reading the mirror: one object, filtered pages, and the change feed Lime polls.

The change feed's promise ("a consumer that stores the last number it saw never misses a
change") rests on two facts. Every write stamps its row (and every delete its tombstone) with
the writing transaction's id (`change_no`, set by a trigger). And the feed only returns numbers
below the oldest transaction id still running (`pg_snapshot_xmin`): every transaction with a
smaller id has finished, and any transaction that has not written yet will get a larger id, so
nothing can later appear below a number the consumer has already passed.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.errors import InvalidInput, NotFound
from billecta_gateway.lime.query_filter import build_filter, parse_query_param
from billecta_gateway.lime.schema import LimeSchema, LimetypeSpec, PropertySpec
from billecta_gateway.models import GATEWAY_ID_START, LimeObject, ObjectAlias, Tombstone

MAX_ID = 2**53 - 1
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_HORIZON = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


def limetype_spec(schema: LimeSchema, limetype: str) -> LimetypeSpec:
    """The limetype's spec, or a 404 naming it."""
    spec = schema.get(limetype)
    if spec is None:
        raise NotFound(f"Unknown limetype '{limetype[:64]}'")
    return spec


async def resolve_alias(session: AsyncSession, limetype: str, object_id: int) -> int:
    """The id an object lives under now: an adopted gateway-assigned id answers its Lime id."""
    # Only gateway-assigned ids can be aliases (see lime.ingest), so Lime ids skip the lookup.
    if object_id < GATEWAY_ID_START:
        return object_id
    target = await session.scalar(
        select(ObjectAlias.target_id).where(
            ObjectAlias.limetype == limetype, ObjectAlias.alias_id == object_id
        )
    )
    return object_id if target is None else int(target)


def json_value(value: Any) -> Any:
    """A stored value as JSON: decimals as numbers, dates and date-times as ISO-8601 strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _custom_value(prop: PropertySpec, stored: Any) -> Any:
    try:
        return prop.from_storage(stored)
    except (ValueError, TypeError):
        # A value stored before the declared type changed is shown as it was stored.
        return stored


def serialize(spec: LimetypeSpec, obj: LimeObject) -> dict[str, Any]:
    """The object as the API shows it: `_id`, `_limetype`, `_timestamp`, `_change_no`, then
    every property."""
    data: dict[str, Any] = {
        "_id": obj.id,
        "_limetype": spec.name,
        "_timestamp": obj.updated_at.isoformat(),
        "_change_no": obj.change_no,
    }
    custom = obj.custom or {}
    for name, prop in spec.properties.items():
        value = _custom_value(prop, custom.get(name)) if prop.custom else getattr(obj, name)
        data[name] = json_value(value)
    return data


async def get_object(
    session: AsyncSession, *, schema: LimeSchema, limetype: str, object_id: int
) -> dict[str, Any]:
    """One object by its id (a gateway-assigned id adopted by Lime resolves to the Lime id)."""
    spec = limetype_spec(schema, limetype)
    target = await resolve_alias(session, limetype, object_id)
    obj = await session.get(spec.model, target)
    if obj is None:
        raise NotFound(f"{limetype} {object_id} not found")
    return serialize(spec, obj)


@dataclass(frozen=True)
class ObjectPage:
    objects: list[dict[str, Any]]
    next_cursor: str | None


def _parse_cursor(cursor: str) -> int:
    if cursor.isascii() and cursor.isdigit() and len(cursor) <= 16:
        return int(cursor)
    message = "cursor is not one this API returned"
    raise InvalidInput(
        f"Invalid request: {message}",
        errors=[
            {
                "loc": ["query", "cursor"],
                "field": "cursor",
                "message": message,
                "type": "invalid_cursor",
            }
        ],
    )


async def list_objects(
    session: AsyncSession,
    *,
    schema: LimeSchema,
    limetype: str,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> ObjectPage:
    """A page of objects ordered by id, optionally filtered by a Lime query filter (`q`)."""
    spec = limetype_spec(schema, limetype)
    model = spec.model
    stmt = select(model).order_by(model.id).limit(limit + 1)
    if q is not None:
        stmt = stmt.where(build_filter(schema, limetype, parse_query_param(q), location="q"))
    if cursor is not None:
        stmt = stmt.where(model.id > _parse_cursor(cursor))
    rows = list((await session.scalars(stmt)).all())
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return ObjectPage(
        objects=[serialize(spec, row) for row in rows[:limit]], next_cursor=next_cursor
    )


@dataclass(frozen=True)
class ChangeFeedPage:
    objects: list[dict[str, Any]]
    deleted: list[dict[str, Any]]
    last_change_no: int


@dataclass(frozen=True)
class _Entry:
    change_no: int
    object_id: int
    obj: LimeObject | None  # None: a tombstone

    @property
    def key(self) -> tuple[int, int]:
        return self.change_no, self.object_id


async def _entries(
    session: AsyncSession,
    spec: LimetypeSpec,
    *,
    after: int,
    before: int,
    limit: int | None = None,
    only: int | None = None,
) -> list[_Entry]:
    """Writes and deletes with after < change_no < before (or change_no == only), in feed order."""
    model = spec.model
    objects = select(model).order_by(model.change_no, model.id)
    tombstones = (
        select(Tombstone.change_no, Tombstone.object_id)
        .where(Tombstone.limetype == spec.name)
        .order_by(Tombstone.change_no, Tombstone.object_id)
    )
    if only is not None:
        objects = objects.where(model.change_no == only)
        tombstones = tombstones.where(Tombstone.change_no == only)
    else:
        objects = objects.where(model.change_no > after, model.change_no < before)
        tombstones = tombstones.where(Tombstone.change_no > after, Tombstone.change_no < before)
    if limit is not None:
        objects, tombstones = objects.limit(limit), tombstones.limit(limit)
    written = [_Entry(o.change_no, o.id, o) for o in (await session.scalars(objects)).all()]
    deleted = [_Entry(int(c), int(i), None) for c, i in (await session.execute(tombstones)).all()]
    return list(heapq.merge(written, deleted, key=lambda entry: entry.key))


async def change_feed(
    session: AsyncSession,
    *,
    schema: LimeSchema,
    limetype: str,
    changed_after: int,
    limit: int = DEFAULT_LIMIT,
) -> ChangeFeedPage:
    """Objects written and deleted after `changed_after`, in change-number order.

    Only changes below the oldest running transaction are returned, and a page never splits the
    changes of one transaction: a consumer resuming from `last_change_no` misses nothing.
    """
    spec = limetype_spec(schema, limetype)
    horizon = int((await session.execute(_HORIZON)).scalar_one())
    entries = await _entries(session, spec, after=changed_after, before=horizon, limit=limit + 1)
    if len(entries) > limit:
        boundary = entries[limit].change_no
        page = entries[:limit]
        if page[-1].change_no == boundary:
            page = [entry for entry in page if entry.change_no != boundary]
            if not page:
                # One transaction wrote more than a page: it is returned whole.
                page = await _entries(session, spec, after=0, before=0, only=boundary)
        entries = page
    return ChangeFeedPage(
        objects=[serialize(spec, e.obj) for e in entries if e.obj is not None],
        deleted=[
            {"_id": e.object_id, "_limetype": spec.name, "_change_no": e.change_no}
            for e in entries
            if e.obj is None
        ],
        last_change_no=entries[-1].change_no if entries else changed_after,
    )
