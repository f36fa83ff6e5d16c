"""Debtors in Billecta: upsert per creditor relation, anonymize, and the mirror scrub.

A debtor exists in Billecta once per creditor it has a `creditordebtor` relation with. Creating
one is guarded three ways (DESIGN §3.5): the job holds the advisory lock ("debtor", id), sends
the client-generated `DebtorExternalId` (the Lime id), and looks that id up before creating, so
a crash between Billecta's answer and our commit never leads to a second debtor.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta.errors import (
    BillectaApiRequestException,
)
from billecta_gateway.billecta.schemas import BillectaDebtor
from billecta_gateway.lime.mappings import MappingValueError
from billecta_gateway.models import (
    Company,
    Creditor,
    CreditorDebtor,
    Debtor,
    Invoice,
    Payment,
    Person,
)
from billecta_gateway.tasks.contract import Outcome, TaskContext, TaskFailed
from billecta_gateway.tasks.sync import (
    RelationProblem,
    billecta_problem,
    creditor_label,
    find_in_billecta,
    for_each_relation,
    require_creditor,
)
from billecta_gateway.tasks.values import MappedValues, ObjectLoader, overlay

LOCK = "debtor"


def debtor_external_id(debtor_id: int) -> str:
    """The `DebtorExternalId` the gateway gives a debtor in Billecta: its Lime id."""
    return str(debtor_id)


def debtor_problems(debtor: Debtor) -> list[str]:
    """Why a debtor cannot be sent to Billecta (empty when it can)."""
    problems = []
    if debtor.anonymized:
        problems.append(f"debtor {debtor.id} is anonymized")
    if (debtor.person is None) == (debtor.company is None):
        which = "both" if debtor.person is not None else "neither"
        problems.append(
            f"debtor {debtor.id} must have exactly one of person or company set ({which} is)"
        )
    return problems


async def load_debtor(session: AsyncSession, debtor_id: int) -> Debtor:
    """The debtor, read fresh; TaskFailed when it does not exist."""
    debtor = await session.get(Debtor, debtor_id, populate_existing=True)
    if debtor is None:
        raise TaskFailed(f"debtor {debtor_id} does not exist")
    return debtor


# The debtor, its person and company, and per relation the relation and its creditor (built
# once: the statement is run by every upsert job).
_DEBTOR_FOR_SYNC = (
    select(Debtor, Person, Company, CreditorDebtor, Creditor)
    .outerjoin(Person, Person.id == Debtor.person)
    .outerjoin(Company, Company.id == Debtor.company)
    .outerjoin(CreditorDebtor, CreditorDebtor.debtor == Debtor.id)
    .outerjoin(Creditor, Creditor.id == CreditorDebtor.creditor)
    .where(Debtor.id == bindparam("debtor_id"))
    .order_by(CreditorDebtor.id)
    .execution_options(populate_existing=True)
)


async def load_debtor_for_sync(
    session: AsyncSession, loader: ObjectLoader, debtor_id: int
) -> tuple[Debtor, list[CreditorDebtor]]:
    """The debtor and its creditor relations, read fresh in one query together with what the
    sync reads next (its person or company, each relation's creditor), which `loader` then
    answers without a query of its own. TaskFailed when the debtor does not exist."""
    rows = (await session.execute(_DEBTOR_FOR_SYNC, {"debtor_id": debtor_id})).all()
    if not rows:
        raise TaskFailed(f"debtor {debtor_id} does not exist")
    debtor, person, company = rows[0][0], rows[0][1], rows[0][2]
    loader.remember("debtor", debtor)
    for limetype, related in (("person", person), ("company", company)):
        if related is not None:
            loader.remember(limetype, related)
    relations: list[CreditorDebtor] = []
    for *_, rel, creditor in rows:
        if rel is not None:
            relations.append(rel)
        if creditor is not None:
            loader.remember("creditor", creditor)
    return debtor, relations


async def relations_of(session: AsyncSession, debtor_id: int) -> list[CreditorDebtor]:
    stmt = (
        select(CreditorDebtor)
        .where(CreditorDebtor.debtor == debtor_id)
        .order_by(CreditorDebtor.id)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


async def _mapped(
    run: TaskContext, loader: ObjectLoader, debtor: Debtor, rel: CreditorDebtor
) -> dict[str, Any]:
    values = await MappedValues.collect(
        run.mappings["debtor"], loader, debtor, roots={"creditordebtor": rel}
    )
    mapped = dict(values.values)
    if mapped.get("DebtorType") is None:
        mapped["DebtorType"] = "Company" if debtor.company is not None else "Private"
    return mapped


async def sync_debtor_relation(
    run: TaskContext,
    loader: ObjectLoader,
    *,
    debtor: Debtor,
    rel: CreditorDebtor,
    creditor_public_id: str,
) -> str:
    """Create or update the relation's debtor in Billecta; answers its DebtorPublicId.

    Updates are read-modify-write: the mapped fields are written over Billecta's debtor, so
    what the mapping does not cover (Autogiro, default settings, notes) survives. The caller
    holds the ("debtor", id) lock.
    """
    mapped = await _mapped(run, loader, debtor, rel)
    current = await find_in_billecta(
        rel.debtorpublicid,
        run.billecta.get_debtor,
        lambda: run.billecta.get_debtor_by_external_id(
            creditor_public_id, debtor_external_id(rel.debtor or 0)
        ),
    )
    if current is not None:
        if not current.debtor_public_id:
            raise RelationProblem("Billecta answered a debtor without DebtorPublicId")
        wire = overlay(current.to_wire(), mapped)
        wire["CreditorPublicId"] = creditor_public_id
        wire["DebtorPublicId"] = current.debtor_public_id
        wire.setdefault("DebtorExternalId", debtor_external_id(debtor.id))
        await run.billecta.update_debtor(BillectaDebtor.model_validate(wire))
        return current.debtor_public_id
    wire = overlay(
        {"CreditorPublicId": creditor_public_id, "DebtorExternalId": debtor_external_id(debtor.id)},
        mapped,
    )
    return await run.billecta.create_debtor(BillectaDebtor.model_validate(wire))


async def ensure_debtor_in_billecta(
    run: TaskContext,
    loader: ObjectLoader,
    *,
    debtor: Debtor,
    rel: CreditorDebtor,
    creditor: Creditor,
) -> str:
    """The relation's DebtorPublicId, creating the debtor in Billecta first when needed.

    Takes the ("debtor", id) lock itself; raises RelationProblem when it cannot.
    """
    if rel.debtorpublicid:
        return rel.debtorpublicid
    await run.lock(LOCK, debtor.id)
    await run.session.refresh(rel)
    if rel.debtorpublicid:
        return rel.debtorpublicid
    problems = debtor_problems(debtor)
    if problems:
        raise RelationProblem("; ".join(problems))
    creditor_public_id = require_creditor(creditor, rel.creditor)
    try:
        public_id = await sync_debtor_relation(
            run, loader, debtor=debtor, rel=rel, creditor_public_id=creditor_public_id
        )
    except MappingValueError as exc:
        raise RelationProblem(f"debtor {debtor.id}: {exc}") from None
    except BillectaApiRequestException as exc:
        if exc.retryable:
            raise
        raise RelationProblem(f"debtor {debtor.id}: {billecta_problem(exc)}") from None
    rel.debtorpublicid = public_id
    rel.billecta_error_message = None
    await run.session.flush()
    return public_id


async def upsert_debtor(run: TaskContext, debtor_id: int) -> Outcome:
    """Create or update one debtor in Billecta for each of its creditor relations.

    Writes `debtorpublicid` on each relation; a relation that fails gets its
    `billecta_error_message` and is named in the log, the others still sync.
    """
    session = run.session
    # Locked before anything is read: relations read after the lock show every public id a
    # job holding it before us wrote.
    await run.lock(LOCK, debtor_id)
    loader = ObjectLoader(session, run.schema)
    debtor, relations = await load_debtor_for_sync(session, loader, debtor_id)
    problems = debtor_problems(debtor)
    if not problems and not relations:
        problems.append(f"debtor {debtor_id} has no creditor relation (creditordebtor) to sync")
    if problems:
        debtor.billecta_error_message = "; ".join(problems)
        return Outcome.from_problems(problems)

    async def sync(rel: CreditorDebtor, creditor: Creditor | None) -> None:
        creditor_public_id = require_creditor(creditor, rel.creditor)
        rel.debtorpublicid = await sync_debtor_relation(
            run, loader, debtor=debtor, rel=rel, creditor_public_id=creditor_public_id
        )

    failures = await for_each_relation(loader, relations, sync)
    debtor.billecta_error_message = "; ".join(failures) or None
    await session.flush()
    synced = len(relations) - len(failures)
    return Outcome.from_problems(failures, done=f"Synced to {synced} creditor(s)")


async def anonymize_debtor(run: TaskContext, debtor_id: int) -> Outcome:
    """Anonymize a debtor in Billecta (each relation with a debtorpublicid) and in the mirror.

    The mirror is scrubbed once Billecta has anonymized every relation: the debtor's and its
    person's personal data, payment sender details and the stored webhook payloads about it.
    Invoice PDFs are kept: bookkeeping law requires invoices to be kept for seven years.
    """
    session = run.session
    await run.lock(LOCK, debtor_id)
    debtor = await load_debtor(session, debtor_id)
    relations = [r for r in await relations_of(session, debtor_id) if r.debtorpublicid]
    loader = ObjectLoader(session, run.schema)
    failures: list[str] = []
    for rel in relations:
        assert rel.debtorpublicid is not None
        try:
            await run.billecta.anonymize_debtor(rel.debtorpublicid)
        except BillectaApiRequestException as exc:
            if exc.retryable:
                raise
            creditor = await loader.get("creditor", rel.creditor) if rel.creditor else None
            assert creditor is None or isinstance(creditor, Creditor)
            rel.billecta_error_message = billecta_problem(exc)
            failures.append(
                f"{creditor_label(creditor, rel.creditor)}: {rel.billecta_error_message}"
            )
        else:
            rel.billecta_error_message = None
    if failures:
        debtor.billecta_error_message = "; ".join(failures)
        await session.flush()
        return Outcome.from_problems(failures)
    await scrub_debtor(session, debtor)
    where = (
        f"in Billecta for {len(relations)} creditor(s) and" if relations else "(not in Billecta)"
    )
    return Outcome(ok=True, message=f"Anonymized {where} in the gateway")


def _pii_columns(model: Any) -> list[str]:
    return [c.key for c in model.__table__.columns if c.info.get("pii")]


async def scrub_debtor(session: AsyncSession, debtor: Debtor) -> None:
    """Remove a debtor's personal data from the gateway's own tables.

    Clears the debtor's and its person's personal properties, the sender details of its
    payments and the stored webhook payloads naming it.
    """
    for name in _pii_columns(Debtor):
        setattr(debtor, name, None)
    debtor.anonymized = True
    debtor.billecta_error_message = None
    if debtor.person is not None:
        await session.execute(
            update(Person)
            .where(Person.id == debtor.person)
            .values({**dict.fromkeys(_pii_columns(Person)), "anonymized": True})
        )
    relation_ids = select(CreditorDebtor.id).where(CreditorDebtor.debtor == debtor.id)
    invoice_ids = select(Invoice.id).where(
        or_(Invoice.debtor == debtor.id, Invoice.creditordebtor.in_(relation_ids))
    )
    payment_ids = select(Payment.id).where(
        or_(Payment.creditordebtor.in_(relation_ids), Payment.invoice.in_(invoice_ids))
    )
    await session.execute(
        update(Payment)
        .where(Payment.id.in_(payment_ids))
        .values(dict.fromkeys(_pii_columns(Payment)))
        .execution_options(synchronize_session=False)
    )
    public_ids = (
        await session.scalars(
            select(CreditorDebtor.debtorpublicid).where(
                CreditorDebtor.debtor == debtor.id, CreditorDebtor.debtorpublicid.is_not(None)
            )
        )
    ).all()
    # Imported here: the webhook inbox imports every event handler.
    from billecta_gateway.webhooks.inbox import scrub_debtor_payloads

    await scrub_debtor_payloads(session, debtor_public_ids=[str(i) for i in public_ids])
    await session.flush()


async def record_debtor_failure(
    session: AsyncSession, debtor_id: int, message: str, phase: str
) -> None:
    """Write a job's failure on the debtor's `billecta_error_message`."""
    await session.execute(
        update(Debtor).where(Debtor.id == debtor_id).values(billecta_error_message=message)
    )
