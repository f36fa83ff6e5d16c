"""The database's binding to one Billecta: recorded on first use, enforced at start-up."""
