"""lime connector: the Lime inbox, applied Lime timestamps and the catch-up poll's marks

Revision ID: 0006_lime_inbox
Revises: 0005_object_sync_counter
Create Date: 2026-12-01 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_lime_inbox"
down_revision: str | None = "0005_object_sync_counter"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lime_webhook_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("delivery_id", sa.String(length=128), nullable=True),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("limetype", sa.String(length=64), nullable=True),
        sa.Column("object_id", sa.BigInteger(), nullable=True),
        sa.Column("lime_timestamp", _TS, nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="received", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("enqueued_at", _TS, nullable=True),
        sa.Column("processed_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", _TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lime_webhook_event")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_lime_webhook_event_dedupe_key")),
    )
    op.create_index(
        "ix_lime_webhook_event_status_next_attempt",
        "lime_webhook_event",
        ["status", "next_attempt_at"],
    )
    op.create_index("ix_lime_webhook_event_object", "lime_webhook_event", ["limetype", "object_id"])
    op.create_table(
        "lime_object_stamp",
        sa.Column("limetype", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("lime_timestamp", _TS, nullable=False),
        sa.PrimaryKeyConstraint("limetype", "object_id", name=op.f("pk_lime_object_stamp")),
    )
    op.create_table(
        "lime_poll_mark",
        sa.Column("limetype", sa.String(length=64), nullable=False),
        sa.Column("high_water", _TS, nullable=True),
        sa.Column("last_polled_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("limetype", name=op.f("pk_lime_poll_mark")),
    )


def downgrade() -> None:
    op.drop_table("lime_poll_mark")
    op.drop_table("lime_object_stamp")
    op.drop_index("ix_lime_webhook_event_object", table_name="lime_webhook_event")
    op.drop_index("ix_lime_webhook_event_status_next_attempt", table_name="lime_webhook_event")
    op.drop_table("lime_webhook_event")
