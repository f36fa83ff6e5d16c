"""Lime's value shapes (lime-api.md §1.3, §1.8) to and from the gateway's Python values.

Reads: text is ``""`` when empty, an option is ``{"id", "key", "text"}`` over REST and the key
string in webhooks, a relation is the related ``_id`` or null, a date is an ISO date-time with
an offset. Writes: text never ``null`` (Lime refuses it; ``""`` clears), an option is its key,
a date is midnight in ``BUSINESS_TIMEZONE`` with its offset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from billecta_gateway.billecta.schemas import decimal_to_number
from billecta_gateway.lime.schema import LimeSchema, PropertySpec
from billecta_gateway.limecrm.errors import LimeCodecError

# Lime's own empty option (seen in REST reads and webhook values).
EMPTY_OPTION_KEY = "empty"


def parse_lime_datetime(value: str, tz: ZoneInfo) -> datetime:
    """An ISO date or date-time from Lime as an aware datetime (naive ones are local to ``tz``)."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise LimeCodecError(f"{value!r} is not an ISO-8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


class LimeCodec:
    """Converts one limetype's property values between Lime's JSON and Python, both ways."""

    def __init__(self, schema: LimeSchema, timezone: ZoneInfo) -> None:
        self.schema = schema
        self.tz = timezone

    def _spec(self, limetype: str) -> dict[str, PropertySpec]:
        spec = self.schema.get(limetype)
        if spec is None:
            raise LimeCodecError(f"limetype {limetype!r} is not mirrored by the gateway")
        return spec.properties

    def decode(self, limetype: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """The mirrored properties present in a Lime object, as Python values.

        Lime's system keys (``_id``, ``_links``...) and properties the gateway does not mirror
        are left out; a value of the wrong shape raises ``LimeCodecError`` naming the property.
        """
        values: dict[str, Any] = {}
        for name, prop in self._spec(limetype).items():
            if name not in obj or prop.kind == "json":
                continue
            try:
                values[name] = self.decode_value(prop, obj[name])
            except LimeCodecError as exc:
                raise LimeCodecError(f"{limetype}.{name}: {exc}") from None
        return values

    def encode(self, limetype: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """A Lime write body (POST/PUT) for the given mirrored properties."""
        props = self._spec(limetype)
        body: dict[str, Any] = {}
        for name, value in values.items():
            prop = props.get(name)
            if prop is None or prop.kind == "json":
                raise LimeCodecError(f"{limetype}.{name} is not a property the gateway writes")
            try:
                body[name] = self.encode_value(prop, value)
            except LimeCodecError as exc:
                raise LimeCodecError(f"{limetype}.{name}: {exc}") from None
        return body

    def decode_value(self, prop: PropertySpec, value: Any) -> Any:
        """One Lime value as the Python value of ``prop``'s kind."""
        kind = prop.kind
        if value is None:
            return None
        if kind == "string":
            if not isinstance(value, str):
                raise LimeCodecError("expected a string")
            return value or None
        if kind == "option":
            key = value.get("key") if isinstance(value, dict) else value
            if not isinstance(key, str):
                raise LimeCodecError(
                    "expected an option object {id, key, text} or an option key string"
                )
            return None if key in ("", EMPTY_OPTION_KEY) else key
        if kind in ("relation", "integer"):
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise LimeCodecError("expected an integer")
            try:
                return int(value)
            except ValueError:
                raise LimeCodecError("expected an integer") from None
        if kind == "decimal":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise LimeCodecError("expected a number")
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise LimeCodecError("expected a number") from None
            if not number.is_finite():
                raise LimeCodecError("expected a finite number")
            return number
        if kind == "boolean":
            if not isinstance(value, bool):
                raise LimeCodecError("expected true or false")
            return value
        if kind in ("date", "datetime"):
            if not isinstance(value, str):
                raise LimeCodecError("expected an ISO-8601 date-time")
            if value == "":
                return None
            moment = parse_lime_datetime(value, self.tz).astimezone(self.tz)
            return moment.date() if kind == "date" else moment
        raise LimeCodecError(f"cannot decode a {kind} property")

    def encode_value(self, prop: PropertySpec, value: Any) -> Any:
        """One Python value as Lime expects it in a write."""
        kind = prop.kind
        if kind == "string":
            if value is None:
                return ""
            if not isinstance(value, str):
                raise LimeCodecError("expected a string")
            return value
        if kind == "option":
            if value is None:
                return EMPTY_OPTION_KEY
            if not isinstance(value, str):
                raise LimeCodecError("expected an option key")
            return value
        if value is None:
            return None
        if kind in ("relation", "integer"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise LimeCodecError("expected an integer")
            return value
        if kind == "decimal":
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                raise LimeCodecError("expected a number")
            if isinstance(value, float) and not math.isfinite(value):
                raise LimeCodecError("expected a finite number")
            return decimal_to_number(Decimal(str(value)))
        if kind == "boolean":
            if not isinstance(value, bool):
                raise LimeCodecError("expected true or false")
            return value
        if kind == "date":
            if isinstance(value, datetime) or not isinstance(value, date):
                raise LimeCodecError("expected a date")
            return datetime.combine(value, time(0), self.tz).isoformat()
        if kind == "datetime":
            if not isinstance(value, datetime):
                raise LimeCodecError("expected a datetime")
            return (value if value.tzinfo else value.replace(tzinfo=self.tz)).isoformat()
        raise LimeCodecError(f"cannot encode a {kind} property")
