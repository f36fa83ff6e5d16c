"""billecta-gateway: an async gateway between Lime CRM and the Billecta invoicing API."""

__version__ = "0.1.0"
