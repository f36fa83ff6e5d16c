"""Articles as Billecta products: upsert and delete per creditor relation.

An article exists in Billecta once per creditor it has a `creditorarticle` relation with. A
standard article is a `Service` product, a package article a `Package` product (the spec's
row-type table). Creation is guarded like debtors': the advisory lock ("article", id), the
client-generated `ProductExternalId` (the Lime id) and a lookup by it before creating.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta.errors import (
    BillectaApiBadRequestException,
    BillectaApiNotFoundException,
    BillectaApiRequestException,
)
from billecta_gateway.billecta.schemas import BillectaProduct
from billecta_gateway.lime.mappings import MappingValueError
from billecta_gateway.models import Article, Creditor, CreditorArticle
from billecta_gateway.tasks.contract import Outcome, TaskContext, TaskFailed
from billecta_gateway.tasks.locks import advisory_lock
from billecta_gateway.tasks.sync import (
    RelationProblem,
    billecta_problem,
    find_in_billecta,
    for_each_relation,
    require_creditor,
)
from billecta_gateway.tasks.values import MappedValues, ObjectLoader, overlay

LOCK = "article"
PRODUCT_TYPES = {"standard": "Service", "package": "Package"}


def product_external_id(article_id: int) -> str:
    """The `ProductExternalId` the gateway gives an article in Billecta: its Lime id."""
    return str(article_id)


async def load_article(session: AsyncSession, article_id: int) -> Article:
    """The article, read fresh; TaskFailed when it does not exist."""
    article = await session.get(Article, article_id, populate_existing=True)
    if article is None:
        raise TaskFailed(f"article {article_id} does not exist")
    return article


async def relations_of(session: AsyncSession, article_id: int) -> list[CreditorArticle]:
    stmt = (
        select(CreditorArticle)
        .where(CreditorArticle.article == article_id)
        .order_by(CreditorArticle.id)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


async def sync_product(
    run: TaskContext,
    loader: ObjectLoader,
    *,
    article: Article,
    rel: CreditorArticle,
    creditor_public_id: str,
) -> str:
    """Create or update the relation's product in Billecta; answers its ProductPublicId.

    Updates are read-modify-write, so product fields the mapping does not cover survive. The
    caller holds the ("article", id) lock.
    """
    values = await MappedValues.collect(
        run.mappings["article"], loader, article, roots={"creditorarticle": rel}
    )
    mapped = dict(values.values)
    if mapped.get("ProductType") is None:
        mapped["ProductType"] = PRODUCT_TYPES.get(article.articletype or "standard", "Service")
    current = await find_in_billecta(
        rel.articlepublicid,
        run.billecta.get_product,
        lambda: run.billecta.get_product_by_external_id(
            creditor_public_id, product_external_id(rel.article or 0)
        ),
    )
    if current is not None:
        if not current.product_public_id:
            raise RelationProblem("Billecta answered a product without ProductPublicId")
        wire = overlay(current.to_wire(), mapped)
        wire["CreditorPublicId"] = creditor_public_id
        wire["ProductPublicId"] = current.product_public_id
        wire.setdefault("ProductExternalId", product_external_id(article.id))
        await run.billecta.update_product(BillectaProduct.model_validate(wire))
        return current.product_public_id
    wire = overlay(
        {
            "CreditorPublicId": creditor_public_id,
            "ProductExternalId": product_external_id(article.id),
            "IsActive": True,
        },
        mapped,
    )
    return await run.billecta.create_product(BillectaProduct.model_validate(wire))


async def ensure_product_in_billecta(
    run: TaskContext,
    loader: ObjectLoader,
    *,
    article: Article,
    rel: CreditorArticle,
    creditor: Creditor | None,
) -> str:
    """The relation's ProductPublicId, creating the product in Billecta first when needed.

    Takes the ("article", id) lock itself; raises RelationProblem when it cannot.
    """
    if rel.articlepublicid:
        return rel.articlepublicid
    await advisory_lock(run.session, LOCK, article.id)
    await run.session.refresh(rel)
    if rel.articlepublicid:
        return rel.articlepublicid
    creditor_public_id = require_creditor(creditor, rel.creditor)
    try:
        public_id = await sync_product(
            run, loader, article=article, rel=rel, creditor_public_id=creditor_public_id
        )
    except MappingValueError as exc:
        raise RelationProblem(f"article {article.id}: {exc}") from None
    except BillectaApiRequestException as exc:
        if exc.retryable:
            raise
        raise RelationProblem(f"article {article.id}: {billecta_problem(exc)}") from None
    rel.articlepublicid = public_id
    rel.billecta_error_message = None
    await run.session.flush()
    return public_id


async def _creditor(loader: ObjectLoader, rel: CreditorArticle) -> Creditor | None:
    creditor = await loader.get("creditor", rel.creditor) if rel.creditor else None
    assert creditor is None or isinstance(creditor, Creditor)
    return creditor


async def upsert_article(run: TaskContext, article_id: int) -> Outcome:
    """Create or update one article in Billecta for each of its creditor relations.

    Writes `articlepublicid` on each relation; a failing relation gets its
    `billecta_error_message` and is named in the log while the others still sync.
    """
    session = run.session
    await advisory_lock(session, LOCK, article_id)
    article = await load_article(session, article_id)
    relations = await relations_of(session, article_id)
    if not relations:
        message = f"article {article_id} has no creditor relation (creditorarticle) to sync"
        article.billecta_error_message = message
        return Outcome(ok=False, message=message)
    loader = ObjectLoader(session, run.schema)
    loader.remember("article", article)

    async def sync(rel: CreditorArticle, creditor: Creditor | None) -> None:
        creditor_public_id = require_creditor(creditor, rel.creditor)
        rel.articlepublicid = await sync_product(
            run, loader, article=article, rel=rel, creditor_public_id=creditor_public_id
        )

    failures = await for_each_relation(loader, relations, sync)
    article.billecta_error_message = "; ".join(failures) or None
    await session.flush()
    synced = len(relations) - len(failures)
    return Outcome.from_problems(failures, done=f"Synced to {synced} creditor(s)")


async def _product_to_delete(
    run: TaskContext, rel: CreditorArticle, creditor: Creditor | None
) -> str | None:
    """The relation's product id: stored, or found by our external id (a create whose answer
    was lost); None when the article is not in Billecta for this creditor."""
    if rel.articlepublicid:
        return rel.articlepublicid
    if creditor is None or not creditor.creditorpublicid or rel.article is None:
        return None
    found = await run.billecta.get_product_by_external_id(
        creditor.creditorpublicid, product_external_id(rel.article)
    )
    return found.product_public_id if found is not None else None


async def _delete_product(
    run: TaskContext, rel: CreditorArticle, creditor: Creditor | None
) -> bool:
    """Delete the relation's product; True when one was deleted (or already gone)."""
    public_id = await _product_to_delete(run, rel, creditor)
    if public_id is None:
        return False
    try:
        await run.billecta.delete_product(public_id)
    except BillectaApiNotFoundException:
        pass  # already gone: deleting is done
    except BillectaApiBadRequestException as exc:
        raise RelationProblem(
            f"Billecta refused to delete product {public_id} (a product used on an invoice "
            f"cannot be deleted): {exc.message}"
        ) from None
    return True


async def delete_article(run: TaskContext, article_id: int) -> Outcome:
    """Delete one article's products in Billecta and clear `articlepublicid` on its relations.

    Billecta refuses to delete a product used on an invoice: that relation fails with a clear
    message and keeps its `articlepublicid`.
    """
    session = run.session
    await advisory_lock(session, LOCK, article_id)
    article = await load_article(session, article_id)
    relations = await relations_of(session, article_id)
    loader = ObjectLoader(session, run.schema)
    deleted = 0

    async def delete(rel: CreditorArticle, creditor: Creditor | None) -> None:
        nonlocal deleted
        deleted += await _delete_product(run, rel, creditor)
        rel.articlepublicid = None

    failures = await for_each_relation(loader, relations, delete)
    article.billecta_error_message = "; ".join(failures) or None
    await session.flush()
    done = f"Deleted from {deleted} creditor(s)" if deleted else "The article was not in Billecta"
    return Outcome.from_problems(failures, done=done)


async def record_article_failure(
    session: AsyncSession, article_id: int, message: str, phase: str
) -> None:
    """Write a job's failure on the article's `billecta_error_message`."""
    await session.execute(
        update(Article).where(Article.id == article_id).values(billecta_error_message=message)
    )
