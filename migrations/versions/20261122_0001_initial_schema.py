"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 03:19:53.376775
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
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

# change_no is the id of the transaction that last wrote the row. The change feed only returns
# rows whose transaction id is below the oldest transaction still running, so a consumer that
# resumes from the last number it saw never misses a change that commits out of order.
CHANGE_NO_FUNCTION = """
CREATE FUNCTION gateway_set_change_no() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_no := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END;
$$;
"""

TOMBSTONE_FUNCTION = """
CREATE FUNCTION gateway_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tombstone (limetype, object_id, change_no)
    VALUES (TG_TABLE_NAME, OLD.id, pg_current_xact_id()::text::bigint)
    ON CONFLICT (limetype, object_id)
    DO UPDATE SET change_no = EXCLUDED.change_no, deleted_at = now();
    RETURN OLD;
END;
$$;
"""

UNTOMBSTONE_FUNCTION = """
CREATE FUNCTION gateway_untombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tombstone WHERE limetype = TG_TABLE_NAME AND object_id = NEW.id;
    RETURN NEW;
END;
$$;
"""


def _create_triggers() -> None:
    op.execute("CREATE SEQUENCE gateway_object_id_seq START WITH 1000000000000")
    op.execute(CHANGE_NO_FUNCTION)
    op.execute(TOMBSTONE_FUNCTION)
    op.execute(UNTOMBSTONE_FUNCTION)
    for table in LIME_TABLES:
        op.execute(
            f'CREATE TRIGGER {table}_change_no BEFORE INSERT OR UPDATE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION gateway_set_change_no()"
        )
        op.execute(
            f'CREATE TRIGGER {table}_tombstone AFTER DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION gateway_tombstone()"
        )
        op.execute(
            f'CREATE TRIGGER {table}_untombstone AFTER INSERT ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION gateway_untombstone()"
        )


def _drop_triggers() -> None:
    for table in LIME_TABLES:
        for suffix in ("change_no", "tombstone", "untombstone"):
            op.execute(f'DROP TRIGGER IF EXISTS {table}_{suffix} ON "{table}"')
    op.execute("DROP FUNCTION IF EXISTS gateway_untombstone()")
    op.execute("DROP FUNCTION IF EXISTS gateway_tombstone()")
    op.execute("DROP FUNCTION IF EXISTS gateway_set_change_no()")
    op.execute("DROP SEQUENCE IF EXISTS gateway_object_id_seq")


def upgrade() -> None:
    op.create_table(
        "article",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("articlenumber", sa.String(length=64), nullable=True),
        sa.Column("articletype", sa.String(length=32), server_default="standard", nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("unitprice", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("vat", sa.Numeric(precision=9, scale=4), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("bookkeepingaccount", sa.String(length=16), nullable=True),
        sa.Column("isactive", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("billecta_error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article")),
    )
    op.create_index(op.f("ix_article_change_no"), "article", ["change_no"], unique=False)
    op.create_table(
        "audit",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("action", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("limetype", sa.String(length=64), nullable=True),
        sa.Column("object_id", sa.BigInteger(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    op.create_index("ix_audit_at", "audit", ["at"], unique=False)
    op.create_index("ix_audit_object", "audit", ["limetype", "object_id"], unique=False)
    op.create_table(
        "company",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("orgno", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("zipcode", sa.String(length=32), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("countrycode", sa.String(length=2), nullable=True),
        sa.Column("vatnumber", sa.String(length=64), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company")),
    )
    op.create_index(op.f("ix_company_change_no"), "company", ["change_no"], unique=False)
    op.create_table(
        "creditor",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("orgno", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("zipcode", sa.String(length=32), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("countrycode", sa.String(length=2), nullable=True),
        sa.Column("vatnumber", sa.String(length=64), nullable=True),
        sa.Column("creditorpublicid", sa.String(length=64), nullable=True),
        sa.Column("billecta_settings", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("default_deliverymethod", sa.String(length=32), nullable=True),
        sa.Column("default_paymentterms", sa.BigInteger(), nullable=True),
        sa.Column("default_invoicefee", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("default_reminderfee", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("default_currency", sa.String(length=3), nullable=True),
        sa.Column("billecta_error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creditor")),
        sa.UniqueConstraint("creditorpublicid", name=op.f("uq_creditor_creditorpublicid")),
    )
    op.create_index(op.f("ix_creditor_change_no"), "creditor", ["change_no"], unique=False)
    op.create_table(
        "cron_run",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cron_run")),
    )
    op.create_table(
        "document",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("owner_limetype", sa.String(length=64), nullable=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
    )
    op.create_index("ix_document_owner", "document", ["owner_limetype", "owner_id"], unique=False)
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint("key", "scope", name=op.f("uq_idempotency_record_key_scope")),
    )
    op.create_index(
        op.f("ix_idempotency_record_expires_at"), "idempotency_record", ["expires_at"], unique=False
    )
    op.create_table(
        "integration_monitor_batch",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="running", nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "starttime", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("endtime", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_monitor_batch")),
    )
    op.create_index(
        op.f("ix_integration_monitor_batch_status"),
        "integration_monitor_batch",
        ["status"],
        unique=False,
    )
    op.create_table(
        "object_alias",
        sa.Column("limetype", sa.String(length=64), nullable=False),
        sa.Column("alias_id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("limetype", "alias_id", name=op.f("pk_object_alias")),
    )
    op.create_index(op.f("ix_object_alias_target_id"), "object_alias", ["target_id"], unique=False)
    op.create_table(
        "person",
        sa.Column("firstname", sa.String(length=255), nullable=True),
        sa.Column("lastname", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("mobilephone", sa.String(length=64), nullable=True),
        sa.Column("personalnumber", sa.String(length=32), nullable=True),
        sa.Column("anonymized", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    op.create_index(op.f("ix_person_change_no"), "person", ["change_no"], unique=False)
    op.create_table(
        "tombstone",
        sa.Column("limetype", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("change_no", sa.BigInteger(), nullable=False),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("limetype", "object_id", name=op.f("pk_tombstone")),
    )
    op.create_index(
        "ix_tombstone_limetype_change_no", "tombstone", ["limetype", "change_no"], unique=False
    )
    op.create_table(
        "webhook_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("creditorpublicid", sa.String(length=64), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="received", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_webhook_event_dedupe_key")),
    )
    op.create_index(
        op.f("ix_webhook_event_creditorpublicid"),
        "webhook_event",
        ["creditorpublicid"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_event_status_next_attempt",
        "webhook_event",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_event_type_received",
        "webhook_event",
        ["event_type", "received_at"],
        unique=False,
    )
    op.create_table(
        "creditorarticle",
        sa.Column("creditor", sa.BigInteger(), nullable=True),
        sa.Column("article", sa.BigInteger(), nullable=True),
        sa.Column("articlepublicid", sa.String(length=64), nullable=True),
        sa.Column("billecta_error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["article"],
            ["article.id"],
            name=op.f("fk_creditorarticle_article_article"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["creditor"],
            ["creditor.id"],
            name=op.f("fk_creditorarticle_creditor_creditor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creditorarticle")),
        sa.UniqueConstraint("articlepublicid", name=op.f("uq_creditorarticle_articlepublicid")),
        sa.UniqueConstraint(
            "creditor", "article", name=op.f("uq_creditorarticle_creditor_article")
        ),
    )
    op.create_index(
        op.f("ix_creditorarticle_article"), "creditorarticle", ["article"], unique=False
    )
    op.create_index(
        op.f("ix_creditorarticle_change_no"), "creditorarticle", ["change_no"], unique=False
    )
    op.create_index(
        op.f("ix_creditorarticle_creditor"), "creditorarticle", ["creditor"], unique=False
    )
    op.create_table(
        "debtor",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("debtortype", sa.String(length=32), nullable=True),
        sa.Column("orgno", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("address2", sa.String(length=255), nullable=True),
        sa.Column("careof", sa.String(length=255), nullable=True),
        sa.Column("zipcode", sa.String(length=32), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("countrycode", sa.String(length=2), nullable=True),
        sa.Column("vatnumber", sa.String(length=64), nullable=True),
        sa.Column("contactname", sa.String(length=255), nullable=True),
        sa.Column("contactemail", sa.String(length=255), nullable=True),
        sa.Column("gln", sa.String(length=32), nullable=True),
        sa.Column("debtornumber", sa.String(length=64), nullable=True),
        sa.Column("deliverymethod", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=32), nullable=True),
        sa.Column("person", sa.BigInteger(), nullable=True),
        sa.Column("company", sa.BigInteger(), nullable=True),
        sa.Column("anonymized", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("billecta_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("billecta_error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["company"],
            ["company.id"],
            name=op.f("fk_debtor_company_company"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person"],
            ["person.id"],
            name=op.f("fk_debtor_person_person"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debtor")),
    )
    op.create_index(op.f("ix_debtor_change_no"), "debtor", ["change_no"], unique=False)
    op.create_index(op.f("ix_debtor_company"), "debtor", ["company"], unique=False)
    op.create_index(op.f("ix_debtor_person"), "debtor", ["person"], unique=False)
    op.create_table(
        "integration_monitor_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("limetype", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=True),
        sa.Column("task_id", sa.String(length=255), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["integration_monitor_batch.id"],
            name=op.f("fk_integration_monitor_log_batch_id_integration_monitor_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_monitor_log")),
    )
    op.create_index(
        "ix_integration_monitor_log_batch_status",
        "integration_monitor_log",
        ["batch_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_integration_monitor_log_object",
        "integration_monitor_log",
        ["limetype", "object_id"],
        unique=False,
    )
    op.create_index(
        "ix_integration_monitor_log_status_updated",
        "integration_monitor_log",
        ["status", "updated_at"],
        unique=False,
    )
    op.create_table(
        "webhook_event_object",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("limetype", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_event.id"],
            name=op.f("fk_webhook_event_object_event_id_webhook_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "event_id", "limetype", "object_id", name=op.f("pk_webhook_event_object")
        ),
    )
    op.create_index(
        "ix_webhook_event_object_object",
        "webhook_event_object",
        ["limetype", "object_id"],
        unique=False,
    )
    op.create_table(
        "contract",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("contractnumber", sa.String(length=64), nullable=True),
        sa.Column("debtor", sa.BigInteger(), nullable=True),
        sa.Column("creditor", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["creditor"],
            ["creditor.id"],
            name=op.f("fk_contract_creditor_creditor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["debtor"],
            ["debtor.id"],
            name=op.f("fk_contract_debtor_debtor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract")),
    )
    op.create_index(op.f("ix_contract_change_no"), "contract", ["change_no"], unique=False)
    op.create_index(op.f("ix_contract_creditor"), "contract", ["creditor"], unique=False)
    op.create_index(op.f("ix_contract_debtor"), "contract", ["debtor"], unique=False)
    op.create_table(
        "creditordebtor",
        sa.Column("creditor", sa.BigInteger(), nullable=True),
        sa.Column("debtor", sa.BigInteger(), nullable=True),
        sa.Column("debtorpublicid", sa.String(length=64), nullable=True),
        sa.Column("autogiro_active", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("autogiro_stage", sa.String(length=32), nullable=True),
        sa.Column("autogiro_payernumber", sa.String(length=64), nullable=True),
        sa.Column("autogiro_message", sa.Text(), nullable=True),
        sa.Column("autogiro_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("billecta_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("billecta_error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["creditor"],
            ["creditor.id"],
            name=op.f("fk_creditordebtor_creditor_creditor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["debtor"],
            ["debtor.id"],
            name=op.f("fk_creditordebtor_debtor_debtor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creditordebtor")),
        sa.UniqueConstraint("creditor", "debtor", name=op.f("uq_creditordebtor_creditor_debtor")),
        sa.UniqueConstraint("debtorpublicid", name=op.f("uq_creditordebtor_debtorpublicid")),
    )
    op.create_index(
        op.f("ix_creditordebtor_change_no"), "creditordebtor", ["change_no"], unique=False
    )
    op.create_index(
        op.f("ix_creditordebtor_creditor"), "creditordebtor", ["creditor"], unique=False
    )
    op.create_index(op.f("ix_creditordebtor_debtor"), "creditordebtor", ["debtor"], unique=False)
    op.create_table(
        "order",
        sa.Column("creditor", sa.BigInteger(), nullable=True),
        sa.Column("debtor", sa.BigInteger(), nullable=True),
        sa.Column("contract", sa.BigInteger(), nullable=True),
        sa.Column("orderstatus", sa.String(length=32), server_default="created", nullable=True),
        sa.Column("actionpublicid", sa.String(length=64), nullable=True),
        sa.Column("invoicedate", sa.Date(), nullable=True),
        sa.Column("duedate", sa.Date(), nullable=True),
        sa.Column("deliverymethod", sa.String(length=32), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("ourreference", sa.String(length=255), nullable=True),
        sa.Column("yourreference", sa.String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("billecta_error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contract"],
            ["contract.id"],
            name=op.f("fk_order_contract_contract"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["creditor"],
            ["creditor.id"],
            name=op.f("fk_order_creditor_creditor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["debtor"],
            ["debtor.id"],
            name=op.f("fk_order_debtor_debtor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order")),
        sa.UniqueConstraint("actionpublicid", name=op.f("uq_order_actionpublicid")),
    )
    op.create_index(op.f("ix_order_change_no"), "order", ["change_no"], unique=False)
    op.create_index(op.f("ix_order_contract"), "order", ["contract"], unique=False)
    op.create_index(op.f("ix_order_creditor"), "order", ["creditor"], unique=False)
    op.create_index(op.f("ix_order_debtor"), "order", ["debtor"], unique=False)
    op.create_table(
        "invoice",
        sa.Column("order", sa.BigInteger(), nullable=True),
        sa.Column("creditor", sa.BigInteger(), nullable=True),
        sa.Column("debtor", sa.BigInteger(), nullable=True),
        sa.Column("creditordebtor", sa.BigInteger(), nullable=True),
        sa.Column("contract", sa.BigInteger(), nullable=True),
        sa.Column("actionpublicid", sa.String(length=64), nullable=True),
        sa.Column("invoicenumber", sa.String(length=64), nullable=True),
        sa.Column("ocr", sa.String(length=64), nullable=True),
        sa.Column("invoicestatus", sa.String(length=32), nullable=True),
        sa.Column("invoicedate", sa.Date(), nullable=True),
        sa.Column("invoice_expires", sa.Date(), nullable=True),
        sa.Column("invoice_sent_date", sa.Date(), nullable=True),
        sa.Column("paid_date", sa.Date(), nullable=True),
        sa.Column("invoice_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("invoice_balance", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("paid_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("credited_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("writtenoff_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("vat_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("deliverymethod", sa.String(length=32), nullable=True),
        sa.Column("is_credit_invoice", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("credited_invoice", sa.BigInteger(), nullable=True),
        sa.Column("credit_invoice_actionpublicid", sa.String(length=64), nullable=True),
        sa.Column("is_reminder_invoice", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("source_invoice", sa.BigInteger(), nullable=True),
        sa.Column("disputed", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("paused", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("next_event", sa.String(length=255), nullable=True),
        sa.Column("next_event_date", sa.Date(), nullable=True),
        sa.Column(
            "autogiro_withdrawal_enabled", sa.Boolean(), server_default="false", nullable=False
        ),
        sa.Column("autogiro_withdrawal_status", sa.String(length=64), nullable=True),
        sa.Column("autogiro_withdrawal_message", sa.Text(), nullable=True),
        sa.Column("invoice_pdf", sa.BigInteger(), nullable=True),
        sa.Column("billecta_stage", sa.String(length=64), nullable=True),
        sa.Column("billecta_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("billecta_error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contract"],
            ["contract.id"],
            name=op.f("fk_invoice_contract_contract"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["credited_invoice"],
            ["invoice.id"],
            name=op.f("fk_invoice_credited_invoice_invoice"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["creditor"],
            ["creditor.id"],
            name=op.f("fk_invoice_creditor_creditor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["creditordebtor"],
            ["creditordebtor.id"],
            name=op.f("fk_invoice_creditordebtor_creditordebtor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["debtor"],
            ["debtor.id"],
            name=op.f("fk_invoice_debtor_debtor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_pdf"],
            ["document.id"],
            name=op.f("fk_invoice_invoice_pdf_document"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order"],
            ["order.id"],
            name=op.f("fk_invoice_order_order"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["source_invoice"],
            ["invoice.id"],
            name=op.f("fk_invoice_source_invoice_invoice"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice")),
        sa.UniqueConstraint("actionpublicid", name=op.f("uq_invoice_actionpublicid")),
    )
    op.create_index(op.f("ix_invoice_change_no"), "invoice", ["change_no"], unique=False)
    op.create_index(op.f("ix_invoice_contract"), "invoice", ["contract"], unique=False)
    op.create_index(
        op.f("ix_invoice_credited_invoice"), "invoice", ["credited_invoice"], unique=False
    )
    op.create_index(
        "ix_invoice_creditor_invoicedate", "invoice", ["creditor", "invoicedate"], unique=False
    )
    op.create_index(op.f("ix_invoice_creditordebtor"), "invoice", ["creditordebtor"], unique=False)
    op.create_index(op.f("ix_invoice_debtor"), "invoice", ["debtor"], unique=False)
    op.create_index(op.f("ix_invoice_invoice_pdf"), "invoice", ["invoice_pdf"], unique=False)
    op.create_index(op.f("ix_invoice_ocr"), "invoice", ["ocr"], unique=False)
    op.create_index(op.f("ix_invoice_order"), "invoice", ["order"], unique=False)
    op.create_index(op.f("ix_invoice_source_invoice"), "invoice", ["source_invoice"], unique=False)
    op.create_index(
        "ix_invoice_status_expires", "invoice", ["invoicestatus", "invoice_expires"], unique=False
    )
    op.create_table(
        "orderrow",
        sa.Column("order", sa.BigInteger(), nullable=True),
        sa.Column("article", sa.BigInteger(), nullable=True),
        sa.Column("rowtype", sa.String(length=32), server_default="standard", nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("unitprice", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("vat", sa.Numeric(precision=9, scale=4), nullable=True),
        sa.Column("discount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["article"],
            ["article.id"],
            name=op.f("fk_orderrow_article_article"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order"],
            ["order.id"],
            name=op.f("fk_orderrow_order_order"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orderrow")),
    )
    op.create_index(op.f("ix_orderrow_article"), "orderrow", ["article"], unique=False)
    op.create_index(op.f("ix_orderrow_change_no"), "orderrow", ["change_no"], unique=False)
    op.create_index("ix_orderrow_order_position", "orderrow", ["order", "position"], unique=False)
    op.create_table(
        "debtcollection",
        sa.Column("invoice", sa.BigInteger(), nullable=True),
        sa.Column("debtor", sa.BigInteger(), nullable=True),
        sa.Column("creditor", sa.BigInteger(), nullable=True),
        sa.Column("contract", sa.BigInteger(), nullable=True),
        sa.Column("actionpublicid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("debt_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("current_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("interest_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("fees_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("interest_percentage", sa.Numeric(precision=9, scale=4), nullable=True),
        sa.Column("interest_type", sa.String(length=64), nullable=True),
        sa.Column("interest_start_days", sa.BigInteger(), nullable=True),
        sa.Column("next_event", sa.String(length=255), nullable=True),
        sa.Column("next_event_date", sa.Date(), nullable=True),
        sa.Column("deliverymethod", sa.String(length=32), nullable=True),
        sa.Column("billecta_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("billecta_error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contract"],
            ["contract.id"],
            name=op.f("fk_debtcollection_contract_contract"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["creditor"],
            ["creditor.id"],
            name=op.f("fk_debtcollection_creditor_creditor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["debtor"],
            ["debtor.id"],
            name=op.f("fk_debtcollection_debtor_debtor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice"],
            ["invoice.id"],
            name=op.f("fk_debtcollection_invoice_invoice"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debtcollection")),
        sa.UniqueConstraint("actionpublicid", name=op.f("uq_debtcollection_actionpublicid")),
    )
    op.create_index(
        op.f("ix_debtcollection_change_no"), "debtcollection", ["change_no"], unique=False
    )
    op.create_index(
        op.f("ix_debtcollection_contract"), "debtcollection", ["contract"], unique=False
    )
    op.create_index(
        op.f("ix_debtcollection_creditor"), "debtcollection", ["creditor"], unique=False
    )
    op.create_index(op.f("ix_debtcollection_debtor"), "debtcollection", ["debtor"], unique=False)
    op.create_index(op.f("ix_debtcollection_invoice"), "debtcollection", ["invoice"], unique=False)
    op.create_table(
        "payment",
        sa.Column("invoice", sa.BigInteger(), nullable=True),
        sa.Column("creditor", sa.BigInteger(), nullable=True),
        sa.Column("creditordebtor", sa.BigInteger(), nullable=True),
        sa.Column("used_on_invoice", sa.BigInteger(), nullable=True),
        sa.Column("paymentreferenceid", sa.String(length=64), nullable=True),
        sa.Column("actionpublicid", sa.String(length=64), nullable=True),
        sa.Column("unhandledpaymentpublicid", sa.String(length=64), nullable=True),
        sa.Column("paymenttype", sa.String(length=32), nullable=True),
        sa.Column("paymentstatus", sa.String(length=32), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("paymentdate", sa.Date(), nullable=True),
        sa.Column("paymentmeancode", sa.String(length=32), nullable=True),
        sa.Column("ocr", sa.String(length=64), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("bookkeepingaccount", sa.String(length=16), nullable=True),
        sa.Column("sender_name", sa.String(length=255), nullable=True),
        sa.Column("sender_address", sa.String(length=255), nullable=True),
        sa.Column("sender_zipcode", sa.String(length=32), nullable=True),
        sa.Column("sender_city", sa.String(length=255), nullable=True),
        sa.Column("sender_orgno", sa.String(length=32), nullable=True),
        sa.Column("billecta_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("billecta_error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "custom", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("change_no", sa.BigInteger(), server_default=sa.FetchedValue(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["creditor"],
            ["creditor.id"],
            name=op.f("fk_payment_creditor_creditor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["creditordebtor"],
            ["creditordebtor.id"],
            name=op.f("fk_payment_creditordebtor_creditordebtor"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice"],
            ["invoice.id"],
            name=op.f("fk_payment_invoice_invoice"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["used_on_invoice"],
            ["invoice.id"],
            name=op.f("fk_payment_used_on_invoice_invoice"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint(
            "paymentreferenceid",
            "actionpublicid",
            name=op.f("uq_payment_paymentreferenceid_actionpublicid"),
            postgresql_nulls_not_distinct=True,
        ),
        sa.UniqueConstraint(
            "unhandledpaymentpublicid", name=op.f("uq_payment_unhandledpaymentpublicid")
        ),
    )
    op.create_index(op.f("ix_payment_actionpublicid"), "payment", ["actionpublicid"], unique=False)
    op.create_index(op.f("ix_payment_change_no"), "payment", ["change_no"], unique=False)
    op.create_index(
        "ix_payment_creditor_paymentdate", "payment", ["creditor", "paymentdate"], unique=False
    )
    op.create_index(op.f("ix_payment_creditordebtor"), "payment", ["creditordebtor"], unique=False)
    op.create_index(op.f("ix_payment_invoice"), "payment", ["invoice"], unique=False)
    op.create_index(op.f("ix_payment_ocr"), "payment", ["ocr"], unique=False)
    op.create_index(
        op.f("ix_payment_used_on_invoice"), "payment", ["used_on_invoice"], unique=False
    )

    _create_triggers()


def downgrade() -> None:
    _drop_triggers()
    op.drop_index(op.f("ix_payment_used_on_invoice"), table_name="payment")
    op.drop_index(op.f("ix_payment_ocr"), table_name="payment")
    op.drop_index(op.f("ix_payment_invoice"), table_name="payment")
    op.drop_index(op.f("ix_payment_creditordebtor"), table_name="payment")
    op.drop_index("ix_payment_creditor_paymentdate", table_name="payment")
    op.drop_index(op.f("ix_payment_change_no"), table_name="payment")
    op.drop_index(op.f("ix_payment_actionpublicid"), table_name="payment")
    op.drop_table("payment")
    op.drop_index(op.f("ix_debtcollection_invoice"), table_name="debtcollection")
    op.drop_index(op.f("ix_debtcollection_debtor"), table_name="debtcollection")
    op.drop_index(op.f("ix_debtcollection_creditor"), table_name="debtcollection")
    op.drop_index(op.f("ix_debtcollection_contract"), table_name="debtcollection")
    op.drop_index(op.f("ix_debtcollection_change_no"), table_name="debtcollection")
    op.drop_table("debtcollection")
    op.drop_index("ix_orderrow_order_position", table_name="orderrow")
    op.drop_index(op.f("ix_orderrow_change_no"), table_name="orderrow")
    op.drop_index(op.f("ix_orderrow_article"), table_name="orderrow")
    op.drop_table("orderrow")
    op.drop_index("ix_invoice_status_expires", table_name="invoice")
    op.drop_index(op.f("ix_invoice_source_invoice"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_order"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_ocr"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_invoice_pdf"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_debtor"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_creditordebtor"), table_name="invoice")
    op.drop_index("ix_invoice_creditor_invoicedate", table_name="invoice")
    op.drop_index(op.f("ix_invoice_credited_invoice"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_contract"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_change_no"), table_name="invoice")
    op.drop_table("invoice")
    op.drop_index(op.f("ix_order_debtor"), table_name="order")
    op.drop_index(op.f("ix_order_creditor"), table_name="order")
    op.drop_index(op.f("ix_order_contract"), table_name="order")
    op.drop_index(op.f("ix_order_change_no"), table_name="order")
    op.drop_table("order")
    op.drop_index(op.f("ix_creditordebtor_debtor"), table_name="creditordebtor")
    op.drop_index(op.f("ix_creditordebtor_creditor"), table_name="creditordebtor")
    op.drop_index(op.f("ix_creditordebtor_change_no"), table_name="creditordebtor")
    op.drop_table("creditordebtor")
    op.drop_index(op.f("ix_contract_debtor"), table_name="contract")
    op.drop_index(op.f("ix_contract_creditor"), table_name="contract")
    op.drop_index(op.f("ix_contract_change_no"), table_name="contract")
    op.drop_table("contract")
    op.drop_index("ix_webhook_event_object_object", table_name="webhook_event_object")
    op.drop_table("webhook_event_object")
    op.drop_index("ix_integration_monitor_log_status_updated", table_name="integration_monitor_log")
    op.drop_index("ix_integration_monitor_log_object", table_name="integration_monitor_log")
    op.drop_index("ix_integration_monitor_log_batch_status", table_name="integration_monitor_log")
    op.drop_table("integration_monitor_log")
    op.drop_index(op.f("ix_debtor_person"), table_name="debtor")
    op.drop_index(op.f("ix_debtor_company"), table_name="debtor")
    op.drop_index(op.f("ix_debtor_change_no"), table_name="debtor")
    op.drop_table("debtor")
    op.drop_index(op.f("ix_creditorarticle_creditor"), table_name="creditorarticle")
    op.drop_index(op.f("ix_creditorarticle_change_no"), table_name="creditorarticle")
    op.drop_index(op.f("ix_creditorarticle_article"), table_name="creditorarticle")
    op.drop_table("creditorarticle")
    op.drop_index("ix_webhook_event_type_received", table_name="webhook_event")
    op.drop_index("ix_webhook_event_status_next_attempt", table_name="webhook_event")
    op.drop_index(op.f("ix_webhook_event_creditorpublicid"), table_name="webhook_event")
    op.drop_table("webhook_event")
    op.drop_index("ix_tombstone_limetype_change_no", table_name="tombstone")
    op.drop_table("tombstone")
    op.drop_index(op.f("ix_person_change_no"), table_name="person")
    op.drop_table("person")
    op.drop_index(op.f("ix_object_alias_target_id"), table_name="object_alias")
    op.drop_table("object_alias")
    op.drop_index(
        op.f("ix_integration_monitor_batch_status"), table_name="integration_monitor_batch"
    )
    op.drop_table("integration_monitor_batch")
    op.drop_index(op.f("ix_idempotency_record_expires_at"), table_name="idempotency_record")
    op.drop_table("idempotency_record")
    op.drop_index("ix_document_owner", table_name="document")
    op.drop_table("document")
    op.drop_table("cron_run")
    op.drop_index(op.f("ix_creditor_change_no"), table_name="creditor")
    op.drop_table("creditor")
    op.drop_index(op.f("ix_company_change_no"), table_name="company")
    op.drop_table("company")
    op.drop_index("ix_audit_object", table_name="audit")
    op.drop_index("ix_audit_at", table_name="audit")
    op.drop_table("audit")
    op.drop_index(op.f("ix_article_change_no"), table_name="article")
    op.drop_table("article")
