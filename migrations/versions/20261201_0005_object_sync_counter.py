"""per-object sync counter, and the counter an order's last upsert sent

Revision ID: 0005_object_sync_counter
Revises: 0004_lime_rate_limit
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_object_sync_counter"
down_revision: str | None = "0004_lime_rate_limit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIME_TABLES = (
    "creditor",
    "person",
    "company",
    "debtor",
    "creditordebtor",
    "article",
    "creditorarticle",
    "contract",
    "order",
    "orderrow",
    "invoice",
    "payment",
    "debtcollection",
)


def upgrade() -> None:
    for table in LIME_TABLES:
        op.add_column(
            table,
            sa.Column("sync_counter", sa.BigInteger(), server_default="0", nullable=False),
        )
    op.add_column("order", sa.Column("upserted_counter", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("order", "upserted_counter")
    for table in LIME_TABLES:
        op.drop_column(table, "sync_counter")
