"""Billecta v1 wire models (PascalCase on the wire, snake_case in Python).

Every model keeps fields it does not declare (``extra="allow"``), so a GET-modify-PUT round trip
never drops data the gateway does not map. Enumerations travel as their name strings.
Serialize with :meth:`BillectaModel.to_wire` (by alias, JSON types, nulls omitted).

The models live in four modules (base, parties, invoices, payments); this package is the one
import point.
"""

from billecta_gateway.billecta.schemas.base import (
    BillectaActionEvent,
    BillectaAmount,
    BillectaCreated,
    BillectaDateTime,
    BillectaDebtorEvent,
    BillectaDecimal,
    BillectaFile,
    BillectaModel,
    decimal_to_number,
    minor_unit_exponent,
)
from billecta_gateway.billecta.schemas.invoices import (
    BillectaCreditAction,
    BillectaDebtCollectionDetails,
    BillectaInvoiceAction,
    BillectaInvoiceActionEntry,
    BillectaInvoiceActionInvoice,
    BillectaInvoiceActionRecord,
    BillectaInvoiceActionState,
    BillectaInvoiceActionSub,
    BillectaRegisterPayment,
    BillectaSendReminderInvoice,
)
from billecta_gateway.billecta.schemas.parties import (
    BillectaCreditor,
    BillectaDebtor,
    BillectaDefaultActionConfig,
    BillectaProduct,
)
from billecta_gateway.billecta.schemas.payments import (
    BillectaDebtCollectionAction,
    BillectaDebtCollectionActionState,
    BillectaDebtCollectionActionSub,
    BillectaDebtCollectionFromInvoiceEntry,
    BillectaIncomingPayment,
    BillectaIncomingPaymentRequest,
    BillectaPaymentMatch,
    BillectaPaymentMatchResult,
    BillectaSearch,
    BillectaSearchResult,
    BillectaSwishPaymentStatus,
    BillectaUnhandledPayment,
)

__all__ = [
    "BillectaActionEvent",
    "BillectaAmount",
    "BillectaCreated",
    "BillectaCreditAction",
    "BillectaCreditor",
    "BillectaDateTime",
    "BillectaDebtCollectionAction",
    "BillectaDebtCollectionActionState",
    "BillectaDebtCollectionActionSub",
    "BillectaDebtCollectionDetails",
    "BillectaDebtCollectionFromInvoiceEntry",
    "BillectaDebtor",
    "BillectaDebtorEvent",
    "BillectaDecimal",
    "BillectaDefaultActionConfig",
    "BillectaFile",
    "BillectaIncomingPayment",
    "BillectaIncomingPaymentRequest",
    "BillectaInvoiceAction",
    "BillectaInvoiceActionEntry",
    "BillectaInvoiceActionInvoice",
    "BillectaInvoiceActionRecord",
    "BillectaInvoiceActionState",
    "BillectaInvoiceActionSub",
    "BillectaModel",
    "BillectaPaymentMatch",
    "BillectaPaymentMatchResult",
    "BillectaProduct",
    "BillectaRegisterPayment",
    "BillectaSearch",
    "BillectaSearchResult",
    "BillectaSendReminderInvoice",
    "BillectaSwishPaymentStatus",
    "BillectaUnhandledPayment",
    "decimal_to_number",
    "minor_unit_exponent",
]
