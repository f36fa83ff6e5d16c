"""The gateway's own tables: monitor, webhook inbox, documents, audit, idempotency, change feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billecta_gateway.models.base import Base

BATCH_STATUSES = ("running", "ok", "donewitherror", "error")
LOG_STATUSES = ("pending", "running", "ok", "error")
WEBHOOK_STATUSES = ("received", "pending", "processed", "failed", "ignored")


def _now() -> Mapped[datetime]:
    return mapped_column(server_default=func.now(), nullable=False)


class IntegrationMonitorBatch(Base):
    __tablename__ = "integration_monitor_batch"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    task: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), server_default="running", index=True)
    created_by: Mapped[str | None] = mapped_column(String(255))
    total: Mapped[int] = mapped_column(Integer, server_default="0")
    done: Mapped[int] = mapped_column(Integer, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, server_default="0")
    message: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    starttime: Mapped[datetime] = _now()
    endtime: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=func.now(), nullable=False
    )


class IntegrationMonitorLog(Base):
    __tablename__ = "integration_monitor_log"
    __table_args__ = (
        Index("ix_integration_monitor_log_batch_status", "batch_id", "status"),
        Index("ix_integration_monitor_log_status_updated", "status", "updated_at"),
        Index("ix_integration_monitor_log_object", "limetype", "object_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("integration_monitor_batch.id", ondelete="CASCADE")
    )
    limetype: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int | None] = mapped_column(BigInteger)
    task_id: Mapped[str | None] = mapped_column(String(255))
    attempt: Mapped[int] = mapped_column(Integer, server_default="1")
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=func.now(), nullable=False
    )


class WebhookEvent(Base):
    __tablename__ = "webhook_event"
    __table_args__ = (
        Index("ix_webhook_event_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_webhook_event_type_received", "event_type", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    event_id: Mapped[str | None] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(128))
    creditorpublicid: Mapped[str | None] = mapped_column(String(64), index=True)
    created: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="received")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = _now()


class WebhookEventObject(Base):
    """Which mirrored objects an event touched (the Event Log dialog filters on it)."""

    __tablename__ = "webhook_event_object"
    __table_args__ = (Index("ix_webhook_event_object_object", "limetype", "object_id"),)

    event_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_event.id", ondelete="CASCADE"), primary_key=True
    )
    limetype: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class Document(Base):
    __tablename__ = "document"
    __table_args__ = (Index("ix_document_owner", "owner_limetype", "owner_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(String(64))
    owner_limetype: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = _now()


class AuditRecord(Base):
    __tablename__ = "audit"
    __table_args__ = (
        Index("ix_audit_object", "limetype", "object_id"),
        Index("ix_audit_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = _now()
    request_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(1024))
    limetype: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[int | None] = mapped_column(BigInteger)
    status_code: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class IdempotencyRecord(Base):
    """The first answer to a state-changing call made with an `Idempotency-Key`."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("key", "scope"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ObjectAlias(Base):
    """A gateway-assigned id that Lime adopted under its own id (DESIGN §3.4)."""

    __tablename__ = "object_alias"

    limetype: Mapped[str] = mapped_column(String(64), primary_key=True)
    alias_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    target_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = _now()


class Tombstone(Base):
    """A deleted object, kept for the change feed."""

    __tablename__ = "tombstone"
    __table_args__ = (Index("ix_tombstone_limetype_change_no", "limetype", "change_no"),)

    limetype: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    change_no: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime] = _now()


class CronRun(Base):
    """The last successful run of a scheduled job, so a missed night is caught up."""

    __tablename__ = "cron_run"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
