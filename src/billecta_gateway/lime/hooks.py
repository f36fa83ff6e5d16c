"""Per-limetype callbacks run by object ingestion: the spec's "decorators".

Another module registers what happens when Lime writes an object:

    @hooks.after_upsert("debtor")
    async def sync_debtor(ctx: UpsertContext) -> None:
        if ctx.created or ctx.changed & MAPPED_FIELDS:
            ctx.jobs.add("upsert_debtor", ctx.object_id, job_id=...)

`after_upsert` callbacks run only for limetypes named in `SYNC_ON_CHANGE` (the decorators are
opt-in); `before_delete` callbacks always run and may refuse the delete by raising a
`GatewayError`. Both run inside the request's transaction, after the write (upsert) or before it
(delete); jobs they add to `ctx.jobs` are enqueued only once that transaction has committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.config import Settings
from billecta_gateway.errors import Conflict
from billecta_gateway.lime.schema import LimeSchema, LimetypeSpec
from billecta_gateway.models import LIMETYPES, LimeObject, Order, OrderRow
from billecta_gateway.queue import AfterCommit


@dataclass(frozen=True)
class UpsertContext:
    """What an after-upsert callback knows about the write that just happened.

    `changed` names the properties (built-in and custom) whose stored value changed; on create it
    names every property the body set to a non-null value. `previous` holds the old value of each
    changed property (None on create), e.g. the order an order row was moved away from.
    """

    session: AsyncSession
    settings: Settings
    schema: LimeSchema
    spec: LimetypeSpec
    obj: LimeObject
    created: bool
    changed: frozenset[str]
    previous: Mapping[str, Any]
    jobs: AfterCommit

    @property
    def limetype(self) -> str:
        return self.spec.name

    @property
    def object_id(self) -> int:
        return self.obj.id


@dataclass(frozen=True)
class DeleteContext:
    """The object about to be deleted; a callback raises a GatewayError to refuse the delete."""

    session: AsyncSession
    settings: Settings
    schema: LimeSchema
    spec: LimetypeSpec
    obj: LimeObject
    jobs: AfterCommit

    @property
    def limetype(self) -> str:
        return self.spec.name

    @property
    def object_id(self) -> int:
        return self.obj.id


UpsertHook = Callable[[UpsertContext], Awaitable[None]]
DeleteHook = Callable[[DeleteContext], Awaitable[None]]
U = TypeVar("U", bound=UpsertHook)
D = TypeVar("D", bound=DeleteHook)


def _check_limetypes(limetypes: tuple[str, ...]) -> None:
    if not limetypes:
        raise ValueError("name at least one limetype")
    unknown = [name for name in limetypes if name not in LIMETYPES]
    if unknown:
        raise ValueError(f"unknown limetype(s): {', '.join(unknown)}")


@dataclass
class ObjectHooks:
    """A registry of per-limetype callbacks, run in registration order."""

    _after_upsert: dict[str, list[UpsertHook]] = field(default_factory=dict)
    _before_delete: dict[str, list[DeleteHook]] = field(default_factory=dict)

    def after_upsert(self, *limetypes: str) -> Callable[[U], U]:
        """Register a callback run after an object of these limetypes was created or updated."""
        _check_limetypes(limetypes)

        def register(func: U) -> U:
            for name in limetypes:
                self._after_upsert.setdefault(name, []).append(func)
            return func

        return register

    def before_delete(self, *limetypes: str) -> Callable[[D], D]:
        """Register a callback run before an object of these limetypes is deleted."""
        _check_limetypes(limetypes)

        def register(func: D) -> D:
            for name in limetypes:
                self._before_delete.setdefault(name, []).append(func)
            return func

        return register

    def upsert_hooks(self, limetype: str) -> tuple[UpsertHook, ...]:
        return tuple(self._after_upsert.get(limetype, ()))

    def delete_hooks(self, limetype: str) -> tuple[DeleteHook, ...]:
        return tuple(self._before_delete.get(limetype, ()))

    async def run_after_upsert(self, ctx: UpsertContext) -> None:
        for hook in self.upsert_hooks(ctx.limetype):
            await hook(ctx)

    async def run_before_delete(self, ctx: DeleteContext) -> None:
        for hook in self.delete_hooks(ctx.limetype):
            await hook(ctx)


hooks = ObjectHooks()

# Order rows of an order Billecta is working on, or has finished with, are part of an invoice.
LOCKED_ORDER_STATUSES = frozenset({"processing", "attested", "credited", "cancelled"})


@hooks.before_delete("orderrow")
async def guard_order_row_delete(ctx: DeleteContext) -> None:
    """Refuse to delete an order row whose order is processing, attested, credited or cancelled."""
    assert isinstance(ctx.obj, OrderRow)
    if ctx.obj.order is None:
        return
    status = await ctx.session.scalar(
        select(Order.orderstatus).where(Order.id == ctx.obj.order).with_for_update(read=True)
    )
    if status in LOCKED_ORDER_STATUSES:
        raise Conflict(
            f"Order row {ctx.obj.id} belongs to order {ctx.obj.order} with status "
            f"'{status}' and cannot be deleted"
        )
