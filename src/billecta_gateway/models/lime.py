"""The mirrored Lime limetypes (DESIGN §4). Property name == attribute == column name."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billecta_gateway.models.base import (
    LimeObject,
    billecta_id_col,
    bool_col,
    date_col,
    datetime_col,
    decimal_col,
    error_message_col,
    int_col,
    long_text_col,
    money_col,
    option_col,
    relation_col,
    text_col,
)

DELIVERY_METHODS = ("email", "mail", "sms", "einvoice", "kivra", "manual")
ORDER_STATUSES = (
    "created",
    "processing",
    "upserted",
    "errorupsert",
    "attested",
    "errorattest",
    "credited",
    "cancelled",
    "completed",
)
INVOICE_STATUSES = ("attested", "sent", "subpaid", "paid", "expired", "credited", "cancelled")
PAYMENT_STATUSES = ("received", "unmatched", "overpayment", "usedoninvoice", "deleted")
PAYMENT_TYPES = ("payment", "writeoff", "credit", "overpayment", "unmatched", "manual")
ROW_TYPES = ("standard", "package", "message")
AUTOGIRO_STAGES = ("pending", "approved", "failed", "removed", "migration")


class Creditor(LimeObject):
    __tablename__ = "creditor"
    __limetype__ = "creditor"

    name: Mapped[str | None] = text_col()
    orgno: Mapped[str | None] = text_col(32)
    email: Mapped[str | None] = text_col()
    phone: Mapped[str | None] = text_col(64)
    address: Mapped[str | None] = text_col()
    zipcode: Mapped[str | None] = text_col(32)
    city: Mapped[str | None] = text_col()
    countrycode: Mapped[str | None] = text_col(2)
    vatnumber: Mapped[str | None] = text_col(64)
    creditorpublicid: Mapped[str | None] = mapped_column(
        String(64), nullable=True, unique=True, info={"gateway_owned_once_set": True}
    )
    # Billecta-owned settings fetched by the creditor update (DefaultActionConfigView).
    billecta_settings: Mapped[dict[str, Any] | None] = mapped_column(
        JSONB, nullable=True, info={"gateway_owned": True, "kind": "json"}
    )
    default_deliverymethod: Mapped[str | None] = option_col(*DELIVERY_METHODS, gateway_owned=True)
    default_paymentterms: Mapped[int | None] = int_col(gateway_owned=True)
    default_invoicefee: Mapped[Decimal | None] = money_col(gateway_owned=True)
    default_reminderfee: Mapped[Decimal | None] = money_col(gateway_owned=True)
    default_currency: Mapped[str | None] = text_col(3, gateway_owned=True)
    billecta_error_message: Mapped[str | None] = error_message_col()


class Person(LimeObject):
    __tablename__ = "person"
    __limetype__ = "person"

    firstname: Mapped[str | None] = text_col(pii=True)
    lastname: Mapped[str | None] = text_col(pii=True)
    email: Mapped[str | None] = text_col(pii=True)
    phone: Mapped[str | None] = text_col(64, pii=True)
    mobilephone: Mapped[str | None] = text_col(64, pii=True)
    personalnumber: Mapped[str | None] = text_col(32, pii=True)
    anonymized: Mapped[bool] = bool_col()


class Company(LimeObject):
    __tablename__ = "company"
    __limetype__ = "company"

    name: Mapped[str | None] = text_col()
    orgno: Mapped[str | None] = text_col(32)
    email: Mapped[str | None] = text_col()
    phone: Mapped[str | None] = text_col(64)
    address: Mapped[str | None] = text_col()
    zipcode: Mapped[str | None] = text_col(32)
    city: Mapped[str | None] = text_col()
    countrycode: Mapped[str | None] = text_col(2)
    vatnumber: Mapped[str | None] = text_col(64)


class Debtor(LimeObject):
    __tablename__ = "debtor"
    __limetype__ = "debtor"

    name: Mapped[str | None] = text_col(pii=True)
    debtortype: Mapped[str | None] = option_col("private", "company")
    orgno: Mapped[str | None] = text_col(32, pii=True)
    email: Mapped[str | None] = text_col(pii=True)
    phone: Mapped[str | None] = text_col(64, pii=True)
    address: Mapped[str | None] = text_col(pii=True)
    address2: Mapped[str | None] = text_col(pii=True)
    careof: Mapped[str | None] = text_col(pii=True)
    zipcode: Mapped[str | None] = text_col(32, pii=True)
    city: Mapped[str | None] = text_col(pii=True)
    countrycode: Mapped[str | None] = text_col(2)
    vatnumber: Mapped[str | None] = text_col(64)
    contactname: Mapped[str | None] = text_col(pii=True)
    contactemail: Mapped[str | None] = text_col(pii=True)
    gln: Mapped[str | None] = text_col(32)
    debtornumber: Mapped[str | None] = text_col(64)
    deliverymethod: Mapped[str | None] = option_col(*DELIVERY_METHODS)
    language: Mapped[str | None] = option_col("sv", "en", "fi")
    person: Mapped[int | None] = relation_col("person")
    company: Mapped[int | None] = relation_col("company")
    anonymized: Mapped[bool] = bool_col()
    billecta_event_at: Mapped[datetime | None] = datetime_col(gateway_owned=True)
    billecta_error_message: Mapped[str | None] = error_message_col()


class CreditorDebtor(LimeObject):
    __tablename__ = "creditordebtor"
    __limetype__ = "creditordebtor"
    __table_args__ = (UniqueConstraint("creditor", "debtor"),)

    creditor: Mapped[int | None] = relation_col("creditor")
    debtor: Mapped[int | None] = relation_col("debtor")
    debtorpublicid: Mapped[str | None] = billecta_id_col()
    autogiro_active: Mapped[bool] = bool_col(gateway_owned=True)
    autogiro_stage: Mapped[str | None] = option_col(*AUTOGIRO_STAGES, gateway_owned=True)
    autogiro_payernumber: Mapped[str | None] = text_col(64, gateway_owned=True)
    autogiro_message: Mapped[str | None] = long_text_col(gateway_owned=True)
    autogiro_updated_at: Mapped[datetime | None] = datetime_col(gateway_owned=True)
    billecta_event_at: Mapped[datetime | None] = datetime_col(gateway_owned=True)
    billecta_error_message: Mapped[str | None] = error_message_col()


class Article(LimeObject):
    __tablename__ = "article"
    __limetype__ = "article"

    name: Mapped[str | None] = text_col()
    articlenumber: Mapped[str | None] = text_col(64)
    articletype: Mapped[str | None] = option_col("standard", "package", default="standard")
    description: Mapped[str | None] = long_text_col()
    unitprice: Mapped[Decimal | None] = money_col()
    vat: Mapped[Decimal | None] = decimal_col(9, 4)
    unit: Mapped[str | None] = text_col(32)
    bookkeepingaccount: Mapped[str | None] = text_col(16)
    isactive: Mapped[bool] = bool_col(default=True)
    billecta_error_message: Mapped[str | None] = error_message_col()


class CreditorArticle(LimeObject):
    __tablename__ = "creditorarticle"
    __limetype__ = "creditorarticle"
    __table_args__ = (UniqueConstraint("creditor", "article"),)

    creditor: Mapped[int | None] = relation_col("creditor")
    article: Mapped[int | None] = relation_col("article")
    articlepublicid: Mapped[str | None] = billecta_id_col()
    billecta_error_message: Mapped[str | None] = error_message_col()


class Contract(LimeObject):
    __tablename__ = "contract"
    __limetype__ = "contract"

    name: Mapped[str | None] = text_col()
    contractnumber: Mapped[str | None] = text_col(64)
    debtor: Mapped[int | None] = relation_col("debtor")
    creditor: Mapped[int | None] = relation_col("creditor")


class Order(LimeObject):
    __tablename__ = "order"
    __limetype__ = "order"

    creditor: Mapped[int | None] = relation_col("creditor")
    debtor: Mapped[int | None] = relation_col("debtor")
    contract: Mapped[int | None] = relation_col("contract")
    # Gateway-owned once the order exists in Billecta (`actionpublicid` set): an echo from
    # Lime must not roll `attested` back to `created` and so lift the order-row delete guard.
    orderstatus: Mapped[str | None] = option_col(
        *ORDER_STATUSES, default="created", gateway_owned_when="actionpublicid"
    )
    actionpublicid: Mapped[str | None] = billecta_id_col()
    invoicedate: Mapped[date | None] = date_col()
    duedate: Mapped[date | None] = date_col()
    deliverymethod: Mapped[str | None] = option_col(*DELIVERY_METHODS)
    currency: Mapped[str | None] = text_col(3)
    ourreference: Mapped[str | None] = text_col()
    yourreference: Mapped[str | None] = text_col()
    message: Mapped[str | None] = long_text_col()
    period_start: Mapped[date | None] = date_col()
    period_end: Mapped[date | None] = date_col()
    billecta_error_message: Mapped[str | None] = error_message_col()
    # The `sync_counter` the last successful upsert sent: attest upserts again first when the
    # order or its rows changed since (rows move their order's counter, `__counts_into__`).
    upserted_counter: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class OrderRow(LimeObject):
    __tablename__ = "orderrow"
    __limetype__ = "orderrow"
    # A change of a row is a change of its order: ingestion moves the order's sync_counter.
    __counts_into__ = "order"
    __table_args__ = (Index("ix_orderrow_order_position", "order", "position"),)

    order: Mapped[int | None] = relation_col("order", index=False)
    article: Mapped[int | None] = relation_col("article")
    rowtype: Mapped[str | None] = option_col(*ROW_TYPES, default="standard")
    position: Mapped[int | None] = int_col()
    description: Mapped[str | None] = long_text_col()
    quantity: Mapped[Decimal | None] = decimal_col(18, 4)
    unit: Mapped[str | None] = text_col(32)
    unitprice: Mapped[Decimal | None] = money_col()
    vat: Mapped[Decimal | None] = decimal_col(9, 4)
    discount: Mapped[Decimal | None] = money_col()
    period_start: Mapped[date | None] = date_col()
    period_end: Mapped[date | None] = date_col()


class Invoice(LimeObject):
    __tablename__ = "invoice"
    __limetype__ = "invoice"
    __table_args__ = (
        Index("ix_invoice_status_expires", "invoicestatus", "invoice_expires"),
        Index("ix_invoice_creditor_invoicedate", "creditor", "invoicedate"),
    )

    order: Mapped[int | None] = relation_col("order")
    creditor: Mapped[int | None] = relation_col("creditor", index=False)
    debtor: Mapped[int | None] = relation_col("debtor")
    creditordebtor: Mapped[int | None] = relation_col("creditordebtor")
    contract: Mapped[int | None] = relation_col("contract")
    actionpublicid: Mapped[str | None] = billecta_id_col()
    invoicenumber: Mapped[str | None] = text_col(64, gateway_owned=True)
    ocr: Mapped[str | None] = mapped_column(
        String(64), nullable=True, index=True, info={"gateway_owned": True}
    )
    invoicestatus: Mapped[str | None] = option_col(*INVOICE_STATUSES, gateway_owned=True)
    invoicedate: Mapped[date | None] = date_col(gateway_owned=True)
    invoice_expires: Mapped[date | None] = date_col(gateway_owned=True)
    invoice_sent_date: Mapped[date | None] = date_col(gateway_owned=True)
    paid_date: Mapped[date | None] = date_col(gateway_owned=True)
    invoice_amount: Mapped[Decimal | None] = money_col(gateway_owned=True)
    invoice_balance: Mapped[Decimal | None] = money_col(gateway_owned=True)
    paid_amount: Mapped[Decimal | None] = money_col(gateway_owned=True)
    credited_amount: Mapped[Decimal | None] = money_col(gateway_owned=True)
    writtenoff_amount: Mapped[Decimal | None] = money_col(gateway_owned=True)
    vat_amount: Mapped[Decimal | None] = money_col(gateway_owned=True)
    currency: Mapped[str | None] = text_col(3, gateway_owned=True)
    period_start: Mapped[date | None] = date_col()
    period_end: Mapped[date | None] = date_col()
    deliverymethod: Mapped[str | None] = option_col(*DELIVERY_METHODS, gateway_owned=True)
    is_credit_invoice: Mapped[bool] = bool_col(gateway_owned=True)
    credited_invoice: Mapped[int | None] = relation_col("invoice", gateway_owned=True)
    credit_invoice_actionpublicid: Mapped[str | None] = text_col(64, gateway_owned=True)
    is_reminder_invoice: Mapped[bool] = bool_col(gateway_owned=True)
    source_invoice: Mapped[int | None] = relation_col("invoice", gateway_owned=True)
    disputed: Mapped[bool] = bool_col(gateway_owned=True)
    paused: Mapped[bool] = bool_col(gateway_owned=True)
    next_event: Mapped[str | None] = text_col(gateway_owned=True)
    next_event_date: Mapped[date | None] = date_col(gateway_owned=True)
    autogiro_withdrawal_enabled: Mapped[bool] = bool_col(gateway_owned=True)
    autogiro_withdrawal_status: Mapped[str | None] = text_col(64, gateway_owned=True)
    autogiro_withdrawal_message: Mapped[str | None] = long_text_col(gateway_owned=True)
    invoice_pdf: Mapped[int | None] = relation_col("document", ondelete="SET NULL")
    billecta_stage: Mapped[str | None] = text_col(64, gateway_owned=True)
    billecta_event_at: Mapped[datetime | None] = datetime_col(gateway_owned=True)
    billecta_error_message: Mapped[str | None] = error_message_col()


class Payment(LimeObject):
    __tablename__ = "payment"
    __limetype__ = "payment"
    __table_args__ = (
        UniqueConstraint(
            "paymentreferenceid", "actionpublicid", postgresql_nulls_not_distinct=True
        ),
        Index("ix_payment_creditor_paymentdate", "creditor", "paymentdate"),
    )

    invoice: Mapped[int | None] = relation_col("invoice")
    creditor: Mapped[int | None] = relation_col("creditor", index=False)
    creditordebtor: Mapped[int | None] = relation_col("creditordebtor")
    used_on_invoice: Mapped[int | None] = relation_col("invoice", gateway_owned=True)
    paymentreferenceid: Mapped[str | None] = mapped_column(
        String(64), nullable=True, info={"gateway_owned": True}
    )
    actionpublicid: Mapped[str | None] = mapped_column(
        String(64), nullable=True, index=True, info={"gateway_owned": True}
    )
    unhandledpaymentpublicid: Mapped[str | None] = billecta_id_col()
    paymenttype: Mapped[str | None] = option_col(*PAYMENT_TYPES)
    paymentstatus: Mapped[str | None] = option_col(*PAYMENT_STATUSES)
    amount: Mapped[Decimal | None] = money_col()
    currency: Mapped[str | None] = text_col(3)
    paymentdate: Mapped[date | None] = date_col()
    paymentmeancode: Mapped[str | None] = text_col(32)
    ocr: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    reference: Mapped[str | None] = text_col()
    comment: Mapped[str | None] = long_text_col()
    bookkeepingaccount: Mapped[str | None] = text_col(16)
    sender_name: Mapped[str | None] = text_col(pii=True)
    sender_address: Mapped[str | None] = text_col(pii=True)
    sender_zipcode: Mapped[str | None] = text_col(32, pii=True)
    sender_city: Mapped[str | None] = text_col(pii=True)
    sender_orgno: Mapped[str | None] = text_col(32, pii=True)
    billecta_event_at: Mapped[datetime | None] = datetime_col(gateway_owned=True)
    billecta_error_message: Mapped[str | None] = error_message_col()


class DebtCollection(LimeObject):
    __tablename__ = "debtcollection"
    __limetype__ = "debtcollection"

    invoice: Mapped[int | None] = relation_col("invoice")
    debtor: Mapped[int | None] = relation_col("debtor")
    creditor: Mapped[int | None] = relation_col("creditor")
    contract: Mapped[int | None] = relation_col("contract")
    actionpublicid: Mapped[str | None] = billecta_id_col()
    status: Mapped[str | None] = text_col(64, gateway_owned=True)
    debt_amount: Mapped[Decimal | None] = money_col(gateway_owned=True)
    current_amount: Mapped[Decimal | None] = money_col(gateway_owned=True)
    interest_amount: Mapped[Decimal | None] = money_col(gateway_owned=True)
    fees_amount: Mapped[Decimal | None] = money_col(gateway_owned=True)
    currency: Mapped[str | None] = text_col(3, gateway_owned=True)
    interest_percentage: Mapped[Decimal | None] = decimal_col(9, 4, gateway_owned=True)
    interest_type: Mapped[str | None] = text_col(64, gateway_owned=True)
    interest_start_days: Mapped[int | None] = int_col(gateway_owned=True)
    next_event: Mapped[str | None] = text_col(gateway_owned=True)
    next_event_date: Mapped[date | None] = date_col(gateway_owned=True)
    deliverymethod: Mapped[str | None] = option_col(*DELIVERY_METHODS, gateway_owned=True)
    billecta_event_at: Mapped[datetime | None] = datetime_col(gateway_owned=True)
    billecta_error_message: Mapped[str | None] = error_message_col()


LIME_MODELS: tuple[type[LimeObject], ...] = (
    Creditor,
    Person,
    Company,
    Debtor,
    CreditorDebtor,
    Article,
    CreditorArticle,
    Contract,
    Order,
    OrderRow,
    Invoice,
    Payment,
    DebtCollection,
)
