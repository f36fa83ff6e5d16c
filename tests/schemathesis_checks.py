"""Schemathesis checks of our own, loaded by `tests/test_schemathesis.py` (SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def no_unexpected_server_error(ctx: Any, response: Any, case: Any) -> None:
    """No 5xx, except a 500 the spec documents for the route (e.g. Billecta failed or the id
    is missing); those carry their documented body, unexpected errors carry a request id."""
    if response.status_code < 500:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    spec_answer = (
        response.status_code == 500 and isinstance(body, dict) and "request_id" not in body
    )
    if not spec_answer:
        raise AssertionError(f"Server error {response.status_code}: {response.text[:500]}")
