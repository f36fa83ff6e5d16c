"""lime connector: the shared Lime rate limit and its registry of processes

Revision ID: 0004_lime_rate_limit
Revises: 0003_money_operations
Create Date: 2026-12-01 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_lime_rate_limit"
down_revision: str | None = "0003_money_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lime_rate_bucket",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_at", sa.Double(), server_default="0", nullable=False),
        sa.Column("bulk_next_at", sa.Double(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lime_rate_bucket")),
    )
    op.create_table(
        "lime_rate_process",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "heartbeat_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lime_rate_process")),
    )
    op.create_index(
        op.f("ix_lime_rate_process_heartbeat_at"), "lime_rate_process", ["heartbeat_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_lime_rate_process_heartbeat_at"), table_name="lime_rate_process")
    op.drop_table("lime_rate_process")
    op.drop_table("lime_rate_bucket")
