"""Debt collection operations against Billecta: next event, postpone, cancel, escalate."""
