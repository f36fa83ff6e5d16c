"""Verification of an order before it is sent to Billecta (the spec's VerificationHandler).

Every problem is collected, not just the first, so one `errorupsert` message tells the user
everything to fix: the order's structure, its creditor and debtor, each row and its article,
and the amounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import (
    Article,
    Creditor,
    CreditorArticle,
    CreditorDebtor,
    Debtor,
    Order,
    OrderRow,
)
from billecta_gateway.models.lime import ROW_TYPES

MESSAGE = "message"
PRICED_ROWS = ("standard", "package")


@dataclass
class OrderData:
    """An order with everything sending it needs, loaded once."""

    order: Order
    creditor: Creditor | None = None
    debtor: Debtor | None = None
    relation: CreditorDebtor | None = None
    rows: list[OrderRow] = field(default_factory=list)
    articles: dict[int, Article] = field(default_factory=dict)
    article_relations: dict[int, CreditorArticle] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        """The order's currency, else the creditor's default, else SEK."""
        fallback = self.creditor.default_currency if self.creditor is not None else None
        return (self.order.currency or fallback or "SEK").upper()


async def load_order_data(session: AsyncSession, order: Order) -> OrderData:
    """The order's creditor, debtor, their relation, its rows (in position order) and articles."""
    data = OrderData(order=order)
    if order.creditor is not None:
        data.creditor = await session.get(Creditor, order.creditor, populate_existing=True)
    if order.debtor is not None:
        data.debtor = await session.get(Debtor, order.debtor, populate_existing=True)
    if order.creditor is not None and order.debtor is not None:
        data.relation = await session.scalar(
            select(CreditorDebtor)
            .where(CreditorDebtor.creditor == order.creditor, CreditorDebtor.debtor == order.debtor)
            .execution_options(populate_existing=True)
        )
    data.rows = list(
        (
            await session.scalars(
                select(OrderRow)
                .where(OrderRow.order == order.id)
                .order_by(OrderRow.position.asc().nulls_last(), OrderRow.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    article_ids = sorted({r.article for r in data.rows if r.article is not None})
    if article_ids:
        articles = await session.scalars(select(Article).where(Article.id.in_(article_ids)))
        data.articles = {a.id: a for a in articles}
        if order.creditor is not None:
            relations = await session.scalars(
                select(CreditorArticle)
                .where(
                    CreditorArticle.creditor == order.creditor,
                    CreditorArticle.article.in_(article_ids),
                )
                .execution_options(populate_existing=True)
            )
            data.article_relations = {r.article: r for r in relations if r.article is not None}
    return data


def _show(value: Decimal) -> str:
    """A decimal without trailing zeros: 150, 12.5."""
    return format(value.normalize(), "f")


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _party_problems(data: OrderData) -> list[str]:
    order = data.order
    problems: list[str] = []
    if order.creditor is None:
        problems.append("it has no creditor")
    elif data.creditor is None:
        problems.append(f"its creditor {order.creditor} does not exist")
    elif not data.creditor.creditorpublicid:
        problems.append(f"its creditor {order.creditor} has no creditorpublicid")
    if order.debtor is None:
        problems.append("it has no debtor")
    elif data.debtor is None:
        problems.append(f"its debtor {order.debtor} does not exist")
    else:
        if data.debtor.anonymized:
            problems.append(f"its debtor {order.debtor} is anonymized")
        if (data.debtor.person is None) == (data.debtor.company is None):
            problems.append(
                f"its debtor {order.debtor} must have exactly one of person or company set"
            )
        if data.creditor is not None and data.relation is None:
            problems.append(
                f"debtor {order.debtor} has no relation (creditordebtor) to creditor "
                f"{order.creditor}"
            )
    currency = order.currency
    if currency is not None and (len(currency) != 3 or not currency.isalpha()):
        problems.append(f"its currency '{currency}' is not a three-letter code")
    if order.invoicedate and order.duedate and order.duedate < order.invoicedate:
        problems.append(
            f"its due date {order.duedate} is before its invoice date {order.invoicedate}"
        )
    return problems


def _row_problems(data: OrderData, row: OrderRow) -> tuple[list[str], Decimal]:
    """A row's problems and its net amount (quantity * price - discount)."""
    name = f"row {row.id}" + (f" (position {row.position})" if row.position is not None else "")
    rowtype = row.rowtype
    if rowtype not in ROW_TYPES:
        return [f"{name} has no row type"], Decimal(0)
    if rowtype == MESSAGE:
        return ([] if (row.description or "").strip() else [f"{name} is a message without text"]), (
            Decimal(0)
        )
    problems: list[str] = []
    article = data.articles.get(row.article) if row.article is not None else None
    if row.article is not None and article is None:
        problems.append(f"{name}: its article {row.article} does not exist")
    if article is not None:
        if data.order.creditor is not None and row.article not in data.article_relations:
            problems.append(
                f"{name}: article {article.id} has no relation (creditorarticle) to creditor "
                f"{data.order.creditor}"
            )
        if (article.articletype or "standard") != rowtype:
            problems.append(
                f"{name} is a {rowtype} row but article {article.id} is a "
                f"{article.articletype or 'standard'} article"
            )
    elif row.article is None and not (row.description or "").strip():
        problems.append(f"{name} has neither an article nor a description")
    price = row.unitprice if row.unitprice is not None else (article.unitprice if article else None)
    vat = row.vat if row.vat is not None else (article.vat if article else None)
    if row.quantity is None or row.quantity == 0:
        problems.append(f"{name} has no quantity")
    if price is None:
        problems.append(f"{name} has no unit price (on the row or its article)")
    elif _decimals(price) > 2:
        problems.append(f"{name}: unit price {_show(price)} has more than two decimals")
    if vat is not None and not Decimal(0) <= vat <= Decimal(100):
        problems.append(f"{name}: VAT {_show(vat)} is not a percentage between 0 and 100")
    discount = row.discount or Decimal(0)
    if discount < 0:
        problems.append(f"{name}: discount {_show(discount)} is negative")
    gross = (row.quantity or Decimal(0)) * (price or Decimal(0))
    if discount > 0 and gross >= 0 and discount > gross:
        problems.append(
            f"{name}: discount {_show(discount)} is larger than the row amount {_show(gross)}"
        )
    return problems, gross - discount


def verify(data: OrderData) -> list[str]:
    """Every reason the order cannot be sent to Billecta (empty when it can)."""
    problems = _party_problems(data)
    priced = [r for r in data.rows if r.rowtype in PRICED_ROWS]
    if not priced:
        problems.append("it has no standard or package rows")
    total = Decimal(0)
    for row in data.rows:
        row_problems, amount = _row_problems(data, row)
        problems.extend(row_problems)
        total += amount
    if priced and total < 0:
        problems.append(f"its total {_show(total)} is negative (credit an invoice instead)")
    return problems


def verification_message(order_id: int, problems: list[str]) -> str:
    return f"Order {order_id} cannot be sent to Billecta: " + "; ".join(problems)


async def verify_order(session: AsyncSession, *, order_id: int) -> list[str]:
    """Verify one order's data (structure, rows, debtor and articles, amounts).

    Answers the list of problems; an unknown order is one problem.
    """
    order = await session.get(Order, order_id, populate_existing=True)
    if order is None:
        return [f"order {order_id} does not exist"]
    return verify(await load_order_data(session, order))
