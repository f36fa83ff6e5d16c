"""Event handlers, one module per area; importing this package registers them all."""

from billecta_gateway.webhooks.handlers import (
    debtcollections,
    debtors,
    deletions,
    invoices,
    payments,
)

__all__ = ["debtcollections", "debtors", "deletions", "invoices", "payments"]
