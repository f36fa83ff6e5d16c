"""arq jobs of the article tasks: one job per article, run under its integration-monitor log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billecta_gateway.articles import service
from billecta_gateway.tasks.contract import TaskKind, register_kind
from billecta_gateway.tasks.runner import run_object_task

if TYPE_CHECKING:
    from billecta_gateway.tasks.context import WorkerContext

UPSERT_ARTICLE = register_kind(
    TaskKind(
        job="upsert_article",
        task="upsert_articles_in_billecta",
        limetype="article",
        title="Upsert articles in Billecta",
        handler=service.upsert_article,
        on_failure=service.record_article_failure,
        timeout=90,
        max_tries=5,
        follow_up=True,
    )
)

DELETE_ARTICLE = register_kind(
    TaskKind(
        job="delete_article",
        task="delete_articles_in_billecta",
        limetype="article",
        title="Delete articles in Billecta",
        handler=service.delete_article,
        on_failure=service.record_article_failure,
        timeout=90,
        max_tries=5,
    )
)


async def upsert_article(ctx: WorkerContext, log_id: int, article_id: int) -> str:
    """Create or update one article's products in Billecta, once per creditor relation.

    Idempotent: the product is looked up by its ProductExternalId before it is created.
    """
    return await run_object_task(ctx, UPSERT_ARTICLE, log_id, article_id)


async def delete_article(ctx: WorkerContext, log_id: int, article_id: int) -> str:
    """Delete one article's products in Billecta and clear their `articlepublicid`."""
    return await run_object_task(ctx, DELETE_ARTICLE, log_id, article_id)
