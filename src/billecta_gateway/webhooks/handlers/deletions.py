"""Objects deleted in Billecta: `InvoiceActionDeleted` and `DebtorDeleted`.

Neither re-creates anything in Billecta: the mirror forgets the Billecta id, says so on the
object, and the next sync from Lime creates the object again if it is still wanted.
"""

from __future__ import annotations

from sqlalchemy import select

from billecta_gateway.invoices.state import local_date
from billecta_gateway.models import CreditorDebtor, Debtor, Order
from billecta_gateway.webhooks.handlers.common import assign, is_older
from billecta_gateway.webhooks.payloads import ActionDeletedPayload, DebtorDeletedPayload
from billecta_gateway.webhooks.registry import HandlerContext, registry

# Orders whose action is still a draft in Billecta: deleting it there returns them to `created`,
# as the delete-orders task does. `processing` is left to its running job, which finds the action
# gone and creates it again.
_DRAFT_ORDER_STATUSES = frozenset({"created", "upserted", "errorupsert", "errorattest"})


def _on(ctx: HandlerContext) -> str:
    """The event's day in the business time zone, for the note written on the object."""
    day = local_date(ctx.created, ctx.settings.timezone)
    return day.isoformat() if day else "an unknown day"


@registry.on("InvoiceActionDeleted", payload=ActionDeletedPayload)
async def forget_deleted_action(ctx: HandlerContext, payload: ActionDeletedPayload) -> None:
    """An un-attested order whose action was deleted in Billecta returns to `created`.

    `actionpublicid` is cleared and a dated note written on the order; an attested or unknown
    action is only stored and logged.
    """
    apid = payload.action_public_id
    order = await ctx.session.scalar(
        select(Order).where(Order.actionpublicid == apid).with_for_update()
    )
    if order is None:
        ctx.note(f"action {apid} is not a mirrored order: nothing changed")
        return
    ctx.touch("order", order.id)
    status = order.orderstatus or "created"
    if status not in _DRAFT_ORDER_STATUSES:
        ctx.note(f"order {order.id} is {status}: the deletion of action {apid} is only logged")
        return
    assign(
        order,
        {
            "actionpublicid": None,
            "orderstatus": "created",
            "billecta_error_message": f"Deleted in Billecta on {_on(ctx)} (action {apid}); "
            "the next upsert creates it again",
        },
    )
    ctx.note(f"order {order.id}: action {apid} deleted in Billecta, order back to created")


@registry.on("DebtorDeleted", payload=DebtorDeletedPayload)
async def forget_deleted_debtor(ctx: HandlerContext, payload: DebtorDeletedPayload) -> None:
    """Clear the deleted DebtorPublicId wherever the mirror holds it, and note it on the debtor.

    Nothing is re-created in Billecta until the debtor's next sync.
    """
    dpid = payload.debtor_public_id
    links = list(
        (
            await ctx.session.scalars(
                select(CreditorDebtor)
                .where(CreditorDebtor.debtorpublicid == dpid)
                .with_for_update()
            )
        ).all()
    )
    if not links:
        ctx.note(f"debtor {dpid} is not mirrored: nothing changed")
        return
    note = f"Deleted in Billecta on {_on(ctx)} (debtor {dpid}); the next sync creates it again"
    for link in links:
        ctx.touch("creditordebtor", link.id)
        assign(link, {"debtorpublicid": None, "billecta_error_message": note})
        debtor = await ctx.session.get(Debtor, link.debtor) if link.debtor is not None else None
        if debtor is not None:
            ctx.touch("debtor", debtor.id)
            values: dict[str, object] = {"billecta_error_message": note}
            if not is_older(debtor.billecta_event_at, ctx.created):
                values["billecta_event_at"] = ctx.created
            assign(debtor, values)
    ctx.note(f"debtor {dpid} deleted in Billecta: cleared on {len(links)} creditordebtor(s)")
