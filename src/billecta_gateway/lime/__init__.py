"""Lime objects: the schema of the mirrored limetypes, ingestion, the read API and query filters."""
