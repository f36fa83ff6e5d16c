"""A known set of creditors, debtors, articles, orders, invoices and payments, and the Billecta
lists that go with them. Report date for receivables: 2025-09-30."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import (
    Article,
    Creditor,
    Debtor,
    Invoice,
    Order,
    OrderRow,
    Payment,
)

CREDITOR = 1001
OTHER_CREDITOR = 1002
UNLINKED_CREDITOR = 1003
CREDITOR_PUBLIC_ID = "c0ffee00-0000-4000-8000-000000001001"
REPORT_DATE = date(2025, 9, 30)
D = Decimal


def _invoice(id: int, debtor: int, number: str, **fields: Any) -> Invoice:
    values: dict[str, Any] = {
        "creditor": CREDITOR,
        "debtor": debtor,
        "invoicenumber": number,
        "actionpublicid": f"act-{id}",
        "currency": "SEK",
        "paid_amount": D(0),
        "credited_amount": D(0),
        "writtenoff_amount": D(0),
    }
    values.update(fields)
    return Invoice(id=id, **values)


async def seed(session: AsyncSession) -> None:
    """Write the known data set (committed to the test's savepoint)."""
    session.add_all(
        [
            Creditor(id=CREDITOR, name="Fastighets AB Ek", creditorpublicid=CREDITOR_PUBLIC_ID),
            Creditor(id=OTHER_CREDITOR, name="Other AB", creditorpublicid="other-creditor"),
            Creditor(id=UNLINKED_CREDITOR, name="Not in Billecta AB"),
            Debtor(id=2001, name="Alfa AB"),
            Debtor(id=2002, name="Beta AB"),
            Debtor(id=2003, name="Gamma HB"),
            Article(id=3001, name="Hyra", bookkeepingaccount="3010", vat=D(25)),
            Article(id=3002, name="Avgift", bookkeepingaccount="3540", vat=D(25)),
        ]
    )
    await session.flush()
    session.add(Order(id=6009, creditor=CREDITOR, debtor=2003, actionpublicid="act-4009"))
    await session.flush()
    session.add_all(
        [
            # Rent for October (640 + 25 % VAT = 800) and a fee without period (160 + 40 = 200).
            OrderRow(
                id=7001,
                order=6009,
                article=3001,
                position=1,
                quantity=D(1),
                unitprice=D(640),
                vat=D(25),
                period_start=date(2025, 10, 1),
                period_end=date(2025, 10, 31),
            ),
            OrderRow(
                id=7002,
                order=6009,
                article=3002,
                position=2,
                quantity=D(2),
                unitprice=D(80),
                vat=D(25),
            ),
            OrderRow(id=7003, order=6009, rowtype="message", position=3, description="Note"),
        ]
    )
    session.add_all(
        [
            _invoice(
                4001,
                2001,
                "F4001",
                invoicedate=date(2025, 8, 1),
                invoice_expires=date(2025, 8, 31),
                invoice_amount=D("1250.00"),
                paid_amount=D("250.00"),
                invoice_balance=D("1000.00"),
                invoicestatus="subpaid",
                period_start=date(2025, 8, 1),
                period_end=date(2025, 8, 31),
            ),
            _invoice(
                4002,
                2001,
                "F4002",
                invoicedate=date(2025, 9, 1),
                invoice_expires=date(2025, 10, 15),
                invoice_amount=D("500.00"),
                invoice_balance=D("500.00"),
                invoicestatus="sent",
            ),
            _invoice(
                4003,
                2002,
                "F4003",
                invoicedate=date(2025, 5, 1),
                invoice_expires=date(2025, 6, 1),
                invoice_amount=D("800.00"),
                invoice_balance=D("800.00"),
                invoicestatus="expired",
            ),
            # Paid after the report date: open at the date.
            _invoice(
                4004,
                2002,
                "F4004",
                invoicedate=date(2025, 7, 1),
                invoice_expires=date(2025, 7, 31),
                invoice_amount=D("300.00"),
                paid_amount=D("300.00"),
                invoice_balance=D("0.00"),
                invoicestatus="paid",
            ),
            _invoice(
                4005,
                2003,
                "F4005",
                invoicedate=date(2025, 8, 15),
                invoice_expires=date(2025, 8, 20),
                invoice_amount=D("1000.00"),
                credited_amount=D("200.00"),
                writtenoff_amount=D("100.00"),
                invoice_balance=D("700.00"),
                invoicestatus="subpaid",
            ),
            # Paid before the report date: closed.
            _invoice(
                4006,
                2003,
                "F4006",
                invoicedate=date(2025, 9, 5),
                invoice_expires=date(2025, 10, 5),
                invoice_amount=D("400.00"),
                paid_amount=D("400.00"),
                invoice_balance=D("0.00"),
                invoicestatus="paid",
            ),
            # Invoiced after the report date.
            _invoice(
                4007,
                2001,
                "F4007",
                invoicedate=date(2025, 10, 2),
                invoice_expires=date(2025, 11, 2),
                invoice_amount=D("700.00"),
                invoice_balance=D("700.00"),
                invoicestatus="sent",
            ),
            _invoice(
                4008,
                2002,
                "F4008",
                invoicedate=date(2025, 9, 2),
                invoice_expires=date(2025, 10, 2),
                invoice_amount=D("200.00"),
                invoice_balance=D("0.00"),
                invoicestatus="cancelled",
            ),
            # Invoiced in advance: its period (from its rows) begins after the report date.
            _invoice(
                4009,
                2003,
                "F4009",
                order=6009,
                invoicedate=date(2025, 9, 25),
                invoice_expires=date(2025, 10, 25),
                invoice_amount=D("1000.00"),
                invoice_balance=D("1000.00"),
                invoicestatus="sent",
            ),
            _invoice(
                4010,
                2001,
                "F4010",
                invoicedate=date(2025, 9, 12),
                invoice_expires=date(2025, 10, 12),
                invoice_amount=D("150.00"),
                invoice_balance=D("150.00"),
                invoicestatus="sent",
            ),
            # Paid in advance for October.
            _invoice(
                4011,
                2003,
                "F4011",
                invoicedate=date(2025, 9, 20),
                invoice_expires=date(2025, 9, 30),
                invoice_amount=D("500.00"),
                paid_amount=D("500.00"),
                invoice_balance=D("0.00"),
                invoicestatus="paid",
                period_start=date(2025, 10, 1),
                period_end=date(2025, 10, 31),
            ),
            _invoice(
                4901,
                2001,
                "X1",
                creditor=OTHER_CREDITOR,
                invoicedate=date(2025, 9, 1),
                invoice_expires=date(2025, 9, 2),
                invoice_amount=D("999.00"),
                invoice_balance=D("999.00"),
                invoicestatus="sent",
            ),
        ]
    )
    await session.flush()
    session.add_all(
        [
            Payment(
                id=5001,
                invoice=4001,
                creditor=CREDITOR,
                paymenttype="payment",
                paymentstatus="received",
                amount=D("250.00"),
                currency="SEK",
                paymentdate=date(2025, 8, 20),
                paymentreferenceid="ref-1",
                actionpublicid="act-4001",
                paymentmeancode="BG",
            ),
            Payment(
                id=5002,
                invoice=4004,
                creditor=CREDITOR,
                paymenttype="payment",
                paymentstatus="received",
                amount=D("300.00"),
                currency="SEK",
                paymentdate=date(2025, 10, 5),
                paymentreferenceid="ref-2",
                actionpublicid="act-4004",
                paymentmeancode="OCR",
                bookkeepingaccount="1940",
            ),
            Payment(
                id=5003,
                invoice=4005,
                creditor=CREDITOR,
                paymenttype="credit",
                paymentstatus="received",
                amount=D("200.00"),
                currency="SEK",
                paymentdate=date(2025, 9, 10),
                paymentreferenceid="ref-3",
                actionpublicid="act-4005",
            ),
            Payment(
                id=5004,
                invoice=4005,
                creditor=CREDITOR,
                paymenttype="writeoff",
                paymentstatus="received",
                amount=D("100.00"),
                currency="SEK",
                paymentdate=date(2025, 9, 20),
                paymentreferenceid="ref-4",
                actionpublicid="act-4005",
            ),
            Payment(
                id=5005,
                invoice=4006,
                creditor=CREDITOR,
                paymenttype="payment",
                paymentstatus="received",
                amount=D("400.00"),
                currency="SEK",
                paymentdate=date(2025, 9, 15),
                paymentreferenceid="ref-5",
                actionpublicid="act-4006",
                paymentmeancode="SWISH",
            ),
            Payment(
                id=5006,
                invoice=4011,
                creditor=CREDITOR,
                paymenttype="payment",
                paymentstatus="received",
                amount=D("500.00"),
                currency="SEK",
                paymentdate=date(2025, 9, 28),
                paymentreferenceid="ref-6",
                actionpublicid="act-4011",
                paymentmeancode="BG",
            ),
            Payment(
                id=5007,
                invoice=4006,
                creditor=CREDITOR,
                paymenttype="payment",
                paymentstatus="deleted",
                amount=D("999.00"),
                currency="SEK",
                paymentdate=date(2025, 9, 16),
                paymentreferenceid="ref-7",
                actionpublicid="act-4006",
            ),
        ]
    )
    await session.commit()


def amount(value: str, currency: str = "SEK") -> dict[str, Any]:
    """A Billecta AmountView (minor units)."""
    minor = int(D(value) * 100)
    return {"CurrencyCode": currency, "Value": minor, "ValueForView": float(D(value))}


def billecta_invoice(
    action: str,
    number: str,
    debtor: str,
    invoiced: str,
    current: str,
    invoice_date: str,
    due_date: str,
    stage: str = "InvoiceSent",
    currency: str = "SEK",
    closed: str | None = None,
) -> dict[str, Any]:
    """An InvoiceActionSubView row of Billecta's open/closed lists."""
    return {
        "ClosedDate": f"{closed}T14:00:00" if closed else None,
        "ActionPublicId": action,
        "CreditorPublicId": CREDITOR_PUBLIC_ID,
        "DebtorPublicId": "d0000000-0000-4000-8000-000000000001",
        "DebtorName": debtor,
        "InvoiceNumber": number,
        "InvoicedAmount": amount(invoiced, currency),
        "CurrentAmount": amount(current, currency),
        "Stage": stage,
        "ActionType": "InvoiceAction",
        "InvoiceDate": f"{invoice_date}T00:00:00",
        "DueDate": f"{due_date}T00:00:00",
        "IsPaused": False,
        "IsDisputed": False,
    }


OPEN_INVOICES = [
    billecta_invoice(
        "act-4001", "F4001", "Alfa AB", "1250.00", "1000.00", "2025-08-01", "2025-08-31"
    ),
    billecta_invoice(
        "act-4002", "F4002", "Alfa AB", "500.00", "500.00", "2025-09-01", "2025-10-15"
    ),
    # Differs from the mirror (balance 1000 there).
    billecta_invoice(
        "act-4009", "F4009", "Gamma HB", "1000.00", "900.00", "2025-09-25", "2025-10-25"
    ),
    # Only in Billecta.
    billecta_invoice("act-b1", "B1", "Delta AB", "600.00", "600.00", "2025-09-10", "2025-10-10"),
    billecta_invoice(
        "act-b2", "", "Delta AB", "100.00", "100.00", "2025-09-11", "2025-10-11", stage="Created"
    ),
    billecta_invoice("act-b3", "B3", "Delta AB", "100.00", "100.00", "2025-10-03", "2025-11-03"),
]
CLOSED_INVOICES = [
    billecta_invoice(
        "act-4006",
        "F4006",
        "Gamma HB",
        "400.00",
        "0.00",
        "2025-09-05",
        "2025-10-05",
        stage="Completed",
    ),
    # Billecta says closed; the mirror still has 700 open.
    billecta_invoice(
        "act-4005",
        "F4005",
        "Gamma HB",
        "1000.00",
        "0.00",
        "2025-08-15",
        "2025-08-20",
        stage="Completed",
    ),
    billecta_invoice(
        "act-4008",
        "F4008",
        "Beta AB",
        "200.00",
        "0.00",
        "2025-09-02",
        "2025-10-02",
        stage="Cancelled",
    ),
    billecta_invoice(
        "act-4011",
        "F4011",
        "Gamma HB",
        "500.00",
        "0.00",
        "2025-09-20",
        "2025-09-30",
        stage="Completed",
    ),
    # Invoiced before the period.
    billecta_invoice(
        "act-old", "OLD", "Beta AB", "50.00", "0.00", "2025-07-01", "2025-07-31", stage="Completed"
    ),
]


def incoming_payment(
    reference: str,
    action: str,
    number: str,
    debtor: str,
    value: str,
    paid_on: str,
    mean: str,
    currency: str = "SEK",
) -> dict[str, Any]:
    """An IncomingPaymentView."""
    return {
        "CreditorPublicId": CREDITOR_PUBLIC_ID,
        "InvoiceNumber": number,
        "ActionPublicId": action,
        "ActionType": "InvoiceAction",
        "DebtorName": debtor,
        "Amount": amount(value, currency),
        "PaymentDate": f"{paid_on}T10:15:00",
        "PaymentMeanCode": mean,
        "PaymentReferenceId": reference,
    }


INCOMING_PAYMENTS = [
    incoming_payment("ref-1", "act-4001", "F4001", "Alfa AB", "250.00", "2025-08-20", "BG"),
    incoming_payment("ref-5", "act-4006", "F4006", "Gamma HB", "450.00", "2025-09-15", "SWISH"),
    incoming_payment("ref-6", "act-4011", "F4011", "Gamma HB", "500.00", "2025-09-28", "BG"),
    incoming_payment("ref-9", "act-b1", "B1", "Delta AB", "600.00", "2025-09-20", "BG"),
    # On the day after the period (asked for because Billecta reads `To` as a moment).
    incoming_payment("ref-10", "act-b1", "B1", "Delta AB", "1.00", "2025-11-01", "BG"),
]
