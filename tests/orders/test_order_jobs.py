"""Order jobs: verification, upsert, attest, upsert-and-attest and delete."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Order
from billecta_gateway.orders.tasks import (
    ATTEST_ORDER,
    DELETE_ORDER,
    UPSERT_ATTEST_ORDER,
    UPSERT_ORDER,
)
from billecta_gateway.orders.verification import verify_order
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import TaskKind, start_task
from billecta_gateway.tasks.runner import run_object_task
from tests.tasks.support import (
    FakeBillecta,
    add_article,
    add_creditor,
    add_debtor,
    add_order,
    batch_and_logs,
    run_batch,
    run_job,
)

ROWS: list[dict[str, Any]] = [
    {"article": 2001, "quantity": Decimal(2)},
    {"rowtype": "message", "description": "Delivered to the back door", "quantity": None},
    {"article": 2002, "rowtype": "package", "unitprice": Decimal("50.00")},
]


async def _seed(session: AsyncSession, **order: Any) -> Order:
    await add_creditor(session)
    await add_debtor(session, 1001)
    await add_article(session, 2001)
    await add_article(session, 2002, articletype="package", name="Starter kit")
    values: dict[str, Any] = {"ourreference": "Anna", "invoicedate": date(2026, 3, 2)}
    values.update(order)
    return await add_order(session, 3001, debtor=1001, rows=ROWS, **values)


async def _run(session: AsyncSession, ctx: dict[str, Any], kind: TaskKind, ids: list[int]) -> int:
    batch_id = await start_task(
        session, kind=kind, title="t", created_by=None, object_ids=ids, jobs=AfterCommit()
    )
    await session.commit()
    await run_batch(ctx, batch_id)
    return batch_id


async def _order(session: AsyncSession, order_id: int = 3001) -> Order:
    order = await session.get(Order, order_id, populate_existing=True)
    assert order is not None
    return order


async def test_upsert_creates_debtor_and_products_first_then_the_action_with_every_row(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session)

    batch_id = await _run(session, ctx, UPSERT_ORDER, [3001])

    assert [(s.method, s.path.rsplit("/", 1)[0]) for s in fake.sent] == [
        ("GET", "/v1/debtors/debtorbyexternalid"),
        ("POST", "/v1/debtors"),
        ("GET", "/v1/products/productbyexternalid"),
        ("POST", "/v1/products"),
        ("GET", "/v1/products/productbyexternalid"),
        ("POST", "/v1/products"),
        ("GET", "/v1/invoice/openbydebtor"),
        ("POST", "/v1/invoice"),
    ]
    entry = fake.sent[-1].body
    [debtor_id] = fake.debtors
    assert entry["CreditorPublicId"] == "cred-A"
    assert entry["DebtorPublicId"] == debtor_id
    assert entry["ActionType"] == "InvoiceAction"
    assert entry["ExternalReference"] == "order-3001"
    assert entry["OurReference"] == "Anna"
    assert entry["InvoiceDate"].startswith("2026-03-02")
    assert entry["DueDate"].startswith("2026-04-01")
    standard, message, package = entry["Records"]
    assert standard["RecordType"] == "Standard"
    assert standard["SequenceNo"] == 1
    assert standard["Quantity"] == 2
    assert standard["UnitPrice"] == {"CurrencyCode": "SEK", "Value": 10000, "ValueForView": 100.0}
    assert standard["VAT"] == 25
    assert standard["ArticleDescription"] == "Article 2001"
    assert standard["ProductPublicId"] in fake.products
    assert message == {
        "RecordType": "Message",
        "SequenceNo": 2,
        "ArticleDescription": "Delivered to the back door",
    }
    assert package["RecordType"] == "Package"
    assert package["UnitPrice"]["Value"] == 5000
    assert fake.products[package["ProductPublicId"]]["ProductType"] == "Package"
    order = await _order(session)
    assert (order.orderstatus, order.billecta_error_message) == ("upserted", None)
    assert order.actionpublicid in fake.actions
    batch, _ = await batch_and_logs(session, batch_id)
    assert batch.status == "ok"


async def test_a_second_upsert_updates_the_action_and_keeps_its_unmapped_fields(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session)
    await _run(session, ctx, UPSERT_ORDER, [3001])
    order = await _order(session)
    action_id = order.actionpublicid
    assert action_id is not None
    fake.actions[action_id]["InterestPercentage"] = 8
    fake.actions[action_id]["PaymentOverride"] = {"Reference": "R-1"}
    order.yourreference = "PO-77"
    await session.commit()
    sent = len(fake.sent)

    await _run(session, ctx, UPSERT_ORDER, [3001])

    methods = [(s.method, s.path) for s in fake.sent[sent:]]
    assert methods == [
        ("GET", f"/v1/invoice/action/{action_id}"),
        ("PUT", f"/v1/invoice/action/{action_id}"),
    ]
    body = fake.sent[-1].body
    assert body["YourReference"] == "PO-77"
    assert body["InterestPercentage"] == 8
    assert body["PaymentOverride"] == {"Reference": "R-1"}
    assert len(body["Records"]) == 3
    assert "State" not in body
    assert len(fake.actions) == 1


async def test_verification_lists_every_problem_and_sends_nothing(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    await add_article(session, 2001, creditors=())
    await add_order(
        session,
        3001,
        debtor=1001,
        rows=[
            {"article": 2001, "rowtype": "package", "quantity": None},
            {"rowtype": "message", "description": " ", "quantity": None},
            {"description": "Consulting", "unitprice": Decimal(10), "vat": Decimal(150)},
        ],
        invoicedate=date(2026, 3, 2),
        duedate=date(2026, 3, 1),
    )

    batch_id = await _run(session, ctx, UPSERT_ORDER, [3001])

    _, logs = await batch_and_logs(session, batch_id)
    message = logs[3001].message or ""
    assert message.startswith("Order 3001 cannot be sent to Billecta: ")
    for problem in (
        "its due date 2026-03-01 is before its invoice date 2026-03-02",
        "row 300101 (position 1): article 2001 has no relation (creditorarticle) to creditor 1",
        "row 300101 (position 1) is a package row but article 2001 is a standard article",
        "row 300101 (position 1) has no quantity",
        "row 300102 (position 2) is a message without text",
        "row 300103 (position 3): VAT 150 is not a percentage between 0 and 100",
    ):
        assert problem in message
    order = await _order(session)
    assert (order.orderstatus, order.billecta_error_message) == ("errorupsert", message)
    assert fake.sent == []
    assert await verify_order(session, order_id=424242) == ["order 424242 does not exist"]


async def test_an_order_whose_debtor_has_no_relation_to_its_creditor_is_refused(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, 1, "cred-A")
    await add_creditor(session, 2, None)
    await add_debtor(session, 1001, creditors=(1,))
    await add_article(session, 2001, creditors=(2,))
    await add_order(session, 3001, creditor=2, debtor=1001, rows=[{"article": 2001}])

    problems = await verify_order(session, order_id=3001)

    assert problems == [
        "its creditor 2 has no creditorpublicid",
        "debtor 1001 has no relation (creditordebtor) to creditor 2",
    ]


async def test_upsert_and_attest_in_one_job(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session)

    batch_id = await _run(session, ctx, UPSERT_ATTEST_ORDER, [3001])

    order = await _order(session)
    assert order.orderstatus == "attested"
    assert fake.sent[-1].method == "PUT"
    assert fake.sent[-1].path == f"/v1/invoice/attest/{order.actionpublicid}"
    assert fake.actions[order.actionpublicid or ""]["State"]["Stage"] == "Attested"
    batch, _ = await batch_and_logs(session, batch_id)
    assert batch.status == "ok"


async def test_attest_only_accepts_upserted_orders(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session)

    refused = await _run(session, ctx, ATTEST_ORDER, [3001])

    _, logs = await batch_and_logs(session, refused)
    assert logs[3001].message == (
        "Order 3001 has status 'created' and cannot be attested (upsert it first)"
    )
    assert (await _order(session)).orderstatus == "created"
    assert fake.sent == []

    await _run(session, ctx, UPSERT_ORDER, [3001])
    await _run(session, ctx, ATTEST_ORDER, [3001])
    assert (await _order(session)).orderstatus == "attested"
    sent = len(fake.sent)
    again = await _run(session, ctx, ATTEST_ORDER, [3001])
    _, logs = await batch_and_logs(session, again)
    assert (logs[3001].status, logs[3001].message) == ("ok", "Order 3001 is already attested")
    assert len(fake.sent) == sent


async def test_a_refused_attest_is_errorattest_with_billectas_reason(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session)
    await _run(session, ctx, UPSERT_ORDER, [3001])
    fake.fail(
        "attest_invoice_action", httpx.Response(400, json={"Message": "Debtor has no address"})
    )

    batch_id = await _run(session, ctx, ATTEST_ORDER, [3001])

    order = await _order(session)
    assert order.orderstatus == "errorattest"
    assert order.billecta_error_message == (
        "Order 3001: Billecta rejected the request: Debtor has no address"
    )
    _, logs = await batch_and_logs(session, batch_id)
    assert logs[3001].message == order.billecta_error_message


async def test_an_attest_whose_answer_was_lost_counts_as_done(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session)
    await _run(session, ctx, UPSERT_ORDER, [3001])
    order = await _order(session)
    fake.actions[order.actionpublicid or ""]["State"] = {"Stage": "Attested"}

    await _run(session, ctx, ATTEST_ORDER, [3001])

    assert (await _order(session)).orderstatus == "attested"


async def test_an_action_created_before_a_crash_is_found_not_created_again(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session)
    await _run(session, ctx, UPSERT_ORDER, [3001])
    order = await _order(session)
    lost = order.actionpublicid
    order.actionpublicid = None  # the answer of the create never reached the database
    order.orderstatus = "processing"
    await session.commit()

    await _run(session, ctx, UPSERT_ORDER, [3001])

    assert len(fake.requests("POST", "/v1/invoice/action")) == 1
    assert (await _order(session)).actionpublicid == lost


async def test_exhausted_retries_never_leave_the_order_processing(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session)
    batch_id = await start_task(
        session,
        kind=UPSERT_ORDER,
        title="t",
        created_by=None,
        object_ids=[3001],
        jobs=AfterCommit(),
    )
    await session.commit()
    from billecta_gateway.tasks.fanout import fan_out_task

    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    _, logs = await batch_and_logs(session, batch_id)
    fake.fail("get_debtor_by_external_id", httpx.Response(502))

    result = await run_object_task({**ctx, "job_try": 5}, UPSERT_ORDER, logs[3001].id, 3001)

    assert result == "error"
    order = await _order(session)
    assert order.orderstatus == "errorupsert"
    assert (order.billecta_error_message or "").startswith("Billecta was unavailable after 5 tries")
    _, logs = await batch_and_logs(session, batch_id)
    assert logs[3001].status == "error"


async def test_delete_removes_the_action_and_clears_actionpublicid(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session)
    await _run(session, ctx, UPSERT_ORDER, [3001])
    action_id = (await _order(session)).actionpublicid

    batch_id = await _run(session, ctx, DELETE_ORDER, [3001])

    assert fake.sent[-1].method == "DELETE"
    assert fake.sent[-1].path == f"/v1/invoice/action/{action_id}"
    order = await _order(session)
    assert (order.actionpublicid, order.orderstatus) == (None, "created")
    assert fake.actions == {}
    batch, _ = await batch_and_logs(session, batch_id)
    assert batch.status == "ok"


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        (
            "attested",
            "a-1",
            "Order 3001 has status 'attested': an attested order cannot be deleted from "
            "Billecta (credit its invoice instead)",
        ),
        ("created", None, "Order 3001 has no actionpublicid: it is not in Billecta"),
    ],
)
async def test_delete_refuses_attested_or_unsynced_orders(
    session: AsyncSession,
    ctx: dict[str, Any],
    fake: FakeBillecta,
    status: str,
    action: str | None,
    message: str,
) -> None:
    await _seed(session, orderstatus=status, actionpublicid=action)
    batch_id = await _run(session, ctx, DELETE_ORDER, [3001])
    _, logs = await batch_and_logs(session, batch_id)
    assert (logs[3001].status, logs[3001].message) == ("error", message)
    assert fake.sent == []


async def test_running_an_order_batch_twice_creates_nothing_twice(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await _seed(session)
    batch_id = await start_task(
        session,
        kind=UPSERT_ORDER,
        title="t",
        created_by=None,
        object_ids=[3001],
        jobs=AfterCommit(),
    )
    await session.commit()
    await run_batch(ctx, batch_id)
    _, logs = await batch_and_logs(session, batch_id)
    assert await run_job(ctx, "upsert_order", logs[3001].id, 3001) == "skipped"
    await _run(session, ctx, UPSERT_ORDER, [3001])
    assert len(fake.requests("POST")) == 4
    assert (len(fake.debtors), len(fake.products), len(fake.actions)) == (1, 2, 1)
