"""Background tasks: the task contract (batch, fan-out, per-object jobs, re-drive)."""
