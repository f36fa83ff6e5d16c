"""A second currency, debtors whose names need Swedish order, and Billecta invoices closed
after the report date (2025-09-30), on top of `data.seed`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import Debtor, Invoice, Payment
from tests.reports.data import CREDITOR, billecta_invoice, incoming_payment

D = Decimal


def _invoice(id: int, debtor: int, number: str, currency: str, **fields: Any) -> Invoice:
    values: dict[str, Any] = {
        "creditor": CREDITOR,
        "debtor": debtor,
        "invoicenumber": number,
        "actionpublicid": f"act-{id}",
        "currency": currency,
        "paid_amount": D(0),
        "credited_amount": D(0),
        "writtenoff_amount": D(0),
        "invoicestatus": "sent",
    }
    values.update(fields)
    return Invoice(id=id, **values)


async def seed_mixed(session: AsyncSession) -> None:
    """EUR and NOK invoices of debtors named Å..., Ä..., Ö..., Zeta and lower-case beta."""
    session.add_all(
        [
            Debtor(id=2004, name="Åkesson AB"),
            Debtor(id=2005, name="Ängby HB"),
            Debtor(id=2006, name="Öberg AB"),
            Debtor(id=2007, name="Zeta AB"),
            Debtor(id=2008, name="beta bygg"),
        ]
    )
    await session.flush()
    session.add_all(
        [
            # 72 days overdue: the EUR half of the "1,685.06".
            _invoice(4101, 2004, "M4101", "EUR", invoicedate=date(2025, 6, 15),
                     invoice_expires=date(2025, 7, 20), invoice_amount=D("450.50"),
                     invoice_balance=D("450.50")),
            # 67 days overdue: the SEK half.
            _invoice(4102, 2005, "M4102", "SEK", invoicedate=date(2025, 6, 20),
                     invoice_expires=date(2025, 7, 25), invoice_amount=D("1234.56"),
                     invoice_balance=D("1234.56")),
            # Not due; 40 EUR paid before the date.
            _invoice(4103, 2006, "M4103", "EUR", invoicedate=date(2025, 9, 10),
                     invoice_expires=date(2025, 10, 10), invoice_amount=D("100.00"),
                     paid_amount=D("40.00"), invoice_balance=D("60.00"), invoicestatus="subpaid"),
            # 15 days overdue.
            _invoice(4104, 2008, "M4104", "NOK", invoicedate=date(2025, 9, 1),
                     invoice_expires=date(2025, 9, 15), invoice_amount=D("1000.00"),
                     invoice_balance=D("1000.00")),
            # 60 days overdue; 50 EUR written off after the date.
            _invoice(4105, 2007, "M4105", "EUR", invoicedate=date(2025, 7, 1),
                     invoice_expires=date(2025, 8, 1), invoice_amount=D("200.00"),
                     writtenoff_amount=D("50.00"), invoice_balance=D("150.00"),
                     invoicestatus="subpaid"),
        ]
    )  # fmt: skip
    await session.flush()
    session.add_all(
        [
            Payment(id=5101, invoice=4103, creditor=CREDITOR, paymenttype="payment",
                    paymentstatus="received", amount=D("40.00"), currency="EUR",
                    paymentdate=date(2025, 9, 20), paymentreferenceid="ref-m1",
                    actionpublicid="act-4103"),
            Payment(id=5102, invoice=4105, creditor=CREDITOR, paymenttype="writeoff",
                    paymentstatus="received", amount=D("50.00"), currency="EUR",
                    paymentdate=date(2025, 10, 10), paymentreferenceid="ref-m2",
                    actionpublicid="act-4105"),
        ]
    )  # fmt: skip
    await session.commit()


CLOSED_AFTER = [
    # Only in Billecta, paid in full on 2025-10-05: open (300 EUR) at the report date.
    billecta_invoice("act-e1", "E1", "Ödlan AB", "300.00", "0.00", "2025-09-01", "2025-10-01",
                     stage="Completed", currency="EUR", closed="2025-10-05"),
    # Closed before the date: not open at it.
    billecta_invoice("act-e2", "E2", "Ödlan AB", "80.00", "0.00", "2025-08-01", "2025-08-31",
                     stage="Completed", currency="EUR", closed="2025-09-20"),
    # Cancelled: never a receivable.
    billecta_invoice("act-e3", "E3", "Ödlan AB", "90.00", "0.00", "2025-09-02", "2025-10-02",
                     stage="Cancelled", currency="EUR", closed="2025-10-12"),
    # In the mirror (F4004, paid 2025-10-05): listed once, from the mirror.
    billecta_invoice("act-4004", "F4004", "Beta AB", "300.00", "0.00", "2025-07-01", "2025-07-31",
                     stage="Completed", closed="2025-10-05"),
    # Invoiced after the date.
    billecta_invoice("act-e4", "E4", "Ödlan AB", "70.00", "0.00", "2025-10-03", "2025-11-03",
                     stage="Completed", currency="EUR", closed="2025-11-20"),
]  # fmt: skip
PAID_AFTER = [
    incoming_payment("ref-e1", "act-e1", "E1", "Ödlan AB", "300.00", "2025-10-05", "BG", "EUR"),
    incoming_payment("ref-e4", "act-e4", "E4", "Ödlan AB", "70.00", "2025-11-20", "BG", "EUR"),
]
