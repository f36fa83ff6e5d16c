"""Creditors: push the Lime creditor to Billecta and fetch Billecta's default settings."""
