"""The sandbox's records: what it keeps of each Billecta object (amounts in minor units)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class Creditor:
    public_id: str
    view: dict[str, Any]
    config: dict[str, Any]
    next_number: int


@dataclass(slots=True)
class Debtor:
    public_id: str
    creditor_id: str
    view: dict[str, Any]
    created: datetime
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Product:
    public_id: str
    creditor_id: str
    view: dict[str, Any]


@dataclass(slots=True)
class Invoice:
    """An invoice action; amounts in minor units, ``current`` is what is still owed."""

    public_id: str
    creditor_id: str
    debtor_id: str
    entry: dict[str, Any]
    action_type: str
    created: datetime
    currency: str
    records: list[dict[str, Any]]
    invoiced: int
    vat: int
    invoice_date: datetime
    due_date: datetime
    product_ids: list[str]
    paid: int = 0
    credited: int = 0
    written_off: int = 0
    fees: int = 0
    stage: str = "Created"
    attested_at: datetime | None = None
    sent_at: datetime | None = None
    closed_at: datetime | None = None
    disputed_at: datetime | None = None
    reminder_sent_at: datetime | None = None
    sent_to_dc_at: datetime | None = None
    paused: bool = False
    next_event: str | None = None
    next_event_date: datetime | None = None
    invoice_number: str | None = None
    ocr: str | None = None
    file_id: str | None = None
    dc_id: str | None = None
    reminder_ids: list[str] = field(default_factory=list)
    crediting_source: str | None = None
    credit_invoice_ids: list[str] = field(default_factory=list)
    swish_token: str | None = None
    due_marked: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def current(self) -> int:
        return self.invoiced + self.fees - self.paid - self.credited - self.written_off

    @property
    def is_open(self) -> bool:
        return self.stage not in ("Completed", "Cancelled")

    @property
    def is_attested(self) -> bool:
        return self.attested_at is not None


@dataclass(slots=True)
class Reminder:
    public_id: str
    source_id: str
    creditor_id: str
    created: datetime
    fee: int
    delivery_method: str | None
    invoice_number: str
    ocr: str
    file_id: str
    invoice_date: datetime
    due_date: datetime
    payment_terms: int


@dataclass(slots=True)
class DebtCollection:
    public_id: str
    creditor_id: str
    debtor_id: str
    source_id: str
    entry: dict[str, Any]
    created: datetime
    currency: str
    debt: int
    fee: int
    invoice_number: str
    ocr: str
    file_id: str
    due_date: datetime
    interest: int = 0
    paid: int = 0
    stage: str = "DebtCollectionInvoiceSent"
    attested_at: datetime | None = None
    invoice_sent_at: datetime | None = None
    sent_to_bailiff_at: datetime | None = None
    closed_at: datetime | None = None
    next_event: str | None = None
    next_event_date: datetime | None = None
    reminders_sent: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def current(self) -> int:
        return self.debt + self.fee + self.interest - self.paid

    @property
    def is_open(self) -> bool:
        return self.stage not in ("Completed", "Cancelled")


@dataclass(slots=True)
class Unhandled:
    public_id: str
    creditor_id: str
    amount: int
    currency: str
    payment_date: datetime
    kind: str
    reference: str | None
    sender_name: str | None
    debtor_id: str | None = None
    overpayment_details: dict[str, Any] | None = None
    state: str = "Unhandled"
    created_by: str = "Billecta"


@dataclass(slots=True)
class SwishRequest:
    token: str
    action_id: str
    phone: str
    message: str | None
    created: datetime
    amount: int
    currency: str
    status: str = "Created"
    paid_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(slots=True)
class StoredFile:
    public_id: str
    kind: str
    owner_id: str
    file_name: str


@dataclass(slots=True)
class Outgoing:
    """A webhook the state wants delivered (the dispatcher builds and sends the envelope)."""

    event_type: str
    creditor_id: str | None
    content: Any
    secondary: Any = None
