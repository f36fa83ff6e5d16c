"""The event log of an object, from Billecta and from the gateway's own records."""
