"""Decorator behaviour of articles and creditor articles (enabled by SYNC_ON_CHANGE).

A new article, or a change of a field the article mapping reads, is upserted in Billecta for
each creditor relation; so is a new or re-pointed creditorarticle. Other changes push nothing.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from billecta_gateway.articles.tasks import UPSERT_ARTICLE
from billecta_gateway.lime.hooks import UpsertContext
from billecta_gateway.lime.mappings import field_mappings_for
from billecta_gateway.models import Article, CreditorArticle
from billecta_gateway.tasks.contract import enqueue_on_change

# Properties that change what Billecta gets whatever the mapping says.
ARTICLE_PROPERTIES = frozenset({"articletype"})
RELATION_PROPERTIES = frozenset({"creditor", "article"})


async def upsert_changed_article(ctx: UpsertContext) -> None:
    """Upsert an article whose synced fields changed, when it has creditor relations."""
    article = ctx.obj
    assert isinstance(article, Article)
    synced = field_mappings_for(ctx.settings, ctx.schema).mapped_properties("article")
    if not ctx.created and not ctx.changed & (synced | ARTICLE_PROPERTIES):
        return
    related = await ctx.session.scalar(
        select(exists().where(CreditorArticle.article == article.id))
    )
    if related:
        await enqueue_on_change(
            ctx.session, ctx.jobs, kind=UPSERT_ARTICLE, object_id=article.id, counted=True
        )


async def upsert_article_of_relation(ctx: UpsertContext) -> None:
    """Upsert the article of a new or changed creditor relation."""
    relation = ctx.obj
    assert isinstance(relation, CreditorArticle)
    synced = field_mappings_for(ctx.settings, ctx.schema).mapped_properties("creditorarticle")
    if relation.article is None:
        return
    if ctx.created or ctx.changed & (synced | RELATION_PROPERTIES):
        await enqueue_on_change(
            ctx.session, ctx.jobs, kind=UPSERT_ARTICLE, object_id=relation.article
        )
