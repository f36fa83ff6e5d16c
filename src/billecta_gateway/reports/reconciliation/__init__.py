"""The account reconciliation report."""

from billecta_gateway.reports.reconciliation.report import build_reconciliation_report

__all__ = ["build_reconciliation_report"]
