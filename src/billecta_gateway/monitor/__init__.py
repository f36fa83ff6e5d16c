"""The integration monitor: batches of background work and one log per object (DESIGN §3.6)."""
