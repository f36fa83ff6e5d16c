"""Payment operations against Billecta: match and delete unhandled payments."""
