"""Shared test helpers for the Billecta operation endpoints: mounting, seeding, Billecta JSON."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import (
    AuditRecord,
    Creditor,
    CreditorDebtor,
    DebtCollection,
    Debtor,
    Invoice,
    Order,
    Payment,
    Person,
)

CREDITOR_ID = 501
CREDITOR_PUBLIC_ID = "c0ffee00-0000-4000-8000-000000000501"
CONNECT_ERROR = httpx.ConnectError("connection refused")


async def seed_creditor(
    session: AsyncSession, *, creditorpublicid: str | None = CREDITOR_PUBLIC_ID
) -> Creditor:
    creditor = await session.get(Creditor, CREDITOR_ID)
    if creditor is None:
        creditor = Creditor(id=CREDITOR_ID, name="Fastighets AB", creditorpublicid=creditorpublicid)
        session.add(creditor)
        await session.flush()
    return creditor


async def seed_invoice(
    session: AsyncSession,
    *,
    id: int = 1001,
    actionpublicid: str | None = "inv-act-1001",
    with_creditor: bool = True,
    **fields: Any,
) -> Invoice:
    """An invoice (with its creditor), committed to the test's savepoint."""
    if with_creditor:
        await seed_creditor(session)
    invoice = Invoice(
        id=id,
        actionpublicid=actionpublicid,
        creditor=CREDITOR_ID if with_creditor else None,
        currency=fields.pop("currency", "SEK"),
        **fields,
    )
    session.add(invoice)
    await session.commit()
    return invoice


async def seed_debtcollection(
    session: AsyncSession, *, id: int = 3001, actionpublicid: str | None = "dc-act-3001"
) -> DebtCollection:
    await seed_creditor(session)
    case = DebtCollection(id=id, actionpublicid=actionpublicid, creditor=CREDITOR_ID)
    session.add(case)
    await session.commit()
    return case


async def seed_payment(
    session: AsyncSession,
    *,
    id: int = 4001,
    unhandledpaymentpublicid: str | None = "unh-pay-4001",
    paymentreferenceid: str | None = None,
    with_creditor: bool = True,
    **fields: Any,
) -> Payment:
    if with_creditor:
        await seed_creditor(session)
    payment = Payment(
        id=id,
        unhandledpaymentpublicid=unhandledpaymentpublicid,
        paymentreferenceid=paymentreferenceid,
        creditor=CREDITOR_ID if with_creditor else None,
        paymentstatus=fields.pop("paymentstatus", "unmatched"),
        **fields,
    )
    session.add(payment)
    await session.commit()
    return payment


async def seed_debtor(
    session: AsyncSession,
    *,
    id: int = 2001,
    debtorpublicids: tuple[str, ...] = (),
    phone: str | None = None,
    person_phone: str | None = None,
) -> Debtor:
    await seed_creditor(session)
    person_id = None
    if person_phone is not None:
        person = Person(id=id + 5000, firstname="Anna", phone=person_phone)
        session.add(person)
        await session.flush()
        person_id = person.id
    debtor = Debtor(id=id, name="Anna Andersson", phone=phone, person=person_id)
    session.add(debtor)
    await session.flush()
    for n, public_id in enumerate(debtorpublicids):
        creditor_id = CREDITOR_ID + 1 + n
        session.add(Creditor(id=creditor_id, name=f"Creditor {n}", creditorpublicid=f"cp-{n}"))
        await session.flush()
        session.add(
            CreditorDebtor(
                id=id * 10 + n, creditor=creditor_id, debtor=id, debtorpublicid=public_id
            )
        )
    await session.commit()
    return debtor


async def seed_order(
    session: AsyncSession, *, id: int = 6001, actionpublicid: str | None = "inv-act-1001"
) -> Order:
    await seed_creditor(session)
    order = Order(id=id, actionpublicid=actionpublicid, creditor=CREDITOR_ID)
    session.add(order)
    await session.commit()
    return order


async def reload(session: AsyncSession, model: type[Any], object_id: int) -> Any:
    """The row as committed, not as cached in the session."""
    return await session.get(model, object_id, populate_existing=True)


async def audit_rows(session: AsyncSession) -> list[AuditRecord]:
    return list(
        (
            await session.scalars(
                select(AuditRecord)
                .order_by(AuditRecord.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


def amount(value: int, currency: str = "SEK") -> dict[str, Any]:
    """A Billecta AmountView from minor units."""
    return {"CurrencyCode": currency, "Value": value, "ValueForView": value / 100}


def invoice_action(
    action_id: str = "inv-act-1001",
    *,
    stage: str = "InvoiceSent",
    invoiced: int = 100_000,
    current: int | None = None,
    paid: int = 0,
    credited: int = 0,
    written_off: int = 0,
    due: str = "2025-01-31T00:00:00",
    invoice_date: str = "2025-01-01T00:00:00",
    sent: str | None = "2025-01-01T08:00:00",
    closed: str | None = None,
    next_event: str | None = None,
    next_event_date: str | None = None,
    disputed: str | None = None,
    paused: bool = False,
    action_type: str = "InvoiceAction",
    invoice_number: str = "10023",
    ocr: str = "100230",
    file_id: str | None = "f11e0000-0000-4000-8000-000000000001",
    crediting_source: str | None = None,
    currency: str = "SEK",
    delivery_method: str = "Email",
) -> dict[str, Any]:
    """A Billecta InvoiceActionView as JSON."""
    current = invoiced - paid - credited - written_off if current is None else current
    data: dict[str, Any] = {
        "ActionPublicId": action_id,
        "CreditorPublicId": CREDITOR_PUBLIC_ID,
        "ActionType": action_type,
        "DeliveryMethod": delivery_method,
        "InvoiceDate": invoice_date,
        "DueDate": due,
        "InvoiceNumber": invoice_number,
        "State": {
            "Stage": stage,
            "InvoiceSentDate": sent,
            "ClosedDate": closed,
            "NextEvent": next_event,
            "NextEventDate": next_event_date,
            "IsPaused": paused,
            "DisputedDate": disputed,
        },
        "Invoices": [
            {
                "InvoiceDate": invoice_date,
                "DueDate": due,
                "InvoiceNumber": invoice_number,
                "OCR": ocr,
                "InvoicedAmount": amount(invoiced, currency),
                "InvoiceFile": (
                    {
                        "FilePublicId": file_id,
                        "ContentType": "application/pdf",
                        "FileName": f"Faktura {invoice_number}.pdf",
                    }
                    if file_id
                    else None
                ),
            }
        ],
        "InvoicedAmount": amount(invoiced, currency),
        "CurrentAmount": amount(current, currency),
        "PaidAmount": amount(paid, currency),
        "CreditedAmount": amount(credited, currency),
        "WriteOffAmount": amount(written_off, currency),
        "TotalVATAmount": amount(invoiced // 5, currency),
    }
    if crediting_source:
        data["CreditingInvoice"] = {"SourcePublicId": crediting_source, "SourceInvoiceId": "1"}
    return data


def sent_json(call: Any) -> Any:
    """The JSON body of a recorded respx call."""
    return json.loads(call.request.content)
