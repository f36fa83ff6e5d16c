"""What the end-to-end tests share: the running stack, waiting by polling, and a `World` that
pushes Lime objects, runs tasks and reads both systems over HTTP only."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from arq.connections import ArqRedis
from arq.worker import Worker
from sqlalchemy.ext.asyncio import AsyncEngine

from billecta_gateway.billecta.routes import ROUTES
from billecta_gateway.config import Settings

SEED_CREDITOR_PUBLIC_ID = "e2e0c0de-0000-4000-8000-000000000001"
DEFAULT_TIMEOUT = 20.0
T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    within: float = DEFAULT_TIMEOUT,
    interval: float = 0.1,
    what: str = "the condition",
) -> T:
    """Poll `check` until it answers something truthy (returned); fail after `within` seconds
    with the last answer in the message."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval)


def money(value: Any) -> Decimal:
    """A JSON amount (number or string) as an exact Decimal, for comparisons."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def minor(view: dict[str, Any] | None) -> int:
    """The minor units of a Billecta AmountView (0 when absent)."""
    return int((view or {}).get("Value") or 0)


@dataclass
class Stack:
    """The running stack: HTTP clients for the gateway (with the Lime key and the prefix) and
    the sandbox, and the Redis and database the gateway uses (for quiescence and cleaning)."""

    settings: Settings
    gateway: httpx.AsyncClient
    sandbox: httpx.AsyncClient
    gateway_url: str
    sandbox_url: str
    sandbox_auth: str
    redis: ArqRedis
    engine: AsyncEngine
    worker: Worker
    worker_task: asyncio.Task[Any]

    async def flush_webhooks(self, wait: float = 30.0) -> dict[str, Any]:
        """Wait until the sandbox has no delivery pending or in flight."""
        response = await self.sandbox.post("/_sandbox/webhooks/flush", params={"wait": wait})
        assert response.status_code == 200, f"webhooks not flushed: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def _unprocessed_events(self) -> int:
        response = await self.gateway.get("/webhook-events", params={"status": "received"})
        assert response.status_code == 200, response.text
        return len(response.json()["items"])

    async def _queue_busy(self) -> list[str]:
        """Jobs due within a second, and jobs the worker is running."""
        horizon = (time.time() + 1) * 1000
        due = await self.redis.zrangebyscore(self.settings.arq_queue_name, "-inf", horizon)
        running = [job_id for job_id, task in self.worker.tasks.items() if not task.done()]
        return [job.decode() for job in due] + [f"running {job_id}" for job_id in running]

    async def quiesce(self, *, within: float = 30.0, strict: bool = True) -> None:
        """Wait until nothing moves: webhooks delivered, the inbox processed (or waiting for a
        later retry), and no job due or running. Twice in a row, since one step feeds the next."""
        state: dict[str, Any] = {}

        async def quiet_twice() -> bool:
            for _ in range(2):
                await self.flush_webhooks(wait=within)
                state["unprocessed events"] = await self._unprocessed_events()
                state["busy jobs"] = await self._queue_busy()
                if state["unprocessed events"] or state["busy jobs"]:
                    return False
            return True

        try:
            await eventually(quiet_twice, within=within, interval=0.05, what="a quiet stack")
        except AssertionError:
            if strict:
                raise AssertionError(f"the stack did not become quiet: {state}") from None

    # The sandbox, as Billecta and through its control API

    async def billecta(self, route: str, body: Any = None, **params: str) -> Any:
        """Call the sandbox as Billecta does (route-table name and path parameters)."""
        spec = ROUTES[route]
        response = await self.sandbox.request(
            spec.method,
            spec.url(**params),
            json=body,
            headers={"Authorization": self.sandbox_auth},
        )
        assert response.status_code == 200, f"{route}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    async def control(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        response = await self.sandbox.request(
            method, f"/_sandbox{path}", json=body, params=query or None
        )
        assert response.is_success, f"{method} /_sandbox{path}: {response.text}"
        return response.json()

    async def billecta_requests(self, route: str) -> list[dict[str, Any]]:
        """The requests the sandbox received for one route (oldest first)."""
        found: list[dict[str, Any]] = (await self.control("GET", "/requests", route=route))[
            "requests"
        ]
        return found

    async def invoice_action(self, action_public_id: str) -> dict[str, Any]:
        view: dict[str, Any] = await self.billecta(
            "get_invoice_action", action_public_id=action_public_id
        )
        return view


_ids = itertools.count(1_000)


@dataclass
class Invoiced:
    """An order turned into a sent invoice, as both systems know it."""

    order_id: int
    invoice_id: int
    action_public_id: str
    ocr: str
    amount: Decimal
    invoice: dict[str, Any]


@dataclass
class World:
    """One test's Lime data: a creditor linked to a fresh sandbox creditor, a debtor (with a
    person) related to it, and an article related to it, ready for orders."""

    stack: Stack
    creditor_public_id: str
    creditor_id: int = 0
    debtor_id: int = 0
    person_id: int = 0
    creditordebtor_id: int = 0
    article_id: int = 0
    creditorarticle_id: int = 0
    debtor_phone: str = "+46701234567"

    @classmethod
    async def start(cls, stack: Stack, *, push: bool = True) -> World:
        public_id = str(uuid.uuid4())
        await stack.control(
            "POST", "/creditors", {"public_id": public_id, "name": "E2E Fastigheter AB"}
        )
        world = cls(stack=stack, creditor_public_id=public_id)
        world.creditor_id, world.person_id, world.debtor_id = (cls.new_id() for _ in range(3))
        world.creditordebtor_id, world.article_id, world.creditorarticle_id = (
            cls.new_id() for _ in range(3)
        )
        if push:
            await world.push_parties()
        return world

    @staticmethod
    def new_id() -> int:
        return next(_ids)

    @property
    def gateway(self) -> httpx.AsyncClient:
        return self.stack.gateway

    # Lime objects

    async def put(self, limetype: str, object_id: int, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.gateway.put(f"/limeobjects/{limetype}/{object_id}", json=body)
        assert response.status_code in (200, 201), f"PUT {limetype}/{object_id}: {response.text}"
        stored: dict[str, Any] = response.json()
        assert stored["_id"] == object_id
        return stored

    async def get(self, limetype: str, object_id: int) -> dict[str, Any]:
        response = await self.gateway.get(f"/limeobjects/{limetype}/{object_id}")
        assert response.status_code == 200, f"GET {limetype}/{object_id}: {response.text}"
        found: dict[str, Any] = response.json()
        return found

    async def find(self, limetype: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        response = await self.gateway.get(
            f"/limeobjects/{limetype}", params={"q": json.dumps(query), "limit": 1000}
        )
        assert response.status_code == 200, f"GET {limetype}?q=: {response.text}"
        objects: list[dict[str, Any]] = response.json()["objects"]
        return objects

    async def find_by(self, limetype: str, key: str, value: Any) -> list[dict[str, Any]]:
        return await self.find(limetype, {"key": key, "op": "=", "exp": value})

    async def feed(
        self,
        limetype: str,
        changed_after: int = 0,
        *,
        until: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """The whole change feed of a limetype after `changed_after` (every page); with `until`,
        read again until it holds. The feed stops below the oldest transaction still running
        anywhere in the PostgreSQL cluster, so what was just written may show a moment later
        when other work shares the server."""

        async def read() -> dict[str, Any] | None:
            found = await self._feed_once(limetype, changed_after)
            return found if until is None or until(found) else None

        return await self.eventually(read, DEFAULT_TIMEOUT, f"the {limetype} change feed")

    async def _feed_once(self, limetype: str, changed_after: int) -> dict[str, Any]:
        objects: list[dict[str, Any]] = []
        deleted: list[dict[str, Any]] = []
        last = changed_after
        while True:
            response = await self.gateway.get(
                f"/limeobjects/{limetype}", params={"changed_after": last, "limit": 1000}
            )
            assert response.status_code == 200, response.text
            page = response.json()
            objects += page["objects"]
            deleted += page["deleted"]
            if page["last_change_no"] == last or (not page["objects"] and not page["deleted"]):
                return {"objects": objects, "deleted": deleted, "last_change_no": last}
            last = page["last_change_no"]

    async def push_parties(self) -> None:
        """Creditor, person, debtor, creditordebtor, article and creditorarticle, as Lime
        pushes them."""
        creditor = await self.put(
            "creditor",
            self.creditor_id,
            {
                "name": "E2E Fastigheter AB",
                "orgno": "556677-8899",
                "creditorpublicid": self.creditor_public_id,
            },
        )
        assert creditor["creditorpublicid"] == self.creditor_public_id
        await self.put(
            "person",
            self.person_id,
            {
                "firstname": "Anna",
                "lastname": "Andersson",
                "email": "anna@example.com",
                "phone": self.debtor_phone,
                "personalnumber": "19800101-1234",
            },
        )
        await self.put(
            "debtor",
            self.debtor_id,
            {
                "name": "Anna Andersson",
                "debtortype": "private",
                "email": "anna@example.com",
                "phone": self.debtor_phone,
                "address": "Storgatan 1",
                "zipcode": "111 22",
                "city": "Stockholm",
                "countrycode": "SE",
                "person": self.person_id,
            },
        )
        await self.put(
            "creditordebtor",
            self.creditordebtor_id,
            {"creditor": self.creditor_id, "debtor": self.debtor_id},
        )
        await self.put(
            "article",
            self.article_id,
            {
                "name": "Hyra",
                "articlenumber": f"HYRA-{self.article_id}",
                "articletype": "standard",
                "unitprice": "1000.00",
                "vat": 25,
                "unit": "st",
            },
        )
        await self.put(
            "creditorarticle",
            self.creditorarticle_id,
            {"creditor": self.creditor_id, "article": self.article_id},
        )

    async def push_order(
        self, *, unitprice: str = "1000.00", quantity: int = 1, deliverymethod: str = "email"
    ) -> int:
        """An order with one article row and one message row; 25 % VAT on top of the price."""
        order_id = self.new_id()
        await self.put(
            "order",
            order_id,
            {
                "creditor": self.creditor_id,
                "debtor": self.debtor_id,
                "deliverymethod": deliverymethod,
                "currency": "SEK",
                "ourreference": "E2E",
                "yourreference": f"Order {order_id}",
            },
        )
        await self.put(
            "orderrow",
            self.new_id(),
            {
                "order": order_id,
                "article": self.article_id,
                "rowtype": "standard",
                "position": 1,
                "quantity": quantity,
                "unitprice": unitprice,
            },
        )
        await self.put(
            "orderrow",
            self.new_id(),
            {"order": order_id, "rowtype": "message", "position": 2, "description": "Tack!"},
        )
        return order_id

    # Tasks and the integration monitor

    async def task(
        self, path: str, ids: list[int], title: str, body: dict[str, Any] | None = None
    ) -> int:
        """Start a `/task/...` over these ids (a query filter, unless `body` is given);
        answers its integration-monitor batch id."""
        started = time.monotonic()
        query_filter = {"key": "_id", "op": "IN", "exp": ids}
        response = await self.gateway.post(
            f"/task/{path}",
            json={"integration_monitor_batch_title": title}
            | (body if body is not None else {"query_filter": query_filter}),
        )
        assert response.status_code == 200, f"task {path}: {response.text}"
        assert time.monotonic() - started < 5, "a task endpoint must answer at once"
        body = response.json()
        assert body["status"] == "success"
        assert body["task_id"] == str(body["integration_monitor_batch_id"])
        batch_id: int = body["integration_monitor_batch_id"]
        return batch_id

    async def finished_batch(
        self, batch_id: int, within: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        """The batch once it is closed (`ok`, `donewitherror` or `error`)."""

        async def closed() -> dict[str, Any] | None:
            response = await self.gateway.get(f"/integration-monitor/batches/{batch_id}")
            assert response.status_code == 200, response.text
            batch: dict[str, Any] = response.json()
            return batch if batch["status"] != "running" else None

        return await eventually(closed, within=within, what=f"batch {batch_id} to close")

    async def batch_logs(self, batch_id: int) -> list[dict[str, Any]]:
        response = await self.gateway.get(f"/integration-monitor/batches/{batch_id}/logs")
        assert response.status_code == 200, response.text
        logs: list[dict[str, Any]] = response.json()["items"]
        return logs

    async def run_task_ok(
        self,
        path: str,
        ids: list[int],
        title: str,
        body: dict[str, Any] | None = None,
        within: float = DEFAULT_TIMEOUT,
    ) -> dict[str, Any]:
        """Run a task to its end and check that every log is `ok`."""
        batch_id = await self.task(path, ids, title, body)
        batch = await self.finished_batch(batch_id, within)
        logs = await self.batch_logs(batch_id)
        assert batch["status"] == "ok", (batch, logs)
        assert batch["title"] == title
        assert (batch["total"], batch["done"], batch["failed"]) == (len(ids), len(ids), 0)
        assert sorted(log["object_id"] for log in logs) == sorted(ids)
        assert {log["status"] for log in logs} == {"ok"}
        return batch

    # Invoices

    async def invoice_by_action(self, action_public_id: str) -> dict[str, Any] | None:
        found = await self.find_by("invoice", "actionpublicid", action_public_id)
        assert len(found) <= 1, f"two invoices with actionpublicid {action_public_id}: {found}"
        return found[0] if found else None

    async def wait_invoice(
        self,
        action_public_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        what: str,
        within: float = DEFAULT_TIMEOUT,
    ) -> dict[str, Any]:
        """The mirrored invoice once `predicate` holds for it."""

        async def check() -> dict[str, Any] | None:
            invoice = await self.invoice_by_action(action_public_id)
            return invoice if invoice is not None and predicate(invoice) else None

        return await self.eventually(check, within, f"invoice {action_public_id} {what}")

    async def wait_status(
        self, action_public_id: str, status: str, within: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        return await self.wait_invoice(
            action_public_id,
            lambda i: i["invoicestatus"] == status,
            what=f"to be {status}",
            within=within,
        )

    async def wait_object(
        self,
        limetype: str,
        object_id: int,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        what: str,
        within: float = DEFAULT_TIMEOUT,
    ) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            obj = await self.get(limetype, object_id)
            return obj if predicate(obj) else None

        return await self.eventually(check, within, f"{limetype} {object_id} {what}")

    async def eventually(
        self, check: Callable[[], Awaitable[T | None]], within: float, what: str
    ) -> T:
        """`eventually`, naming the world's inbox events that are not processed on failure."""
        try:
            return await eventually(check, within=within, what=what)
        except AssertionError as exc:
            waiting = [
                (e["id"], e["event_type"], e["status"], e["attempts"], e["last_error"])
                for e in await self.inbox()
                if e["status"] != "processed"
            ]
            raise AssertionError(f"{exc}; inbox events not processed: {waiting}") from None

    async def invoice_order(self, order_id: int, *, within: float = DEFAULT_TIMEOUT) -> Invoiced:
        """Upsert and attest the order through the task; wait for its invoice to be `sent`."""
        await self.run_task_ok(
            "upsert-attest-orders-in-billecta", [order_id], "Upsert & attest orders in Billecta"
        )
        order = await self.get("order", order_id)
        assert order["orderstatus"] == "attested", order
        assert order["billecta_error_message"] is None
        action_public_id = order["actionpublicid"]
        assert action_public_id
        invoice = await self.wait_status(action_public_id, "sent", within=within)
        assert invoice["order"] == order_id
        return Invoiced(
            order_id=order_id,
            invoice_id=invoice["_id"],
            action_public_id=action_public_id,
            ocr=invoice["ocr"],
            amount=money(invoice["invoice_amount"]),
            invoice=invoice,
        )

    async def completed_order(self, invoiced: Invoiced) -> dict[str, Any]:
        """The invoice's order once `completed` (its invoice is paid)."""
        await self.settle()
        return await self.wait_object(
            "order",
            invoiced.order_id,
            lambda o: o["orderstatus"] == "completed",
            what="to be completed",
        )

    async def new_invoice(self, unitprice: str = "1000.00") -> Invoiced:
        return await self.invoice_order(await self.push_order(unitprice=unitprice))

    async def pay(self, ocr: str, amount: Decimal | str | None = None) -> dict[str, Any]:
        """A bank payment by OCR arrives in Billecta (no amount: what is owed)."""
        body: dict[str, Any] = {"ocr": ocr}
        if amount is not None:
            body["amount"] = str(amount)
        result: dict[str, Any] = await self.stack.control("POST", "/payments/incoming", body)
        return result

    async def payments_of(self, invoice_id: int) -> list[dict[str, Any]]:
        return await self.find_by("payment", "invoice", invoice_id)

    async def settle(self) -> None:
        await self.stack.quiesce()

    async def inbox(self, **params: Any) -> list[dict[str, Any]]:
        """The gateway's webhook inbox for this world's creditor (newest first)."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {"creditorpublicid": self.creditor_public_id, "limit": 500, **params}
            if cursor is not None:
                query["cursor"] = cursor
            response = await self.gateway.get("/webhook-events", params=query)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items
