"""Billecta's JSON on the wire: request bodies encoded, answers decoded."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
from pydantic import BaseModel

from billecta_gateway.billecta.errors import BillectaApiRequestException
from billecta_gateway.billecta.schemas import decimal_to_number


def _json_default(value: object) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, Decimal):
        return decimal_to_number(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} to Billecta as JSON")


def encode_payload(payload: Any) -> bytes:
    """JSON body for Billecta: models by alias without nulls, Decimals as numbers."""
    return json.dumps(payload, default=_json_default, ensure_ascii=False).encode()


def parse_json(response: httpx.Response, method: str, path: str) -> Any:
    """An answer's JSON (None when empty; the text when it is not JSON and says so)."""
    if not response.content.strip():
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        if "json" in response.headers.get("Content-Type", "").lower():
            raise BillectaApiRequestException(
                f"Billecta sent invalid JSON for {method} {path}",
                status_code=response.status_code,
                method=method,
                path=path,
            ) from None
        return response.text
