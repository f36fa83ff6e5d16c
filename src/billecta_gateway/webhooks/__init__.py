"""Webhooks from Billecta: receiver, inbox, event registry and handlers, reconciliation."""
