"""Article upsert and delete jobs, and the article decorators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.articles.tasks import DELETE_ARTICLE, UPSERT_ARTICLE
from billecta_gateway.models import Article, CreditorArticle
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import TaskKind, start_task
from tests.tasks.support import FakeBillecta, add_article, add_creditor, batch_and_logs, run_batch


async def _run(session: AsyncSession, ctx: dict[str, Any], kind: TaskKind, ids: list[int]) -> int:
    batch_id = await start_task(
        session, kind=kind, title="t", created_by=None, object_ids=ids, jobs=AfterCommit()
    )
    await session.commit()
    await run_batch(ctx, batch_id)
    return batch_id


async def _relations(session: AsyncSession, article_id: int) -> list[CreditorArticle]:
    return list(
        (
            await session.scalars(
                select(CreditorArticle)
                .where(CreditorArticle.article == article_id)
                .order_by(CreditorArticle.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def test_upsert_creates_one_product_per_creditor_relation(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, 1, "cred-A")
    await add_creditor(session, 2, "cred-B")
    await add_article(session, 2001, creditors=(1, 2), bookkeepingaccount="3010")
    await add_article(session, 2002, articletype="package", unitprice=None)

    batch_id = await _run(session, ctx, UPSERT_ARTICLE, [2001, 2002])

    creates = fake.requests("POST", "/v1/products/product")
    assert sorted((c.body["CreditorPublicId"], c.body["ProductExternalId"]) for c in creates) == [
        ("cred-A", "2001"),
        ("cred-A", "2002"),
        ("cred-B", "2001"),
    ]
    standard = next(c.body for c in creates if c.body["ProductExternalId"] == "2001")
    assert standard == {
        "CreditorPublicId": standard["CreditorPublicId"],
        "ProductExternalId": "2001",
        "IsActive": True,
        "ArticleNumber": "A-2001",
        "Description": "Article 2001",
        "Units": "st",
        "UnitPrice": 100,
        "VAT": 25,
        "BookKeepingAccount": 3010,
        "ProductType": "Service",
    }
    package = next(c.body for c in creates if c.body["ProductExternalId"] == "2002")
    assert package["ProductType"] == "Package"
    assert "UnitPrice" not in package
    batch, _ = await batch_and_logs(session, batch_id)
    assert batch.status == "ok"
    assert all(r.articlepublicid in fake.products for r in await _relations(session, 2001))


async def test_an_update_keeps_product_fields_the_mapping_does_not_cover(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_article(session, 2001, unitprice=120)
    (await _relations(session, 2001))[0].articlepublicid = "product-x"
    fake.products["product-x"] = {
        "ProductPublicId": "product-x",
        "CreditorPublicId": "cred-A",
        "UnitPrice": 100,
        "BookKeepingSalesEUAccount": 3108,
        "ConfigurationCode": "K1",
    }

    await _run(session, ctx, UPSERT_ARTICLE, [2001])

    [put] = fake.requests("PUT", "/v1/products/product")
    assert put.body["UnitPrice"] == 120
    assert put.body["BookKeepingSalesEUAccount"] == 3108
    assert put.body["ConfigurationCode"] == "K1"
    assert put.body["ProductExternalId"] == "2001"


async def test_a_bad_value_is_a_per_object_failure(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, name="Acme AB")
    await add_article(session, 2001, bookkeepingaccount="30a")
    await add_article(session, 2002)

    batch_id = await _run(session, ctx, UPSERT_ARTICLE, [2001, 2002])

    batch, logs = await batch_and_logs(session, batch_id)
    assert batch.status == "donewitherror"
    assert logs[2001].message == "Creditor 1 (Acme AB): BookKeepingAccount: '30a' is not a number"
    assert logs[2002].status == "ok"
    article = await session.get(Article, 2001, populate_existing=True)
    assert article is not None and article.billecta_error_message == logs[2001].message


async def test_delete_removes_the_products_and_clears_articlepublicid(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_article(session, 2001)
    await _run(session, ctx, UPSERT_ARTICLE, [2001])
    [relation] = await _relations(session, 2001)
    product_id = relation.articlepublicid

    batch_id = await _run(session, ctx, DELETE_ARTICLE, [2001])

    assert fake.requests("DELETE") == fake.requests("DELETE", f"/v1/products/product/{product_id}")
    assert len(fake.requests("DELETE")) == 1
    [relation] = await _relations(session, 2001)
    assert relation.articlepublicid is None
    batch, logs = await batch_and_logs(session, batch_id)
    assert (batch.status, logs[2001].message) == ("ok", "Deleted from 1 creditor(s)")
    assert fake.products == {}


async def test_billecta_refusing_to_delete_a_used_product_is_a_clear_failure(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, name="Acme AB")
    await add_article(session, 2001)
    (await _relations(session, 2001))[0].articlepublicid = "product-used"
    fake.products["product-used"] = {"ProductPublicId": "product-used"}
    fake.products_in_use.add("product-used")

    batch_id = await _run(session, ctx, DELETE_ARTICLE, [2001])

    _, logs = await batch_and_logs(session, batch_id)
    assert logs[2001].status == "error"
    assert logs[2001].message == (
        "Creditor 1 (Acme AB): Billecta refused to delete product product-used (a product used "
        "on an invoice cannot be deleted): The product is used on an invoice and cannot be "
        "deleted"
    )
    [relation] = await _relations(session, 2001)
    assert relation.articlepublicid == "product-used"


async def test_deleting_finds_a_product_whose_create_answer_was_lost(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_article(session, 2001)
    fake.products["lost"] = {
        "ProductPublicId": "lost",
        "CreditorPublicId": "cred-A",
        "ProductExternalId": "2001",
    }
    await _run(session, ctx, DELETE_ARTICLE, [2001])
    assert fake.products == {}


async def test_deleting_an_article_never_synced_is_ok(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_article(session, 2001)
    batch_id = await _run(session, ctx, DELETE_ARTICLE, [2001])
    _, logs = await batch_and_logs(session, batch_id)
    assert (logs[2001].status, logs[2001].message) == ("ok", "The article was not in Billecta")
    assert fake.requests("DELETE") == []
