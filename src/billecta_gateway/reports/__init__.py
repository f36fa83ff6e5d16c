"""Reports: accounts receivable, account reconciliation and configurable reports, as xlsx or PDF."""
