"""Declarative base, naming convention and the column helpers every Lime table uses."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    FetchedValue,
    ForeignKey,
    MetaData,
    Numeric,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Objects the gateway creates from Billecta data (invoices, payments, debt collections met first
# in a webhook) take ids from this sequence. It starts at 10**12: far above Lime's 32-bit ids
# and far below 2**53, so the ids stay exact in JavaScript.
GATEWAY_ID_SEQUENCE = "gateway_object_id_seq"
GATEWAY_ID_START = 1_000_000_000_000

MONEY = Numeric(18, 2)
RATE = Numeric(9, 4)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        Decimal: MONEY,
        dict[str, Any]: JSONB,
    }


def utcnow_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class LimeObject(Base):
    """Columns shared by every mirrored limetype.

    `change_no` is set by a trigger to the writing transaction's id (see the migration), which
    is what lets the change feed promise that no committed change is ever skipped.
    `sync_counter` goes up by one with every change ingestion stores: a sync job reads it when
    it starts and again when it ends, and queues a follow-up when it moved (transaction ids are
    not monotonic per row when writers overlap, so `change_no` cannot serve).
    """

    __abstract__ = True
    __limetype__: str = ""
    # The relation whose object a change of this one also changes (its sync_counter moves).
    __counts_into__: str | None = None

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    custom: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default="{}", default=dict
    )
    change_no: Mapped[int] = mapped_column(
        BigInteger,
        nullable=False,
        index=True,
        server_default=FetchedValue(),
        server_onupdate=FetchedValue(),
    )
    sync_counter: Mapped[int] = mapped_column(
        BigInteger, nullable=False, server_default="0", default=0
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


def text_col(length: int = 255, **info: Any) -> Mapped[str | None]:
    """A nullable string property."""
    return mapped_column(String(length), nullable=True, info=info)


def long_text_col(**info: Any) -> Mapped[str | None]:
    return mapped_column(Text, nullable=True, info=info)


def option_col(*options: str, default: str | None = None, **info: Any) -> Mapped[str | None]:
    """A Lime option property stored as its key; `info["options"]` lists the allowed keys."""
    return mapped_column(
        String(32),
        nullable=True,
        default=default,
        server_default=default,
        info={"options": options, **info},
    )


def money_col(**info: Any) -> Mapped[Decimal | None]:
    return mapped_column(MONEY, nullable=True, info=info)


def decimal_col(precision: int = 18, scale: int = 4, **info: Any) -> Mapped[Decimal | None]:
    return mapped_column(Numeric(precision, scale), nullable=True, info=info)


def date_col(**info: Any) -> Mapped[date | None]:
    return mapped_column(Date, nullable=True, info=info)


def datetime_col(**info: Any) -> Mapped[datetime | None]:
    return mapped_column(DateTime(timezone=True), nullable=True, info=info)


def bool_col(default: bool = False, **info: Any) -> Mapped[bool]:
    return mapped_column(
        Boolean,
        nullable=False,
        default=default,
        server_default="true" if default else "false",
        info=info,
    )


def int_col(**info: Any) -> Mapped[int | None]:
    return mapped_column(BigInteger, nullable=True, info=info)


def relation_col(
    target: str, *, ondelete: str = "RESTRICT", index: bool = True, **info: Any
) -> Mapped[int | None]:
    """A Lime relation property: the column `<name>_id` refers to `target`'s id."""
    return mapped_column(
        BigInteger,
        ForeignKey(f"{target}.id", ondelete=ondelete, onupdate="CASCADE"),
        nullable=True,
        index=index,
        info={"relation": target, **info},
    )


def billecta_id_col(**info: Any) -> Mapped[str | None]:
    """A Billecta public id; unique, owned by the gateway once set."""
    return mapped_column(
        String(64), nullable=True, unique=True, info={"gateway_owned": True, **info}
    )


def error_message_col() -> Mapped[str | None]:
    return mapped_column(Text, nullable=True, info={"gateway_owned": True})
