"""Which Billecta the database belongs to (one row), and the last word on the credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from billecta_gateway.models.base import Base


class BillectaBinding(Base):
    """The Billecta base URL the data was created against and the creditors met there.

    Written on first use; the API and the worker refuse another base URL until
    `billecta-gateway rebind-billecta`. The credentials columns record the last 401/403 (or
    the acceptance after it) any process saw, for `/readyz`.
    """

    __tablename__ = "billecta_binding"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    base_url: Mapped[str] = mapped_column(Text)
    creditor_public_ids: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    bound_at: Mapped[datetime] = mapped_column(server_default=func.now())
    previous_base_url: Mapped[str | None] = mapped_column(Text)
    rebound_at: Mapped[datetime | None]
    credentials_refused_at: Mapped[datetime | None]
    credentials_refusal: Mapped[str | None] = mapped_column(Text)
    credentials_accepted_at: Mapped[datetime | None]
