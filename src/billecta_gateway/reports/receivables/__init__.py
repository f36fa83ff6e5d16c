"""The accounts receivable report (Kundreskontra)."""

from billecta_gateway.reports.receivables.report import build_receivables_report

__all__ = ["build_receivables_report"]
