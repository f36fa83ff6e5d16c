"""Debtors: upsert and anonymize in Billecta, per creditor relation."""
