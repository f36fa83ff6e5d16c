"""billecta binding: the Billecta base URL and creditors the database belongs to

Revision ID: 0002_billecta_binding
Revises: 0001
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_billecta_binding"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "billecta_binding",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column(
            "creditor_public_ids",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "bound_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("previous_base_url", sa.Text(), nullable=True),
        sa.Column("rebound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credentials_refused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credentials_refusal", sa.Text(), nullable=True),
        sa.Column("credentials_accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_billecta_binding_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billecta_binding")),
    )


def downgrade() -> None:
    op.drop_table("billecta_binding")
