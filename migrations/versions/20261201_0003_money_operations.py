"""money operations: uncertain outcomes and credit-note uses

Revision ID: 0003_money_operations
Revises: 0002_billecta_binding
Create Date: 2026-12-01 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_money_operations"
down_revision: str | None = "0002_billecta_binding"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "uncertain_operation",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("limetype", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("operation", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uncertain_operation")),
        sa.UniqueConstraint("reference", name=op.f("uq_uncertain_operation_reference")),
    )
    op.create_index(
        "ix_uncertain_operation_object", "uncertain_operation", ["limetype", "object_id"]
    )
    op.create_index("ix_uncertain_operation_request", "uncertain_operation", ["request_hash"])
    op.create_table(
        "credit_note_use",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("credit_invoice", sa.BigInteger(), nullable=False),
        sa.Column("target_invoice", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("available_before", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("billecta_answer", sa.Text(), nullable=True),
        sa.Column(
            "used_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reflected_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_use")),
        sa.UniqueConstraint("reference", name=op.f("uq_credit_note_use_reference")),
    )
    op.create_index("ix_credit_note_use_credit_invoice", "credit_note_use", ["credit_invoice"])


def downgrade() -> None:
    op.drop_index("ix_credit_note_use_credit_invoice", table_name="credit_note_use")
    op.drop_table("credit_note_use")
    op.drop_index("ix_uncertain_operation_request", table_name="uncertain_operation")
    op.drop_index("ix_uncertain_operation_object", table_name="uncertain_operation")
    op.drop_table("uncertain_operation")
