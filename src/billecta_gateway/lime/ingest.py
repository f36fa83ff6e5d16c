"""Object ingestion: Lime pushes its objects (`PUT`) and deletes them (`DELETE`).

Rules (DESIGN §3.4):
- A PUT merges: properties absent from the body keep their values, `null` clears one. Every bad
  property is reported at once (422) and nothing is written.
- Gateway-owned properties (Billecta ids, Billecta state) may be repeated, never changed; on
  create they may not be set, except the Billecta id Lime sends to adopt an object.
- Adoption: objects the gateway created from Billecta data carry ids from
  `gateway_object_id_seq` (from 10**12, beyond any Lime id). When Lime stores one under its own
  id it PUTs it with the Billecta id; the row is re-keyed to the Lime id (foreign keys cascade)
  and the old id is kept as an alias that GET, PUT and DELETE still resolve. No tombstone is
  written for the old id: it is the same object, and a consumer must not delete it.
- A PUT that changes nothing writes nothing, so Lime echoing an object back makes no change in
  the feed and triggers no sync.
- Lime's value shapes are accepted everywhere (`limecrm.shapes`); Lime-sourced data (webhooks,
  REST reads: `lime_sourced=True`) also drops unmirrored and gateway-owned properties, and a
  Lime-sourced delete applies what a hook would refuse, reporting the refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.errors import Conflict, InvalidInput, NotFound
from billecta_gateway.lime import counters
from billecta_gateway.lime.body import (
    ParsedBody,
    column_default,
    parse_body,
    property_error,
    raise_if_invalid,
)
from billecta_gateway.lime.hooks import DeleteContext, ObjectHooks, UpsertContext, hooks
from billecta_gateway.lime.read import limetype_spec, resolve_alias, serialize
from billecta_gateway.lime.schema import LimeSchema, LimetypeSpec
from billecta_gateway.limecrm.shapes import normalise
from billecta_gateway.models import (
    GATEWAY_ID_START,
    LIMETYPES,
    Base,
    LimeObject,
    ObjectAlias,
    Tombstone,
)
from billecta_gateway.queue import AfterCommit

# The Billecta ids by which Lime adopts an object the gateway created (the first one is required).
ADOPTION_KEYS: dict[str, tuple[str, ...]] = {
    "invoice": ("actionpublicid",),
    "debtcollection": ("actionpublicid",),
    "payment": ("paymentreferenceid", "actionpublicid"),
}
FK_VIOLATION = "23503"
UNIQUE_VIOLATION = "23505"
# How often a PUT re-reads a row that concurrent requests keep creating and deleting.
_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class UpsertResult:
    obj: LimeObject
    data: dict[str, Any]
    created: bool
    changed: frozenset[str]
    adopted_from: int | None = None


async def _check_relations(
    session: AsyncSession, spec: LimetypeSpec, parsed: ParsedBody
) -> list[dict[str, Any]]:
    """One error per relation to an id that does not exist; adopted ids become their Lime ids."""
    errors = []
    for name, value in parsed.builtin.items():
        prop = spec.properties[name]
        if prop.kind != "relation" or value is None or prop.relation is None:
            continue
        table = Base.metadata.tables[prop.relation]
        # FOR KEY SHARE: the related object cannot be deleted before this write commits.
        exists = select(table.c.id).with_for_update(read=True, key_share=True)
        found = await session.scalar(exists.where(table.c.id == value))
        if found is None and prop.relation in LIMETYPES:
            target = await resolve_alias(session, prop.relation, value)
            if target != value:
                found = await session.scalar(exists.where(table.c.id == target))
                parsed.builtin[name] = target
        if found is None:
            errors.append(
                property_error(name, f"{prop.relation} {value} does not exist", "unknown_relation")
            )
    return errors


def _owned_errors(
    spec: LimetypeSpec,
    parsed: ParsedBody,
    stored: LimeObject | None,
    *,
    exempt: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Changes to gateway-owned properties (on create, `stored` is None: defaults are "stored")."""
    errors = []
    for name, value in parsed.builtin.items():
        prop = spec.properties[name]
        if name in exempt:
            continue
        current = column_default(spec, name) if stored is None else getattr(stored, name)
        owned = (
            prop.gateway_owned
            or (prop.owned_once_set and current is not None)
            or _owned_now(spec, name, stored)
        )
        if not owned or value == current:
            continue
        if stored is None:
            message = f"{name} is owned by the gateway because Billecta sets it; omit it on create"
        else:
            message = (
                f"{name} is owned by the gateway because Billecta sets it; "
                f"send the stored value ({current!s}) or omit it"
            )
        errors.append(property_error(name, message, "gateway_owned"))
    return errors


def _owned_now(spec: LimetypeSpec, name: str, stored: LimeObject | None) -> bool:
    """Whether a property owned once another is set (`gateway_owned_when`, e.g. an order's
    status once it has an `actionpublicid`) is owned on this stored object."""
    other = spec.model.__table__.c[name].info.get("gateway_owned_when")
    return bool(other) and stored is not None and getattr(stored, other) is not None


async def _lock(session: AsyncSession, spec: LimetypeSpec, object_id: int) -> LimeObject | None:
    stmt = select(spec.model).where(spec.model.id == object_id).with_for_update()
    return (await session.scalars(stmt.execution_options(populate_existing=True))).one_or_none()


async def _adoptable(
    session: AsyncSession, spec: LimetypeSpec, parsed: ParsedBody
) -> LimeObject | None:
    """The gateway-created object the body's Billecta id names, if any (locked)."""
    keys = ADOPTION_KEYS.get(spec.name, ())
    if not keys or parsed.builtin.get(keys[0]) is None:
        return None
    model = spec.model
    stmt = select(model).where(model.id >= GATEWAY_ID_START)
    stmt = stmt.where(getattr(model, keys[0]) == parsed.builtin[keys[0]])
    for key in keys[1:]:
        if key in parsed.builtin:
            stmt = stmt.where(getattr(model, key).is_not_distinct_from(parsed.builtin[key]))
    rows = (await session.scalars(stmt.order_by(model.id).limit(2).with_for_update())).all()
    if len(rows) > 1:
        given = " and ".join(keys[1:])
        raise InvalidInput(
            f"Several {spec.name} objects have this {keys[0]}; send {given} too",
            errors=[property_error(keys[0], f"ambiguous without {given}", "ambiguous_adoption")],
        )
    return rows[0] if rows else None


def _unique_conflict(spec: LimetypeSpec, object_id: int, exc: IntegrityError) -> Conflict:
    cause = exc.orig.__cause__ if exc.orig is not None else None
    detail = getattr(cause, "detail", None) or "a unique value is already used"
    return Conflict(f"{spec.name} {object_id} conflicts with another {spec.name}: {detail}")


def _sqlstate(exc: IntegrityError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)


async def _insert(
    session: AsyncSession, spec: LimetypeSpec, object_id: int, parsed: ParsedBody
) -> LimeObject | None:
    """Create the object; None when a concurrent request created it first."""
    model = spec.model
    custom = {k: v for k, v in parsed.custom.items() if v is not None}
    stmt = (
        pg_insert(model)
        .values(id=object_id, custom=custom, sync_counter=1, **parsed.builtin)
        .on_conflict_do_nothing(index_elements=[model.id])
        .returning(model)
    )
    try:
        async with session.begin_nested():
            result = await session.scalars(stmt.execution_options(populate_existing=True))
            return result.one_or_none()
    except IntegrityError as exc:
        if _sqlstate(exc) == UNIQUE_VIOLATION:
            raise _unique_conflict(spec, object_id, exc) from None
        raise


async def _write(
    session: AsyncSession, spec: LimetypeSpec, obj: LimeObject, *, rekey_to: int | None
) -> None:
    """Flush the merged object; re-key an adopted one to its Lime id, keeping the old as alias."""
    try:
        async with session.begin_nested():
            if rekey_to is not None:
                session.add(ObjectAlias(limetype=spec.name, alias_id=obj.id, target_id=rekey_to))
                # Referencing rows follow through ON UPDATE CASCADE.
                obj.id = rekey_to
                # A Lime id deleted earlier and now reused by adoption is alive again.
                await session.execute(
                    delete(Tombstone).where(
                        Tombstone.limetype == spec.name, Tombstone.object_id == rekey_to
                    )
                )
            await session.flush()
    except IntegrityError as exc:
        if _sqlstate(exc) == UNIQUE_VIOLATION:
            raise _unique_conflict(spec, rekey_to or obj.id, exc) from None
        raise


def _merge(
    spec: LimetypeSpec, obj: LimeObject, parsed: ParsedBody
) -> tuple[frozenset[str], dict[str, Any]]:
    """Apply the body to the object; the changed properties and their previous values."""
    changed: set[str] = set()
    previous: dict[str, Any] = {}
    for name, value in parsed.builtin.items():
        old = getattr(obj, name)
        if old != value:
            changed.add(name)
            previous[name] = old
            setattr(obj, name, value)
    if parsed.custom:
        custom = dict(obj.custom or {})
        for name, value in parsed.custom.items():
            prop = spec.properties[name]
            old = custom.get(name)
            if (None if old is None else prop.from_storage(old)) == (
                None if value is None else prop.from_storage(value)
            ):
                continue
            changed.add(name)
            previous[name] = None if old is None else prop.from_storage(old)
            if value is None:
                del custom[name]
            else:
                custom[name] = value
        if custom != obj.custom:
            obj.custom = custom
    return frozenset(changed), previous


def _is_set(spec: LimetypeSpec, obj: LimeObject, name: str) -> bool:
    if spec.properties[name].custom:
        return (obj.custom or {}).get(name) is not None
    return getattr(obj, name) is not None


async def _refuse_second_adoption(
    session: AsyncSession, spec: LimetypeSpec, obj: LimeObject, parsed: ParsedBody
) -> None:
    """409 when an existing Lime object is PUT with a gateway-created object's Billecta id."""
    key = ADOPTION_KEYS[spec.name][0]
    wanted = parsed.builtin.get(key)
    if wanted is None or wanted == getattr(obj, key):
        return
    other = await _adoptable(session, spec, parsed)
    if other is not None:
        raise Conflict(
            f"{spec.name} {obj.id} already exists and is not {spec.name} {other.id} "
            f"({key} {wanted}): it cannot adopt it"
        )


async def _finish(
    ctx: UpsertContext, registry: ObjectHooks, adopted_from: int | None = None
) -> UpsertResult:
    """Run the after-upsert hooks (when the limetype syncs on change) and answer the object."""
    if ctx.limetype in ctx.settings.sync_on_change:
        await registry.run_after_upsert(ctx)
        if ctx.session.is_modified(ctx.obj):
            await ctx.session.flush()
            await ctx.session.refresh(ctx.obj)
    data = serialize(ctx.spec, ctx.obj)
    return UpsertResult(ctx.obj, data, ctx.created, ctx.changed, adopted_from)


async def upsert_object(
    session: AsyncSession,
    *,
    schema: LimeSchema,
    settings: Settings,
    limetype: str,
    object_id: int,
    body: dict[str, Any],
    jobs: AfterCommit,
    registry: ObjectHooks = hooks,
    lime_sourced: bool = False,
) -> UpsertResult:
    """Create or merge-update one object pushed by Lime, adopting a gateway-created twin.

    Runs the limetype's after-upsert hooks when it is listed in SYNC_ON_CHANGE; the jobs they add
    to `jobs` are for the caller to enqueue after commit.
    """
    spec = limetype_spec(schema, limetype)
    context = partial(UpsertContext, session, settings, schema, spec, jobs=jobs)
    body = normalise(spec, body, settings.timezone, lime_sourced=lime_sourced)
    parsed, errors = parse_body(spec, object_id, body)
    target_id = await resolve_alias(session, limetype, object_id)
    errors += await _check_relations(session, spec, parsed)
    lime_id = target_id < GATEWAY_ID_START
    for _ in range(_MAX_ATTEMPTS):
        obj = await _lock(session, spec, target_id)
        adopted = await _adoptable(session, spec, parsed) if obj is None and lime_id else None
        if obj is None and adopted is None:
            errors += _owned_errors(spec, parsed, None, exempt=ADOPTION_KEYS.get(limetype, ()))
            if not lime_id:
                message = f"ids from {GATEWAY_ID_START} on are assigned by the gateway"
                errors.append(property_error("id", message, "reserved_id", "path"))
            raise_if_invalid(limetype, object_id, errors)
            obj = await _insert(session, spec, target_id, parsed)
            if obj is None:
                continue  # created concurrently: now it is an update
            changed = frozenset(
                k for k in (*parsed.builtin, *parsed.custom) if _is_set(spec, obj, k)
            )
            previous = dict.fromkeys(changed)
            await counters.bump_parents(session, obj)
            return await _finish(context(obj, True, changed, previous), registry)
        if obj is None:
            obj = adopted
        elif lime_id and limetype in ADOPTION_KEYS:
            await _refuse_second_adoption(session, spec, obj, parsed)
        assert obj is not None
        errors += _owned_errors(spec, parsed, obj)
        raise_if_invalid(limetype, object_id, errors)
        adopted_from = None if adopted is None else adopted.id
        changed, previous = _merge(spec, obj, parsed)
        if changed or adopted_from:
            counters.bump(obj)
        await _write(session, spec, obj, rekey_to=target_id if adopted_from else None)
        if changed or adopted_from:
            await session.refresh(obj)
            await counters.bump_parents(session, obj, previous)
        return await _finish(context(obj, False, changed, previous), registry, adopted_from)
    raise Conflict(f"{limetype} {object_id} is being changed concurrently; try again")


async def _still_referenced(
    session: AsyncSession, spec: LimetypeSpec, object_id: int, exc: IntegrityError
) -> Conflict:
    """A 409 naming an object that still refers to the one being deleted."""
    own = spec.model.__table__
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is not own or "id" not in table.c:
                continue
            ref = await session.scalar(select(table.c.id).where(fk.parent == object_id).limit(1))
            if ref is not None:
                return Conflict(
                    f"{spec.name} {object_id} is still referenced by {table.name} {ref} "
                    f"({fk.parent.name}) and cannot be deleted"
                )
    cause = exc.orig.__cause__ if exc.orig is not None else None
    other = getattr(cause, "table_name", None) or "another object"
    return Conflict(f"{spec.name} {object_id} is still referenced by {other} and cannot be deleted")


async def delete_object(
    session: AsyncSession,
    *,
    schema: LimeSchema,
    settings: Settings,
    limetype: str,
    object_id: int,
    jobs: AfterCommit,
    registry: ObjectHooks = hooks,
    on_refused: Callable[[Conflict], None] | None = None,
) -> int:
    """Delete one object from the mirror (never in Billecta); returns the id it had.

    The before-delete hooks run first and may refuse; an object others refer to is a 409. The
    tombstone the change feed reports is written by a trigger. With `on_refused` (a delete Lime
    has already made), a hook's refusal is handed to it and the delete goes ahead.
    """
    spec = limetype_spec(schema, limetype)
    target_id = await resolve_alias(session, limetype, object_id)
    obj = await _lock(session, spec, target_id)
    if obj is None:
        raise NotFound(f"{limetype} {object_id} not found")
    ctx = DeleteContext(
        session=session, settings=settings, schema=schema, spec=spec, obj=obj, jobs=jobs
    )
    try:
        await registry.run_before_delete(ctx)
    except Conflict as refusal:
        if on_refused is None:
            raise
        on_refused(refusal)
    await counters.bump_parents(session, obj)
    try:
        async with session.begin_nested():
            await session.delete(obj)
            await session.flush()
    except IntegrityError as exc:
        if _sqlstate(exc) == FK_VIOLATION:
            raise await _still_referenced(session, spec, target_id, exc) from None
        raise
    await session.execute(
        delete(ObjectAlias).where(
            ObjectAlias.limetype == limetype, ObjectAlias.target_id == target_id
        )
    )
    return target_id
