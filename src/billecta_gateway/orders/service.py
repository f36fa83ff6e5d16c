"""Orders as Billecta invoice actions: upsert, attest, upsert-and-attest, delete.

`orderstatus` moves `processing` → `upserted` | `errorupsert` → `attested` | `errorattest`.
`processing` is committed before Billecta is called, so the order-row delete guard holds while
a job works on the order; a job that finds `processing` (its own earlier try) carries on. The
order's action is created under the advisory lock ("order", id) with the client-generated
`ExternalReference` `order-<id>`, looked up before creating, and its id is committed before an
attest so a failed attest never loses it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.articles.service import ensure_product_in_billecta
from billecta_gateway.billecta.errors import (
    BillectaApiNotFoundException,
    BillectaApiRequestException,
)
from billecta_gateway.billecta.schemas import BillectaInvoiceAction, BillectaInvoiceActionEntry
from billecta_gateway.debtors.service import ensure_debtor_in_billecta
from billecta_gateway.lime.mappings import MappingValueError
from billecta_gateway.models import Order, OrderRow
from billecta_gateway.orders import actions
from billecta_gateway.orders.verification import (
    OrderData,
    load_order_data,
    verification_message,
    verify,
)
from billecta_gateway.tasks.contract import Outcome, TaskContext, TaskFailed
from billecta_gateway.tasks.locks import advisory_lock
from billecta_gateway.tasks.sync import RelationProblem, billecta_problem
from billecta_gateway.tasks.values import MappedValues, ObjectLoader, overlay

LOCK = "order"
UPSERTABLE = frozenset({"created", "processing", "upserted", "errorupsert", "errorattest"})
ATTESTABLE = frozenset({"processing", "upserted", "errorattest"})
DELETABLE = frozenset({"created", "upserted", "errorupsert", "errorattest", "processing"})
# The order's invoice exists and is locked in Billecta.
ATTESTED = frozenset({"attested", "credited", "cancelled", "completed"})
DEFAULT_PAYMENT_TERMS = 30
UPSERT, ATTEST = "upsert", "attest"


class _Refused(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


async def _claim(run: TaskContext, order_id: int, allowed: frozenset[str], doing: str) -> None:
    """Lock the order's row, check its status and commit `processing`; _Refused otherwise."""
    session = run.session
    order = await session.get(Order, order_id, with_for_update=True, populate_existing=True)
    if order is None:
        raise TaskFailed(f"order {order_id} does not exist")
    status = order.orderstatus or "created"
    if status not in allowed:
        message = f"Order {order_id} has status '{status}' and cannot be {doing}"
        order.billecta_error_message = message
        await session.commit()
        raise _Refused(Outcome(ok=False, message=message))
    order.orderstatus = "processing"
    await session.commit()


async def _locked_order(
    run: TaskContext, order_id: int, allowed: frozenset[str], doing: str
) -> Order:
    """The order under the advisory lock, its status checked again (another job may have
    finished with it while this one waited)."""
    await advisory_lock(run.session, LOCK, order_id)
    order = await run.session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise TaskFailed(f"order {order_id} does not exist")
    status = order.orderstatus or "created"
    if status not in allowed:
        raise _Refused(
            Outcome(
                ok=False, message=f"Order {order_id} has status '{status}' and cannot be {doing}"
            )
        )
    return order


def _fail(order: Order, status: str, message: str) -> Outcome:
    order.orderstatus = status
    order.billecta_error_message = message
    return Outcome(ok=False, message=message)


async def _record(
    run: TaskContext,
    loader: ObjectLoader,
    data: OrderData,
    row: OrderRow,
    sequence: int,
    products: dict[int, str],
) -> dict[str, Any]:
    """One invoice record: message rows as text records, priced rows from the mapping."""
    if row.rowtype == "message":
        return {
            "RecordType": "Message",
            "SequenceNo": sequence,
            "ArticleDescription": row.description,
        }
    values = await MappedValues.collect(
        run.mappings["orderrow"], loader, row, currency=data.currency
    )
    record = overlay({}, values.values)
    record["RecordType"] = "Package" if row.rowtype == "package" else "Standard"
    record["SequenceNo"] = sequence
    if record.get("DiscountAmount") is not None:
        record.setdefault("DiscountType", "Amount")
    if row.article is not None:
        record["ProductPublicId"] = products[row.article]
    return record


async def _products(run: TaskContext, loader: ObjectLoader, data: OrderData) -> dict[int, str]:
    """The ProductPublicId of every article on a priced row, creating missing products first
    (in article id order, so two orders never wait for each other's article locks)."""
    used = sorted(
        {r.article for r in data.rows if r.article is not None and r.rowtype != "message"}
    )
    products: dict[int, str] = {}
    for article_id in used:
        products[article_id] = await ensure_product_in_billecta(
            run,
            loader,
            article=data.articles[article_id],
            rel=data.article_relations[article_id],
            creditor=data.creditor,
        )
    return products


async def _entry(
    run: TaskContext, loader: ObjectLoader, data: OrderData, debtor_public_id: str
) -> dict[str, Any]:
    """The mapped entry fields, the gateway-owned fields and the records of the order."""
    order = data.order
    assert data.creditor is not None and data.creditor.creditorpublicid is not None
    values = await MappedValues.collect(
        run.mappings["order"], loader, order, currency=data.currency
    )
    products = await _products(run, loader, data)
    records = [
        await _record(run, loader, data, row, sequence, products)
        for sequence, row in enumerate(data.rows, start=1)
    ]
    return {
        "mapped": values.values,
        "owned": {
            "ActionType": "InvoiceAction",
            "CreditorPublicId": data.creditor.creditorpublicid,
            "DebtorPublicId": debtor_public_id,
            "ExternalReference": actions.order_reference(order.id),
            "Records": records,
        },
    }


def _with_dates(wire: dict[str, Any], data: OrderData) -> dict[str, Any]:
    """Invoice date today and due date after the creditor's payment terms, unless set."""
    if not wire.get("InvoiceDate"):
        wire["InvoiceDate"] = datetime.now(UTC).date().isoformat()
    if not wire.get("DueDate"):
        invoice_day = datetime.fromisoformat(str(wire["InvoiceDate"])[:10]).date()
        terms = (data.creditor.default_paymentterms if data.creditor else None) or (
            DEFAULT_PAYMENT_TERMS
        )
        wire["DueDate"] = (invoice_day + timedelta(days=terms)).isoformat()
    return wire


async def _current_action(
    run: TaskContext, order: Order, debtor_public_id: str
) -> BillectaInvoiceAction | None:
    if order.actionpublicid:
        try:
            return await run.billecta.get_invoice_action(order.actionpublicid)
        except BillectaApiNotFoundException:
            pass  # deleted in Billecta: look for ours, else create it again
    return await actions.find_action_by_reference(
        run.billecta, debtor_public_id, actions.order_reference(order.id)
    )


async def _upsert_action(run: TaskContext, data: OrderData) -> str | Outcome:
    """Create or update the order's invoice action; its id, or the Outcome of a refusal."""
    order = data.order
    assert data.debtor is not None and data.relation is not None and data.creditor is not None
    loader = ObjectLoader(run.session, run.schema)
    for obj, limetype in ((order, "order"), (data.debtor, "debtor"), (data.creditor, "creditor")):
        loader.remember(limetype, obj)
    debtor_public_id = await ensure_debtor_in_billecta(
        run, loader, debtor=data.debtor, rel=data.relation, creditor=data.creditor
    )
    entry = await _entry(run, loader, data, debtor_public_id)
    current = await _current_action(run, order, debtor_public_id)
    if current is not None:
        if not actions.is_draft(current):
            order.actionpublicid = current.action_public_id
            return _fail(
                order,
                "attested",
                f"Order {order.id} is already attested in Billecta "
                f"(stage {actions.stage_of(current)}) and can no longer be changed",
            )
        assert current.action_public_id is not None
        wire = overlay(actions.entry_from_view(current), entry["mapped"]) | entry["owned"]
        await run.billecta.update_invoice_action(
            current.action_public_id,
            BillectaInvoiceActionEntry.model_validate(_with_dates(wire, data)),
        )
        return current.action_public_id
    wire = overlay({}, entry["mapped"]) | entry["owned"]
    return await run.billecta.create_invoice_action(
        BillectaInvoiceActionEntry.model_validate(_with_dates(wire, data))
    )


async def _upsert(run: TaskContext, order: Order) -> Outcome | None:
    """Verify and upsert; None on success (status `upserted`), else the failure's Outcome."""
    run.phase = UPSERT
    data = await load_order_data(run.session, order)
    problems = verify(data)
    if problems:
        return _fail(order, "errorupsert", verification_message(order.id, problems))
    try:
        result = await _upsert_action(run, data)
    except (RelationProblem, MappingValueError) as exc:
        detail = exc.message if isinstance(exc, RelationProblem) else str(exc)
        return _fail(order, "errorupsert", f"Order {order.id}: {detail}")
    except BillectaApiRequestException as exc:
        if exc.retryable:
            raise
        return _fail(order, "errorupsert", f"Order {order.id}: {billecta_problem(exc)}")
    if isinstance(result, Outcome):
        return result
    order.actionpublicid = result
    order.orderstatus = "upserted"
    order.billecta_error_message = None
    await run.session.flush()
    return None


async def _attest(run: TaskContext, order: Order) -> Outcome:
    run.phase = ATTEST
    if not order.actionpublicid:
        return _fail(
            order, "errorattest", f"Order {order.id} has no actionpublicid: upsert it first"
        )
    try:
        await actions.attest(run.billecta, order.actionpublicid)
    except BillectaApiRequestException as exc:
        if exc.retryable:
            raise
        return _fail(order, "errorattest", f"Order {order.id}: {billecta_problem(exc)}")
    order.orderstatus = "attested"
    order.billecta_error_message = None
    await run.session.flush()
    return Outcome(ok=True)


async def upsert_order(run: TaskContext, order_id: int) -> Outcome:
    """Verify an order and create or update it in Billecta as an un-attested invoice action.

    Ensures its debtor and articles exist in Billecta first (creating them when needed) and
    writes `actionpublicid`.
    """
    try:
        await _claim(run, order_id, UPSERTABLE, "upserted")
        order = await _locked_order(run, order_id, UPSERTABLE, "upserted")
    except _Refused as refused:
        return refused.outcome
    return await _upsert(run, order) or Outcome(ok=True)


async def upsert_attest_order(run: TaskContext, order_id: int) -> Outcome:
    """Upsert an order in Billecta and attest it in the same job."""
    try:
        await _claim(run, order_id, UPSERTABLE, "upserted and attested")
        order = await _locked_order(run, order_id, UPSERTABLE, "upserted and attested")
    except _Refused as refused:
        return refused.outcome
    failed = await _upsert(run, order)
    if failed is not None:
        return failed
    order.orderstatus = "processing"
    # The action's id is kept even if attesting fails; the lock is taken again after.
    await run.session.commit()
    try:
        order = await _locked_order(run, order_id, ATTESTABLE, "attested")
    except _Refused as refused:
        return refused.outcome
    return await _attest(run, order)


async def attest_order(run: TaskContext, order_id: int) -> Outcome:
    """Attest an upserted order in Billecta (which books, locks and may send the invoice)."""
    order = await run.session.get(Order, order_id, populate_existing=True)
    if order is not None and order.orderstatus == "attested":
        return Outcome(ok=True, message=f"Order {order_id} is already attested")
    try:
        await _claim(run, order_id, ATTESTABLE, "attested (upsert it first)")
        order = await _locked_order(run, order_id, ATTESTABLE, "attested")
    except _Refused as refused:
        return refused.outcome
    return await _attest(run, order)


async def delete_order(run: TaskContext, order_id: int) -> Outcome:
    """Delete an order's un-attested invoice action in Billecta and clear `actionpublicid`.

    Refused for attested (credited, cancelled, completed) orders: credit the invoice instead.
    """
    await advisory_lock(run.session, LOCK, order_id)
    order = await run.session.get(Order, order_id, with_for_update=True, populate_existing=True)
    if order is None:
        raise TaskFailed(f"order {order_id} does not exist")
    status = order.orderstatus or "created"
    if status not in DELETABLE:
        message = (
            f"Order {order_id} has status '{status}': an attested order cannot be deleted "
            "from Billecta (credit its invoice instead)"
        )
        order.billecta_error_message = message
        return Outcome(ok=False, message=message)
    if not order.actionpublicid:
        message = f"Order {order_id} has no actionpublicid: it is not in Billecta"
        order.billecta_error_message = message
        return Outcome(ok=False, message=message)
    try:
        await run.billecta.delete_invoice_action(order.actionpublicid)
    except BillectaApiNotFoundException:
        pass  # already gone: deleting is done
    except BillectaApiRequestException as exc:
        if exc.retryable:
            raise
        message = f"Order {order_id}: {billecta_problem(exc)}"
        order.billecta_error_message = message
        return Outcome(ok=False, message=message)
    order.actionpublicid = None
    order.orderstatus = "created"
    order.billecta_error_message = None
    await run.session.flush()
    return Outcome(ok=True)


def _failure_recorder(default_phase: str) -> Any:
    async def record(session: AsyncSession, order_id: int, message: str, phase: str) -> None:
        """Write a job's failure on the order; a `processing` order becomes errorupsert or
        errorattest depending on the step that failed."""
        failed = "errorattest" if (phase or default_phase) == ATTEST else "errorupsert"
        await session.execute(
            update(Order).where(Order.id == order_id).values(billecta_error_message=message)
        )
        await session.execute(
            update(Order)
            .where(Order.id == order_id, Order.orderstatus == "processing")
            .values(orderstatus=failed)
        )

    return record


record_upsert_failure = _failure_recorder(UPSERT)
record_attest_failure = _failure_recorder(ATTEST)


async def record_delete_failure(
    session: AsyncSession, order_id: int, message: str, phase: str
) -> None:
    """Write a delete job's failure on the order's `billecta_error_message`."""
    await session.execute(
        update(Order).where(Order.id == order_id).values(billecta_error_message=message)
    )
