"""Lime's value shapes into the ingestion API's JSON shapes, before validation (issue 18 §3).

Wherever Lime data enters (webhooks, REST reads, the public PUT API):
- a date accepts an ISO date-time and takes its date in ``BUSINESS_TIMEZONE``;
- an option accepts its key or ``{id, key, text}``; ``""`` and the key ``empty`` mean null;
- Lime's meta keys (``_descriptive``, ``_links``..., and the unprefixed ``id``, ``timestamp``...
  of webhook values) are dropped.

Lime-sourced data (webhooks, REST reads) also drops the properties the gateway does not mirror
(Lime sends every key; each name is logged once per process) and the gateway-owned ones (Lime
holds stale or empty copies until write-back lands), and reads Lime's empty text ``""`` as null.
The public PUT API keeps refusing undeclared properties, so a typo never drops data silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from billecta_gateway.lime.schema import LimetypeSpec, PropertySpec
from billecta_gateway.limecrm.codec import EMPTY_OPTION_KEY, parse_lime_datetime
from billecta_gateway.limecrm.errors import LimeCodecError

logger = logging.getLogger("billecta_gateway.limecrm")

LIME_META_KEYS = frozenset(
    {
        "_descriptive",
        "_createdtime",
        "_createduser",
        "_updateduser",
        "_timestamp",
        "_links",
        "_embedded",
        "id",
        "timestamp",
        "createdtime",
        "createduser",
        "updateduser",
    }
)
# (limetype, property) names Lime sent that the gateway does not mirror, logged once each.
_unmirrored_seen: set[tuple[str, str]] = set()


def unmirrored_seen() -> frozenset[tuple[str, str]]:
    """Every unmirrored (limetype, property) Lime data carried in this process."""
    return frozenset(_unmirrored_seen)


def _note_unmirrored(limetype: str, name: str) -> None:
    if (limetype, name) not in _unmirrored_seen:
        _unmirrored_seen.add((limetype, name))
        logger.info("Lime sends %s.%s, which the gateway does not mirror: ignored", limetype, name)


def _value(prop: PropertySpec, value: Any, tz: ZoneInfo, *, lime_sourced: bool) -> Any:
    if prop.kind == "option":
        key = value.get("key") if isinstance(value, dict) else value
        if key in ("", EMPTY_OPTION_KEY):
            return None
        return key
    if prop.kind == "date" and isinstance(value, str) and len(value) > 10:
        try:
            return parse_lime_datetime(value, tz).astimezone(tz).date().isoformat()
        except LimeCodecError:
            return value  # validation names the property
    if prop.kind in ("date", "datetime") and value == "":
        return None
    if lime_sourced and prop.kind == "string" and value == "":
        return None
    return value


def normalise(
    spec: LimetypeSpec, body: Mapping[str, Any], tz: ZoneInfo, *, lime_sourced: bool = False
) -> dict[str, Any]:
    """The body with Lime's shapes turned into the ingestion API's (see the module docstring)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        prop = spec.property(key)
        if prop is None:
            if key in LIME_META_KEYS:
                continue
            if lime_sourced and key != "_id":
                if not key.startswith("_"):
                    _note_unmirrored(spec.name, key)
                continue
            out[key] = value
            continue
        if lime_sourced and (prop.gateway_owned or prop.owned_once_set or prop.kind == "json"):
            continue
        out[key] = _value(prop, value, tz, lime_sourced=lime_sourced)
    return out
