"""The sandbox's in-memory Billecta: the store of records (``records.py``) with the indexes
every route needs, public ids, the clock, OCR numbers and the outbox of webhook events.

Every lookup a route needs is a dictionary hit or a bisect on a sorted list, so a 10,000-debtor
run costs the same per request as the first one. Handlers mutate the store synchronously (no
``await`` in between), which makes each request atomic on the event loop.
"""

from __future__ import annotations

import bisect
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from billecta_gateway.sandbox.config import SandboxConfig, SeedCreditor
from billecta_gateway.sandbox.records import (
    Creditor,
    DebtCollection,
    Debtor,
    Invoice,
    Outgoing,
    Product,
    Reminder,
    StoredFile,
    SwishRequest,
    Unhandled,
)

__all__ = [
    "Clock",
    "Creditor",
    "DebtCollection",
    "Debtor",
    "Ids",
    "Invoice",
    "Outgoing",
    "Product",
    "Reminder",
    "SandboxError",
    "Store",
    "StoredFile",
    "SwishRequest",
    "Unhandled",
    "bad_request",
    "make_ocr",
    "not_found",
]


class SandboxError(Exception):
    """A Billecta-style refusal: answered with ``status`` and ``{"Message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> SandboxError:
    return SandboxError(400, message)


def not_found(message: str) -> SandboxError:
    return SandboxError(404, message)


class Ids:
    """Public ids: uuid5 of a counter under the configured seed, or random uuid4s."""

    def __init__(self, seed: str | None) -> None:
        self._namespace = (
            uuid.uuid5(uuid.NAMESPACE_URL, f"billecta-sandbox:{seed}") if seed else None
        )
        self._counter = 0
        self._actions: set[str] = set()

    def new(self, kind: str) -> str:
        self._counter += 1
        if self._namespace is None:
            return str(uuid.uuid4())
        return str(uuid.uuid5(self._namespace, f"{kind}:{self._counter}"))

    def action(self) -> str:
        """An ActionPublicId: Billecta's are numeric strings (e.g. ``7545769088``), not GUIDs."""
        while True:
            candidate = str(7_000_000_000 + uuid.UUID(self.new("action")).int % 2_999_999_999)
            if candidate not in self._actions:
                self._actions.add(candidate)
                return candidate

    def token(self) -> str:
        """A Swish payment request token (32 upper-case hex digits)."""
        return self.new("swish").replace("-", "").upper()


class Clock:
    """Billecta's clock: real time in the business time zone, plus what tests advanced it by."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(self.tz) + self.offset

    def today(self) -> date:
        return self.now().date()

    def local_date(self, value: datetime) -> date:
        return value.date() if value.tzinfo is None else value.astimezone(self.tz).date()


def luhn_digit(digits: str) -> str:
    """The mod-10 (Luhn) check digit of ``digits``."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def make_ocr(number: str) -> str:
    """A Swedish OCR reference from an invoice number: digits, length digit, check digit."""
    digits = "".join(ch for ch in number if ch.isdigit()) or "0"
    with_length = digits + str((len(digits) + 2) % 10)
    return with_length + luhn_digit(with_length)


class Store:
    """All sandbox data with the indexes every route needs."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.ids = Ids(config.seed)
        self.clock = Clock(ZoneInfo(config.timezone))
        self.random = random.Random(config.seed)  # noqa: S311 - simulation, not a secret
        self.creditors: dict[str, Creditor] = {}
        self.debtors: dict[str, Debtor] = {}
        self.debtor_by_external: dict[tuple[str, str], list[str]] = {}
        self.products: dict[str, Product] = {}
        self.product_by_external: dict[tuple[str, str], list[str]] = {}
        self.product_usage: dict[str, int] = {}
        self.invoices: dict[str, Invoice] = {}
        self.invoices_by_creditor: dict[str, dict[str, None]] = {}
        self.invoices_by_debtor: dict[str, dict[str, None]] = {}
        self.open_by_creditor: dict[str, dict[str, None]] = {}
        self.open_by_debtor: dict[str, dict[str, None]] = {}
        self.closed_by_creditor: dict[str, list[tuple[datetime, int, str]]] = {}
        self.by_number: dict[tuple[str, str], tuple[str, str]] = {}
        self.by_ocr: dict[str, tuple[str, str]] = {}
        self.reminders: dict[str, Reminder] = {}
        self.debt_collections: dict[str, DebtCollection] = {}
        self.dc_by_creditor: dict[str, dict[str, None]] = {}
        self.payments_by_creditor: dict[str, list[tuple[datetime, int, dict[str, Any]]]] = {}
        self.unhandled: dict[str, Unhandled] = {}
        self.open_unhandled_by_creditor: dict[str, dict[str, None]] = {}
        self.swish: dict[str, SwishRequest] = {}
        self.files: dict[str, StoredFile] = {}
        self.outbox: list[Outgoing] = []
        self._seq = 0
        for seed in config.creditors:
            self.add_creditor(seed)

    # bookkeeping

    def seq(self) -> int:
        self._seq += 1
        return self._seq

    def emit(
        self, event_type: str, creditor_id: str | None, content: Any, secondary: Any = None
    ) -> None:
        """Queue a webhook; the app hands the outbox to the dispatcher after each request."""
        self.outbox.append(Outgoing(event_type, creditor_id, content, secondary))

    def drain(self) -> list[Outgoing]:
        out, self.outbox = self.outbox, []
        return out

    # creditors

    def add_creditor(self, seed: SeedCreditor) -> Creditor:
        if seed.public_id in self.creditors:
            raise bad_request(f"Creditor {seed.public_id} already exists")
        view = {
            "CreditorPublicId": seed.public_id,
            "OrgNo": seed.org_no,
            "Name": seed.name,
            "Address": "Storgatan 1",
            "ZipCode": "111 22",
            "City": "Stockholm",
            "CountryCode": "SE",
            "Phone": "+4681234567",
            "VatNumber": "SE" + "".join(c for c in seed.org_no if c.isdigit()) + "01",
            "CreditorBankInfo": {
                "UsesClientFund": False,
                "PaymentMethod": "BankGiro",
                "BankgiroNo": "5050-1055",
            },
            "CreditorContact": {
                "FirstName": "Sandy",
                "LastName": "Box",
                "Email": "billing@sandbox.example",
                "Phone": "+4681234567",
            },
            "IsEnabled": True,
            "UseCentRounding": False,
            "UsesClientFundForInvoicing": False,
        }
        config = {
            "CreditorPublicId": seed.public_id,
            "StartDebtCollectionActionLevel": "Reminders",
            "EndDebtCollectionActionLevel": "DebtCollection",
            "DeliveryMethod": "Email",
            "CommunicationLanguage": "SV",
            "PaymentTermsInDays": 30,
            "DebtCollectionPaymentTermsInDays": 10,
            "InterestTermsInDays": 30,
            "InterestPercentage": 8,
            "InvoicePaymentTermsInDays": 30,
            "InterestType": "AboveEffectiveReference",
            "InterestStartInDaysAfterDueDate": 0,
            "OurReference": "Sandbox",
            "NumberOfReminders": 1,
            "CurrencyCode": self.config.currency,
            "SendInvoiceToDebtCollectionAfterDays": 30,
            "SendInvoiceToDebtCollection": False,
            "IncludePdfInEmail": True,
            "SendReminderInvoice": True,
            "SendReminderInvoiceDaysAfterDueDate": 10,
            "ReminderInvoiceFee": 60,
            "InvoiceFee": 0,
            "ReminderInvoicePaymentTermsInDays": 10,
            "SendAsPriorityMail": False,
            "SendWithColor": False,
        }
        creditor = Creditor(seed.public_id, view, config, seed.next_invoice_number)
        self.creditors[seed.public_id] = creditor
        return creditor

    def creditor(self, public_id: str | None, *, status: int = 404) -> Creditor:
        found = self.creditors.get(public_id or "")
        if found is None:
            raise SandboxError(status, f"Creditor {public_id} was not found")
        return found

    def next_invoice_number(self, creditor: Creditor) -> str:
        number = creditor.next_number
        creditor.next_number += 1
        creditor.view["NextInvoiceNumber"] = creditor.next_number
        return str(number)

    # lookups

    def debtor(self, public_id: str | None, *, status: int = 404) -> Debtor:
        found = self.debtors.get(public_id or "")
        if found is None:
            raise SandboxError(status, f"Debtor {public_id} was not found")
        return found

    def product(self, public_id: str | None, *, status: int = 404) -> Product:
        found = self.products.get(public_id or "")
        if found is None:
            raise SandboxError(status, f"Product {public_id} was not found")
        return found

    def invoice(self, public_id: str | None, *, status: int = 404) -> Invoice:
        found = self.invoices.get(public_id or "")
        if found is None:
            raise SandboxError(status, f"Invoice action {public_id} was not found")
        return found

    def debt_collection(self, public_id: str | None, *, status: int = 404) -> DebtCollection:
        found = self.debt_collections.get(public_id or "")
        if found is None:
            raise SandboxError(status, f"Debt collection action {public_id} was not found")
        return found

    # external-id indexes

    @staticmethod
    def index_add(
        index: dict[tuple[str, str], list[str]], key: tuple[str, str], value: str
    ) -> None:
        if key[1]:
            index.setdefault(key, []).append(value)

    @staticmethod
    def index_remove(
        index: dict[tuple[str, str], list[str]], key: tuple[str, str], value: str
    ) -> None:
        ids = index.get(key)
        if ids and value in ids:
            ids.remove(value)
            if not ids:
                del index[key]

    # invoice indexes

    def index_invoice(self, invoice: Invoice) -> None:
        creditor, debtor, action = invoice.creditor_id, invoice.debtor_id, invoice.public_id
        self.invoices[action] = invoice
        self.invoices_by_creditor.setdefault(creditor, {})[action] = None
        self.invoices_by_debtor.setdefault(debtor, {})[action] = None
        self.open_by_creditor.setdefault(creditor, {})[action] = None
        self.open_by_debtor.setdefault(debtor, {})[action] = None

    def unindex_invoice(self, invoice: Invoice) -> None:
        action = invoice.public_id
        self.invoices.pop(action, None)
        for index, key in (
            (self.invoices_by_creditor, invoice.creditor_id),
            (self.invoices_by_debtor, invoice.debtor_id),
            (self.open_by_creditor, invoice.creditor_id),
            (self.open_by_debtor, invoice.debtor_id),
        ):
            index.get(key, {}).pop(action, None)

    def close_invoice(self, invoice: Invoice, stage: str) -> None:
        """Move an invoice to a closed stage (``Completed``/``Cancelled``) and its lists."""
        now = self.clock.now()
        invoice.stage = stage
        invoice.closed_at = now
        invoice.next_event = None
        invoice.next_event_date = None
        self.open_by_creditor.get(invoice.creditor_id, {}).pop(invoice.public_id, None)
        self.open_by_debtor.get(invoice.debtor_id, {}).pop(invoice.public_id, None)
        closed = self.closed_by_creditor.setdefault(invoice.creditor_id, [])
        bisect.insort(closed, (now, self.seq(), invoice.public_id))

    def closed_between(self, creditor_id: str, start: datetime, end: datetime) -> list[str]:
        closed = self.closed_by_creditor.get(creditor_id, [])
        low = bisect.bisect_left(closed, (start, -1, ""))
        high = bisect.bisect_left(closed, (end, -1, ""))
        return [action for _, _, action in closed[low:high]]

    def register_number(
        self, creditor_id: str, number: str, ocr: str, kind: str, ident: str
    ) -> None:
        self.by_number[(creditor_id, number)] = (kind, ident)
        self.by_ocr[ocr] = (kind, ident)

    def add_file(self, kind: str, owner_id: str, file_name: str) -> str:
        file_id = self.ids.new("file")
        self.files[file_id] = StoredFile(file_id, kind, owner_id, file_name)
        return file_id

    # payments

    def add_incoming_payment(self, creditor_id: str, view: dict[str, Any], when: datetime) -> None:
        payments = self.payments_by_creditor.setdefault(creditor_id, [])
        bisect.insort(payments, (when, self.seq(), view), key=lambda item: (item[0], item[1]))

    def payments_between(
        self, creditor_id: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        payments = self.payments_by_creditor.get(creditor_id, [])
        low = bisect.bisect_left(payments, (start, -1), key=lambda item: (item[0], item[1]))
        high = bisect.bisect_left(payments, (end, -1), key=lambda item: (item[0], item[1]))
        return [view for _, _, view in payments[low:high]]

    def add_unhandled(self, payment: Unhandled) -> None:
        self.unhandled[payment.public_id] = payment
        self.open_unhandled_by_creditor.setdefault(payment.creditor_id, {})[payment.public_id] = (
            None
        )

    def settle_unhandled(self, payment: Unhandled, state: str) -> None:
        payment.state = state
        self.open_unhandled_by_creditor.get(payment.creditor_id, {}).pop(payment.public_id, None)

    # events

    def event(
        self,
        event_type: str,
        title: str,
        *,
        content: str | None = None,
        creditor_id: str | None = None,
        action_id: str | None = None,
        action_type: str | None = None,
        when: datetime | None = None,
        occurred: bool = True,
    ) -> dict[str, Any]:
        """A CommonActionEventView row (the debtor variant drops the last three fields)."""
        row: dict[str, Any] = {
            "Title": title,
            "Content": content,
            "EventDate": (when or self.clock.now()).isoformat(),
            "EventBy": "Billecta",
            "Reference": None,
            "EventType": event_type,
            "IsPublic": True,
            "HasOccured": occurred,
            "EventPublicId": self.ids.new("event"),
        }
        if action_id is not None:
            row |= {
                "CreditorPublicId": creditor_id,
                "ActionPublicId": action_id,
                "ActionType": action_type,
            }
        return row
