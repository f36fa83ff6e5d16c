"""All SQLAlchemy tables: one import point for the application and for Alembic."""

from billecta_gateway.models.base import GATEWAY_ID_SEQUENCE, GATEWAY_ID_START, Base, LimeObject
from billecta_gateway.models.binding import BillectaBinding
from billecta_gateway.models.lime import (
    LIME_MODELS,
    Article,
    Company,
    Contract,
    Creditor,
    CreditorArticle,
    CreditorDebtor,
    DebtCollection,
    Debtor,
    Invoice,
    Order,
    OrderRow,
    Payment,
    Person,
)
from billecta_gateway.models.limecrm import (
    LimeObjectStamp,
    LimePollMark,
    LimeRateBucket,
    LimeRateProcess,
    LimeWebhookEvent,
)
from billecta_gateway.models.money import CreditNoteUse, UncertainOperation
from billecta_gateway.models.system import (
    AuditRecord,
    CronRun,
    Document,
    IdempotencyRecord,
    IntegrationMonitorBatch,
    IntegrationMonitorLog,
    ObjectAlias,
    Tombstone,
    WebhookEvent,
    WebhookEventObject,
)

LIMETYPES: dict[str, type[LimeObject]] = {model.__limetype__: model for model in LIME_MODELS}

__all__ = [
    "GATEWAY_ID_SEQUENCE",
    "GATEWAY_ID_START",
    "LIMETYPES",
    "LIME_MODELS",
    "Article",
    "AuditRecord",
    "Base",
    "BillectaBinding",
    "Company",
    "Contract",
    "CreditNoteUse",
    "Creditor",
    "CreditorArticle",
    "CreditorDebtor",
    "CronRun",
    "DebtCollection",
    "Debtor",
    "Document",
    "IdempotencyRecord",
    "IntegrationMonitorBatch",
    "IntegrationMonitorLog",
    "Invoice",
    "LimeObject",
    "LimeObjectStamp",
    "LimePollMark",
    "LimeRateBucket",
    "LimeRateProcess",
    "LimeWebhookEvent",
    "ObjectAlias",
    "Order",
    "OrderRow",
    "Payment",
    "Person",
    "Tombstone",
    "UncertainOperation",
    "WebhookEvent",
    "WebhookEventObject",
]
