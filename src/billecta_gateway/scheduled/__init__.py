"""Scheduled jobs (arq cron): invoice expiry, and the bookkeeping every cron shares."""
