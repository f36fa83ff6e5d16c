"""Tests of the integration monitor."""
