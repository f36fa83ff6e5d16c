"""Per-limetype callbacks run by object ingestion: the spec's "decorators".

A domain module writes what happens when Lime writes an object:

    async def sync_debtor(ctx: UpsertContext) -> None:
        if ctx.created or ctx.changed & MAPPED_FIELDS:
            ctx.jobs.add("upsert_debtor", ctx.object_id, job_id=...)

and `register_hooks()` (called once by the app and the worker at start-up) names it:
`registry.after_upsert("debtor")(sync_debtor)`. Importing a module registers nothing.

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


def _append_once(callbacks: list[Any], func: Any) -> None:
    # Every process start-up (and every app a test builds) registers again: a callback runs once.
    if func not in callbacks:
        callbacks.append(func)


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
                _append_once(self._after_upsert.setdefault(name, []), func)
            return func

        return register

    def before_delete(self, *limetypes: str) -> Callable[[D], D]:
        """Register a callback run before an object of these limetypes is deleted."""
        _check_limetypes(limetypes)

        def register(func: D) -> D:
            for name in limetypes:
                _append_once(self._before_delete.setdefault(name, []), func)
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


def register_hooks(registry: ObjectHooks = hooks) -> ObjectHooks:
    """Register every ingestion callback (the spec's decorators); registering again is a no-op."""
    # Imported here: the domain modules build on this one.
    from billecta_gateway.articles import hooks as articles
    from billecta_gateway.debtors import hooks as debtors
    from billecta_gateway.orders import hooks as orders

    registry.before_delete("orderrow")(guard_order_row_delete)
    registry.after_upsert("article")(articles.upsert_changed_article)
    registry.after_upsert("creditorarticle")(articles.upsert_article_of_relation)
    registry.after_upsert("debtor")(debtors.upsert_changed_debtor)
    registry.after_upsert("creditordebtor")(debtors.upsert_debtor_of_relation)
    registry.after_upsert("person")(debtors.sync_debtors_of_person)
    registry.after_upsert("company")(debtors.upsert_debtors_of_company)
    registry.after_upsert("order")(orders.upsert_changed_order)
    registry.after_upsert("orderrow")(orders.resync_orders_of_row)
    # After the delete guard, which refuses deleting rows of orders Billecta has locked.
    registry.before_delete("orderrow")(orders.resync_order_of_deleted_row)
    return registry
