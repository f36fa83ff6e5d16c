"""Shared test helpers for the task contract and the sync jobs.

- `FakeBillecta`: a small stateful Billecta on respx (debtors, products, invoice actions,
  creditors) that records every request, so tests assert on what was sent and on what exists.
- `job_context` and `run_batch`: run the fan-out and the per-object jobs the way a worker
  would, retrying on `arq.Retry` with the next `job_try`.
- small factories for mirror rows.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import respx
from arq import Retry
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.articles.router import router as articles_router
from billecta_gateway.billecta import BillectaClient, Priority
from billecta_gateway.billecta.routes import ROUTES
from billecta_gateway.config import Settings
from billecta_gateway.creditors.router import router as creditors_router
from billecta_gateway.debtors.router import router as debtors_router
from billecta_gateway.invoices.credit_router import router as credit_router
from billecta_gateway.models import (
    Article,
    Company,
    Creditor,
    CreditorArticle,
    CreditorDebtor,
    Debtor,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    Order,
    OrderRow,
    Person,
)
from billecta_gateway.orders.router import router as orders_router
from billecta_gateway.tasks.contract import KINDS
from billecta_gateway.tasks.fanout import fan_out_task
from billecta_gateway.tasks.jobs import TASK_FUNCTIONS
from tests.conftest import BILLECTA_AUTH, BILLECTA_URL, make_settings

TASK_ROUTERS = [articles_router, creditors_router, debtors_router, orders_router, credit_router]
JOBS: dict[str, Callable[..., Awaitable[Any]]] = {
    f.name: f.coroutine  # type: ignore[union-attr]
    for f in TASK_FUNCTIONS
    if hasattr(f, "name")
}


# The fake Billecta


def _pattern(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/?]+)", template)
    return re.compile(re.escape(BILLECTA_URL) + regex + r"/?(\?.*)?$")


@dataclass
class Sent:
    """One request Billecta received."""

    method: str
    path: str
    body: Any
    params: dict[str, str]


@dataclass
class FakeBillecta:
    """A stateful Billecta: enough of debtors, products, invoice actions and creditors."""

    mock: respx.MockRouter
    debtors: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    creditors: dict[str, dict[str, Any]] = field(default_factory=dict)
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    products_in_use: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    failures: dict[str, list[httpx.Response]] = field(default_factory=dict)
    after: dict[str, Callable[[], None]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def install(self) -> FakeBillecta:
        handlers: dict[str, Callable[[httpx.Request, dict[str, str]], httpx.Response]] = {
            "create_debtor": self._create_debtor,
            "update_debtor": self._update_debtor,
            "get_debtor": self._get_debtor,
            "get_debtor_by_external_id": self._debtor_by_external_id,
            "anonymize_debtor": self._anonymize_debtor,
            "create_product": self._create_product,
            "update_product": self._update_product,
            "get_product": self._get_product,
            "get_product_by_external_id": self._product_by_external_id,
            "delete_product": self._delete_product,
            "create_invoice_action": self._create_action,
            "update_invoice_action": self._update_action,
            "get_invoice_action": self._get_action,
            "delete_invoice_action": self._delete_action,
            "attest_invoice_action": self._attest_action,
            "get_open_invoices_by_debtor": self._open_by_debtor,
            "get_creditor": self._get_creditor,
            "update_creditor": self._update_creditor,
            "get_default_action_config": self._get_defaults,
            "update_default_action_config": self._update_defaults,
        }
        for name, handler in handlers.items():
            route = ROUTES[name]
            self.mock.route(method=route.method, url__regex=_pattern(route.path).pattern).mock(
                side_effect=self._wrap(name, handler)
            )
        return self

    def fail(self, name: str, *responses: httpx.Response) -> None:
        """Answer the next calls of a route with these responses, then behave normally."""
        self.failures.setdefault(name, []).extend(responses)

    def _wrap(
        self,
        name: str,
        handler: Callable[[httpx.Request, dict[str, str]], httpx.Response],
    ) -> Callable[..., Awaitable[httpx.Response]]:
        async def respond(request: httpx.Request, **params: str) -> httpx.Response:
            body = json.loads(request.content) if request.content else None
            self.sent.append(Sent(request.method, request.url.path, body, dict(request.url.params)))
            queued = self.failures.get(name)
            if queued:
                return queued.pop(0)
            response = handler(request, {k: v for k, v in params.items() if v})
            # The answer is decided now and delivered late, like a slow network.
            delay = self.delays.get(name)
            if delay:
                await asyncio.sleep(delay)
            hook = self.after.pop(name, None)
            if hook is not None:
                hook()
            return response

        return respond

    # Inspection

    def requests(self, method: str | None = None, path: str | None = None) -> list[Sent]:
        return [
            s
            for s in self.sent
            if (method is None or s.method == method) and (path is None or s.path == path)
        ]

    def count(self, method: str, path_prefix: str) -> int:
        return sum(1 for s in self.sent if s.method == method and s.path.startswith(path_prefix))

    def new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids):04d}"

    # Debtors

    def _create_debtor(self, request: httpx.Request, _: dict[str, str]) -> httpx.Response:
        body = json.loads(request.content)
        public_id = self.new_id("debtor")
        self.debtors[public_id] = {**body, "DebtorPublicId": public_id}
        return httpx.Response(200, json={"PublicId": public_id})

    def _update_debtor(self, request: httpx.Request, _: dict[str, str]) -> httpx.Response:
        body = json.loads(request.content)
        public_id = body.get("DebtorPublicId")
        if public_id not in self.debtors:
            return httpx.Response(404, json={"Message": "No such debtor"})
        self.debtors[public_id] = body
        return httpx.Response(200)

    def _get_debtor(self, _: httpx.Request, p: dict[str, str]) -> httpx.Response:
        found = self.debtors.get(p["debtor_public_id"])
        return httpx.Response(200, json=found) if found else httpx.Response(404)

    def _debtor_by_external_id(self, request: httpx.Request, p: dict[str, str]) -> httpx.Response:
        external = request.url.params.get("externalid")
        for debtor in self.debtors.values():
            if (
                debtor.get("CreditorPublicId") == p["creditor_public_id"]
                and debtor.get("DebtorExternalId") == external
            ):
                return httpx.Response(200, json=debtor)
        return httpx.Response(404)

    def _anonymize_debtor(self, _: httpx.Request, p: dict[str, str]) -> httpx.Response:
        debtor = self.debtors.get(p["debtor_public_id"])
        if debtor is None:
            return httpx.Response(404)
        for key in ("Name", "Email", "Phone", "OrgNo", "Address", "ZipCode", "City"):
            debtor.pop(key, None)
        debtor["Name"] = "Anonymized"
        return httpx.Response(200)

    # Products

    def _create_product(self, request: httpx.Request, _: dict[str, str]) -> httpx.Response:
        body = json.loads(request.content)
        public_id = self.new_id("product")
        self.products[public_id] = {**body, "ProductPublicId": public_id}
        return httpx.Response(200, json={"PublicId": public_id})

    def _update_product(self, request: httpx.Request, _: dict[str, str]) -> httpx.Response:
        body = json.loads(request.content)
        public_id = body.get("ProductPublicId")
        if public_id not in self.products:
            return httpx.Response(404)
        self.products[public_id] = body
        return httpx.Response(200)

    def _get_product(self, _: httpx.Request, p: dict[str, str]) -> httpx.Response:
        found = self.products.get(p["product_public_id"])
        return httpx.Response(200, json=found) if found else httpx.Response(404)

    def _product_by_external_id(self, request: httpx.Request, p: dict[str, str]) -> httpx.Response:
        external = request.url.params.get("externalid")
        for product in self.products.values():
            if (
                product.get("CreditorPublicId") == p["creditor_public_id"]
                and product.get("ProductExternalId") == external
            ):
                return httpx.Response(200, json=product)
        return httpx.Response(404)

    def _delete_product(self, _: httpx.Request, p: dict[str, str]) -> httpx.Response:
        public_id = p["product_public_id"]
        if public_id in self.products_in_use:
            return httpx.Response(
                400, json={"Message": "The product is used on an invoice and cannot be deleted"}
            )
        if self.products.pop(public_id, None) is None:
            return httpx.Response(404)
        return httpx.Response(200)

    # Invoice actions

    def add_action(self, public_id: str, **fields: Any) -> dict[str, Any]:
        action = {"ActionPublicId": public_id, "State": {"Stage": "Created"}, **fields}
        self.actions[public_id] = action
        return action

    def _create_action(self, request: httpx.Request, _: dict[str, str]) -> httpx.Response:
        body = json.loads(request.content)
        public_id = self.new_id("action")
        self.add_action(public_id, **body)
        return httpx.Response(200, json={"PublicId": public_id})

    def _update_action(self, request: httpx.Request, p: dict[str, str]) -> httpx.Response:
        action = self.actions.get(p["action_public_id"])
        if action is None:
            return httpx.Response(404)
        if action["State"]["Stage"] != "Created":
            return httpx.Response(400, json={"Message": "An attested invoice cannot be changed"})
        self.actions[p["action_public_id"]] = {
            **json.loads(request.content),
            "ActionPublicId": action["ActionPublicId"],
            "State": action["State"],
        }
        return httpx.Response(200)

    def _get_action(self, _: httpx.Request, p: dict[str, str]) -> httpx.Response:
        found = self.actions.get(p["action_public_id"])
        if found is None:
            return httpx.Response(404)
        debtor = self.debtors.get(found.get("DebtorPublicId", ""), None)
        body = {**found, "Debtor": debtor} if debtor else found
        return httpx.Response(200, json=body)

    def _delete_action(self, _: httpx.Request, p: dict[str, str]) -> httpx.Response:
        action = self.actions.get(p["action_public_id"])
        if action is None:
            return httpx.Response(404)
        if action["State"]["Stage"] != "Created":
            return httpx.Response(400, json={"Message": "An attested invoice cannot be deleted"})
        del self.actions[p["action_public_id"]]
        return httpx.Response(200)

    def _attest_action(self, _: httpx.Request, p: dict[str, str]) -> httpx.Response:
        action = self.actions.get(p["action_public_id"])
        if action is None:
            return httpx.Response(404)
        if action["State"]["Stage"] != "Created":
            return httpx.Response(400, json={"Message": "The invoice is already attested"})
        action["State"] = {"Stage": "Attested", "AttestedDate": "2026-03-04T10:00:00"}
        return httpx.Response(200)

    def _open_by_debtor(self, _: httpx.Request, p: dict[str, str]) -> httpx.Response:
        rows = [
            {
                "ActionPublicId": a["ActionPublicId"],
                "DebtorPublicId": a.get("DebtorPublicId"),
                "Stage": a["State"]["Stage"],
            }
            for a in self.actions.values()
            if a.get("DebtorPublicId") == p["debtor_public_id"]
        ]
        return httpx.Response(200, json=rows)

    # Creditors

    def add_creditor(self, public_id: str, **fields: Any) -> None:
        self.creditors[public_id] = {"CreditorPublicId": public_id, **fields}
        self.defaults[public_id] = {
            "CreditorPublicId": public_id,
            "DeliveryMethod": "Email",
            "InvoicePaymentTermsInDays": 20,
            "InvoiceFee": 29,
            "ReminderInvoiceFee": 60,
            "CurrencyCode": "SEK",
            "SendReminderInvoice": True,
        }

    def _get_creditor(self, _: httpx.Request, p: dict[str, str]) -> httpx.Response:
        found = self.creditors.get(p["creditor_public_id"])
        return httpx.Response(200, json=found) if found else httpx.Response(404)

    def _update_creditor(self, request: httpx.Request, _: dict[str, str]) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("CreditorPublicId") not in self.creditors:
            return httpx.Response(404)
        self.creditors[body["CreditorPublicId"]] = body
        return httpx.Response(200)

    def _get_defaults(self, _: httpx.Request, p: dict[str, str]) -> httpx.Response:
        found = self.defaults.get(p["creditor_public_id"])
        return httpx.Response(200, json=found) if found else httpx.Response(404)

    def _update_defaults(self, request: httpx.Request, _: dict[str, str]) -> httpx.Response:
        body = json.loads(request.content)
        self.defaults[body["CreditorPublicId"]] = body
        return httpx.Response(200)


# Running jobs


def make_billecta() -> BillectaClient:
    """The worker's client: bulk priority, no retries of its own (the job retries)."""
    return BillectaClient(
        base_url=BILLECTA_URL,
        authentication=BILLECTA_AUTH,
        max_retries=0,
        default_priority=Priority.BULK,
    )


def job_context(
    *,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    billecta: BillectaClient,
    redis: ArqRedis,
    job_try: int = 1,
    job_id: str = "test-job",
) -> dict[str, Any]:
    return {
        "settings": settings,
        "sessionmaker": sessionmaker,
        "billecta": billecta,
        "redis": redis,
        "job_try": job_try,
        "job_id": job_id,
    }


async def run_job(ctx: dict[str, Any], job: str, *args: Any, max_tries: int = 5) -> Any:
    """Call a job as arq would: again with the next `job_try` while it raises Retry."""
    for job_try in range(int(ctx.get("job_try", 1)), max_tries + 1):
        try:
            return await JOBS[job]({**ctx, "job_try": job_try}, *args)
        except Retry:
            if job_try == max_tries:
                raise
    raise AssertionError("unreachable")


async def run_batch(ctx: dict[str, Any], batch_id: int) -> dict[int, str]:
    """Run a batch's fan-out, then each unfinished log's job; answers result by object id."""
    await fan_out_task(ctx, batch_id)  # type: ignore[arg-type]
    async with ctx["sessionmaker"]() as session:
        batch = await session.get(IntegrationMonitorBatch, batch_id)
        assert batch is not None
        kind = KINDS[batch.task]
        logs = (
            await session.execute(
                select(IntegrationMonitorLog.id, IntegrationMonitorLog.object_id)
                .where(
                    IntegrationMonitorLog.batch_id == batch_id,
                    IntegrationMonitorLog.status.in_(("pending", "running")),
                )
                .order_by(IntegrationMonitorLog.id)
            )
        ).all()
    results: dict[int, str] = {}
    for log_id, object_id in logs:
        results[int(object_id)] = await run_job(
            ctx, kind.job, int(log_id), int(object_id), max_tries=kind.max_tries
        )
    return results


async def batch_and_logs(
    session: AsyncSession, batch_id: int
) -> tuple[IntegrationMonitorBatch, dict[int, IntegrationMonitorLog]]:
    batch = await session.get(IntegrationMonitorBatch, batch_id, populate_existing=True)
    assert batch is not None
    logs = (
        await session.scalars(
            select(IntegrationMonitorLog)
            .where(IntegrationMonitorLog.batch_id == batch_id)
            .execution_options(populate_existing=True)
        )
    ).all()
    return batch, {int(log.object_id or 0): log for log in logs}


# Mirror rows


async def add_creditor(
    session: AsyncSession,
    creditor_id: int = 1,
    public_id: str | None = "cred-A",
    *,
    name: str | None = None,
    **fields: Any,
) -> Creditor:
    creditor = Creditor(
        id=creditor_id,
        name=name or f"Creditor {creditor_id}",
        creditorpublicid=public_id,
        **fields,
    )
    session.add(creditor)
    await session.flush()
    return creditor


async def add_debtor(
    session: AsyncSession,
    debtor_id: int,
    *,
    creditors: tuple[int, ...] = (1,),
    person: bool = False,
    **fields: Any,
) -> Debtor:
    values: dict[str, Any] = {"name": f"Debtor {debtor_id}", "email": f"d{debtor_id}@example.se"}
    values.update(fields)
    if person:
        session.add(Person(id=debtor_id + 50_000, firstname="Anna", lastname="Svensson"))
        await session.flush()
        values.setdefault("person", debtor_id + 50_000)
    else:
        session.add(
            Company(id=debtor_id + 60_000, name=f"Company {debtor_id}", orgno="556000-0000")
        )
        await session.flush()
        values.setdefault("company", debtor_id + 60_000)
    debtor = Debtor(id=debtor_id, **values)
    session.add(debtor)
    await session.flush()
    for n, creditor_id in enumerate(creditors):
        session.add(CreditorDebtor(id=debtor_id * 10 + n, creditor=creditor_id, debtor=debtor_id))
    await session.flush()
    return debtor


async def add_article(
    session: AsyncSession,
    article_id: int,
    *,
    creditors: tuple[int, ...] = (1,),
    **fields: Any,
) -> Article:
    values: dict[str, Any] = {
        "name": f"Article {article_id}",
        "articlenumber": f"A-{article_id}",
        "unitprice": Decimal("100.00"),
        "vat": Decimal(25),
        "unit": "st",
    }
    values.update(fields)
    article = Article(id=article_id, **values)
    session.add(article)
    await session.flush()
    for n, creditor_id in enumerate(creditors):
        session.add(
            CreditorArticle(id=article_id * 10 + n, creditor=creditor_id, article=article_id)
        )
    await session.flush()
    return article


async def add_order(
    session: AsyncSession,
    order_id: int,
    *,
    creditor: int = 1,
    debtor: int,
    rows: list[dict[str, Any]],
    **fields: Any,
) -> Order:
    fields.setdefault("orderstatus", "created")
    order = Order(id=order_id, creditor=creditor, debtor=debtor, **fields)
    session.add(order)
    await session.flush()
    for n, row in enumerate(rows, start=1):
        values = {"rowtype": "standard", "position": n, "quantity": Decimal(1), **row}
        session.add(OrderRow(id=order_id * 100 + n, order=order_id, **values))
    await session.flush()
    return order


async def drain_worker() -> Any:
    """Run a real arq worker in burst mode with the task functions until the queue is empty."""
    from billecta_gateway.worker import create_worker

    worker = create_worker(
        make_settings(), burst=True, poll_delay=0.02, functions=TASK_FUNCTIONS, cron_jobs=[]
    )
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def start_debtor_task(
    session: AsyncSession, ids: list[int], missing: list[int] | None = None
) -> int:
    """An upsert-debtors batch over `ids` (its fan-out not run), committed; its id."""
    from billecta_gateway.debtors.tasks import UPSERT_DEBTOR
    from billecta_gateway.queue import AfterCommit
    from billecta_gateway.tasks.contract import start_task

    batch_id = await start_task(
        session,
        kind=UPSERT_DEBTOR,
        title="Upsert debtors in Billecta",
        created_by="anna",
        object_ids=ids,
        missing_ids=missing or [],
        jobs=AfterCommit(),
    )
    await session.commit()
    return batch_id


async def job_status(redis: ArqRedis, job_id: str) -> Any:
    """arq's status of a job on the object queue."""
    from arq.jobs import Job

    return await Job(job_id, redis, _queue_name=make_settings().arq_queue_name).status()
