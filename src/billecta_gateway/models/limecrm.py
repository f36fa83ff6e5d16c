"""Tables of the Lime connector: the shared Lime rate limit and its processes, the Lime inbox,
the applied Lime timestamps and the catch-up poll's marks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Double, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billecta_gateway.models.base import Base


class LimeRateBucket(Base):
    """The next moment (database clock, epoch seconds) a Lime request may start.

    ``next_at`` binds every caller; ``bulk_next_at`` binds background work only, so the share
    reserved for interactive calls stays free however many jobs wait.
    """

    __tablename__ = "lime_rate_bucket"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[float] = mapped_column(Double, server_default="0")
    bulk_next_at: Mapped[float] = mapped_column(Double, server_default="0")


class LimeRateProcess(Base):
    """A gateway process calling Lime; a stale heartbeat means it is gone."""

    __tablename__ = "lime_rate_process"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    heartbeat_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)


LIME_WEBHOOK_STATUSES = ("received", "pending", "processed", "failed", "ignored", "invalid")


class LimeWebhookEvent(Base):
    """One authenticated delivery of Lime's Webhooks add-on (the Lime inbox).

    ``dedupe_key`` is the delivery id when Lime sends one (v2), else a hash of (event, body.id,
    ``values.timestamp``). An authenticated body that cannot be read is stored ``invalid``.
    """

    __tablename__ = "lime_webhook_event"
    __table_args__ = (
        Index("ix_lime_webhook_event_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_lime_webhook_event_object", "limetype", "object_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    delivery_id: Mapped[str | None] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(128))
    limetype: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[int | None] = mapped_column(BigInteger)
    lime_timestamp: Mapped[datetime | None]
    payload: Mapped[Any] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="received")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class LimeObjectStamp(Base):
    """The Lime ``_timestamp`` of the last version of an object applied from Lime, so an older
    delivery (or a polled copy already applied) is skipped."""

    __tablename__ = "lime_object_stamp"

    limetype: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lime_timestamp: Mapped[datetime]


class LimePollMark(Base):
    """The catch-up poll's high-water mark per limetype (the newest ``_timestamp`` applied)."""

    __tablename__ = "lime_poll_mark"

    limetype: Mapped[str] = mapped_column(String(64), primary_key=True)
    high_water: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
