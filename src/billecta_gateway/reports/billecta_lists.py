"""Billecta's unpaged lists read once and parsed one item at a time.

Billecta answers a creditor's open (or closed) invoices as one JSON array (no paging). Parsing
it whole holds every item as a dict and a model at once (hundreds of MB for 100,000 invoices);
here the body is kept as bytes and decoded in slices, one item validated at a time.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from billecta_gateway.billecta import ROUTES, BillectaClient
from billecta_gateway.billecta.errors import BillectaApiRequestException
from billecta_gateway.billecta.schemas import BillectaInvoiceActionSub

SLICE_BYTES = 1 << 20
_WHITESPACE = " \t\r\n"


def iter_json_array(data: bytes, slice_bytes: int = SLICE_BYTES) -> Iterator[Any]:
    """The items of a JSON array, decoded from `data` a slice at a time (ValueError if the
    body is not an array)."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buffer, position, offset = "", 0, 0

    def more() -> bool:
        nonlocal buffer, position, offset
        if offset >= len(data):
            return False
        end = offset + slice_bytes
        piece = utf8.decode(data[offset:end], final=end >= len(data))
        buffer, position, offset = buffer[position:] + piece, 0, end
        return True

    def next_char() -> str:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in _WHITESPACE:
                position += 1
            if position < len(buffer):
                return buffer[position]
            if not more():
                return ""

    if next_char() == "":
        return
    if next_char() != "[":
        raise ValueError("expected a JSON array")
    position += 1
    if next_char() == "]":
        return
    while True:
        next_char()
        try:
            item, end = decoder.raw_decode(buffer, position)
            complete = end < len(buffer) or offset >= len(data)
        except json.JSONDecodeError:
            complete = False
        if not complete:
            if not more():
                raise ValueError("the JSON array is cut short")
            continue
        yield item
        position = end
        separator = next_char()
        position += 1
        if separator == "":
            raise ValueError("the JSON array is cut short")
        if separator == "]":
            return
        if separator != ",":
            raise ValueError("expected , or ] between array items")


async def list_body(
    billecta: BillectaClient,
    route_name: str,
    params: Mapping[str, str] | None = None,
    **path: str,
) -> bytes:
    """The raw body of one of Billecta's list routes (one request, through the effective route
    table, so `BILLECTA_ROUTES_FILE` overrides apply here too)."""
    return await billecta.list_bytes(route_name, params, **path)


async def open_invoices_body(billecta: BillectaClient, creditor_public_id: str) -> bytes:
    """The raw body of the creditor's open-invoice list."""
    return await list_body(billecta, "get_open_invoices", creditor_public_id=creditor_public_id)


async def closed_invoices_body(
    billecta: BillectaClient, creditor_public_id: str, start: date, end: date
) -> bytes:
    """The raw body of the creditor's invoices closed from `start` to `end` (both included)."""
    return await list_body(
        billecta,
        "get_closed_invoices",
        {"from": start.isoformat(), "to": end.isoformat()},
        creditor_public_id=creditor_public_id,
    )


def iter_invoice_list(
    data: bytes, route_name: str = "get_open_invoices"
) -> Iterator[BillectaInvoiceActionSub]:
    """An invoice list's rows, validated one at a time."""
    try:
        for item in iter_json_array(data):
            yield BillectaInvoiceActionSub.model_validate(item)
    except ValueError as exc:
        route = ROUTES[route_name]
        raise BillectaApiRequestException(
            f"unexpected answer from Billecta to {route.name}: {exc}",
            method=route.method,
            path=route.path,
        ) from None
