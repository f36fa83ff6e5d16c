"""Orders: upsert, attest and delete as Billecta invoice actions; order-row messages."""
