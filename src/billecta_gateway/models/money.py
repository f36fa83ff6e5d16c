"""State of money operations: requests whose outcome is unknown, and uses of credit notes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from billecta_gateway.models.base import Base


class UncertainOperation(Base):
    """A request sent to Billecta whose answer never came (timeout, connection lost after
    sending): Billecta may have applied it. Open until a refresh or webhook settles it; while
    open, an identical request is refused without being sent."""

    __tablename__ = "uncertain_operation"
    __table_args__ = (
        Index("ix_uncertain_operation_object", "limetype", "object_id"),
        Index("ix_uncertain_operation_request", "request_hash"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    limetype: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int] = mapped_column(BigInteger)
    operation: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    actor: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    settled_at: Mapped[datetime | None]
    settled_by: Mapped[str | None] = mapped_column(String(64))


class CreditNoteUse(Base):
    """One use of a credit note's credit on another invoice, as sent to Billecta.

    ``available_before`` is Billecta's credit left when it was used; a use is ``reflected``
    once Billecta's own figure for the credit note has dropped by it.
    """

    __tablename__ = "credit_note_use"
    __table_args__ = (Index("ix_credit_note_use_credit_invoice", "credit_invoice"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    credit_invoice: Mapped[int] = mapped_column(BigInteger)
    target_invoice: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    available_before: Mapped[Decimal]
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    billecta_answer: Mapped[str | None] = mapped_column(Text)
    used_at: Mapped[datetime] = mapped_column(server_default=func.now())
    reflected_at: Mapped[datetime | None]
