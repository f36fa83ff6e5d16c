"""Decorator behaviour of debtors, creditor debtors and persons (enabled by SYNC_ON_CHANGE).

- debtor: a new debtor, or a change of a field the debtor mapping reads, is upserted in
  Billecta for each creditor relation (a debtor without relations has nothing to send yet);
- creditordebtor: a new or re-pointed relation upserts its debtor;
- person, company: a change of a field the debtor mapping reads through the debtor's person
  or company (`person.email`, `company.address`) upserts the debtors that read it; a person
  anonymized in Lime anonymizes its debtors in Billecta.
Other changes push nothing.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.debtors.tasks import ANONYMIZE_DEBTOR, UPSERT_DEBTOR
from billecta_gateway.lime.hooks import UpsertContext
from billecta_gateway.lime.mappings import field_mappings_for
from billecta_gateway.models import Company, CreditorDebtor, Debtor, Person
from billecta_gateway.tasks.contract import enqueue_on_change

# Properties that change what Billecta gets whatever the mapping says.
DEBTOR_PROPERTIES = frozenset({"person", "company", "debtortype"})
RELATION_PROPERTIES = frozenset({"creditor", "debtor"})


async def upsert_changed_debtor(ctx: UpsertContext) -> None:
    """Upsert a debtor whose synced fields changed, when it has creditor relations."""
    debtor = ctx.obj
    assert isinstance(debtor, Debtor)
    if debtor.anonymized:
        return
    synced = field_mappings_for(ctx.settings, ctx.schema).mapped_properties("debtor")
    if not ctx.created and not ctx.changed & (synced | DEBTOR_PROPERTIES):
        return
    related = await ctx.session.scalar(select(exists().where(CreditorDebtor.debtor == debtor.id)))
    if related:
        await enqueue_on_change(
            ctx.session, ctx.jobs, kind=UPSERT_DEBTOR, object_id=debtor.id, counted=True
        )


async def upsert_debtor_of_relation(ctx: UpsertContext) -> None:
    """Upsert the debtor of a new or changed creditor relation."""
    relation = ctx.obj
    assert isinstance(relation, CreditorDebtor)
    if relation.debtor is None:
        return
    synced = field_mappings_for(ctx.settings, ctx.schema).mapped_properties("creditordebtor")
    if not ctx.created and not ctx.changed & (synced | RELATION_PROPERTIES):
        return
    anonymized = await ctx.session.scalar(
        select(Debtor.anonymized).where(Debtor.id == relation.debtor)
    )
    if not anonymized:
        await enqueue_on_change(
            ctx.session, ctx.jobs, kind=UPSERT_DEBTOR, object_id=relation.debtor
        )


async def _debtors_reading(session: AsyncSession, relation: str, object_id: int) -> list[int]:
    """The debtors whose `relation` (person or company) is this object, that are not
    anonymized and have a creditor relation to sync."""
    column = Debtor.person if relation == "person" else Debtor.company
    rows = await session.scalars(
        select(Debtor.id)
        .where(
            column == object_id,
            Debtor.anonymized.is_not(True),
            exists().where(CreditorDebtor.debtor == Debtor.id),
        )
        .order_by(Debtor.id)
    )
    return [int(i) for i in rows]


async def _upsert_debtors_reading(ctx: UpsertContext, relation: str) -> None:
    """Upsert the debtors that read a changed mapped field of their person or company."""
    read = field_mappings_for(ctx.settings, ctx.schema).read_through("debtor", relation)
    if not ctx.changed & read:
        return
    for debtor_id in await _debtors_reading(ctx.session, relation, ctx.object_id):
        await enqueue_on_change(ctx.session, ctx.jobs, kind=UPSERT_DEBTOR, object_id=debtor_id)


async def upsert_debtors_of_company(ctx: UpsertContext) -> None:
    """Upsert in Billecta the debtors of a company whose synced fields changed."""
    assert isinstance(ctx.obj, Company)
    await _upsert_debtors_reading(ctx, "company")


async def sync_debtors_of_person(ctx: UpsertContext) -> None:
    """Anonymize in Billecta every debtor of a person that was just anonymized; otherwise
    upsert the debtors of a person whose synced fields changed."""
    person = ctx.obj
    assert isinstance(person, Person)
    if "anonymized" not in ctx.changed or not person.anonymized:
        if not person.anonymized:
            await _upsert_debtors_reading(ctx, "person")
        return
    debtor_ids = (
        await ctx.session.scalars(
            select(Debtor.id).where(Debtor.person == person.id).order_by(Debtor.id)
        )
    ).all()
    for debtor_id in debtor_ids:
        await enqueue_on_change(ctx.session, ctx.jobs, kind=ANONYMIZE_DEBTOR, object_id=debtor_id)
