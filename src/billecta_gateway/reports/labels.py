"""The words reports show for option keys (Lime's option labels), by property name."""

from __future__ import annotations

from collections.abc import Mapping

OPTION_LABELS: dict[str, dict[str, str]] = {
    "invoicestatus": {
        "attested": "Attested",
        "sent": "Sent",
        "subpaid": "Partially paid",
        "paid": "Paid",
        "expired": "Overdue",
        "credited": "Credited",
        "cancelled": "Cancelled",
    },
    "orderstatus": {
        "created": "Created",
        "processing": "Processing",
        "upserted": "Sent to Billecta",
        "errorupsert": "Error sending to Billecta",
        "attested": "Attested",
        "errorattest": "Error attesting",
        "credited": "Credited",
        "cancelled": "Cancelled",
        "completed": "Completed",
    },
    "paymentstatus": {
        "received": "Received",
        "unmatched": "Unmatched",
        "overpayment": "Overpayment",
        "usedoninvoice": "Used on invoice",
        "deleted": "Deleted",
    },
    "paymenttype": {
        "payment": "Payment",
        "writeoff": "Write-off",
        "credit": "Credit",
        "overpayment": "Overpayment",
        "unmatched": "Unmatched payment",
        "manual": "Manual payment",
    },
    "deliverymethod": {
        "email": "Email",
        "mail": "Mail",
        "sms": "SMS",
        "einvoice": "E-invoice",
        "kivra": "Kivra",
        "manual": "Manual",
    },
    "debtortype": {"private": "Private person", "company": "Company"},
    "rowtype": {"standard": "Standard", "package": "Package", "message": "Message"},
    "articletype": {"standard": "Standard", "package": "Package"},
}


def labels_for(name: str, options: Mapping[str, str] | None = None) -> dict[str, str]:
    """The labels of a property's options: the configured ones over the built-in ones."""
    return {**OPTION_LABELS.get(name, {}), **(options or {})}


def option_label(name: str, key: str | None) -> str | None:
    """The label of one option key of a built-in property (the key itself when unknown)."""
    if key is None:
        return None
    return OPTION_LABELS.get(name, {}).get(key, key)
