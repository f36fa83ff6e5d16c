"""Swish payment requests for invoices."""
