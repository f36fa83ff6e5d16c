"""Articles: upsert and delete as Billecta products, per creditor relation."""
