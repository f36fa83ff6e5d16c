"""Fixtures: the app with the task routers, the fake Billecta and a job context."""

from tests.tasks.fixtures import app, billecta, committed_client, ctx, fake

__all__ = ["app", "billecta", "committed_client", "ctx", "fake"]
