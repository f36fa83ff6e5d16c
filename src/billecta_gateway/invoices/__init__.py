"""Invoice operations against Billecta, the invoice state mapping and the invoice refresh."""
