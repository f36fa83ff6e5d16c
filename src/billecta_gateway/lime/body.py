"""A PUT body read against a limetype's properties: every bad property reported at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billecta_gateway.errors import InvalidInput
from billecta_gateway.lime.schema import LimetypeSpec, PropertySpec

META_KEYS = frozenset({"_id", "_limetype", "_timestamp"})


def property_error(prop: str, message: str, kind: str, where: str = "body") -> dict[str, Any]:
    return {"loc": [where, prop], "field": prop, "message": message, "type": kind}


def raise_if_invalid(limetype: str, object_id: int, errors: list[dict[str, Any]]) -> None:
    if errors:
        fields = ", ".join(e["field"] for e in errors[:10])
        raise InvalidInput(
            f"{limetype} {object_id} was not written: invalid {fields}", errors=errors
        )


@dataclass
class ParsedBody:
    """The body's values by property; `custom` holds JSONB values (None removes the key)."""

    builtin: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)


def column_default(spec: LimetypeSpec, name: str) -> Any:
    default = spec.model.__table__.c[name].default
    return default.arg if default is not None and default.is_scalar else None


def _storable_text(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _coerce(spec: LimetypeSpec, prop: PropertySpec, raw: Any) -> Any:
    """The value to store for one property, or ValueError."""
    if prop.kind == "json":
        if raw is not None and not isinstance(raw, dict):
            raise ValueError("expected an object")
        return raw
    if isinstance(raw, str) and not _storable_text(raw):
        raise ValueError("holds characters that cannot be stored")
    value = prop.coerce(raw)
    if prop.custom:
        return value
    column = spec.model.__table__.c[prop.name]
    if value is None and not column.nullable:
        # `null` clears a property; a property that cannot be empty goes back to its default.
        return column_default(spec, prop.name)
    precision = getattr(column.type, "precision", None)
    if (
        isinstance(value, Decimal)
        and precision is not None
        and prop.scale is not None
        and abs(value) >= Decimal(10) ** (precision - prop.scale)
    ):
        raise ValueError("out of range")
    return value


def parse_body(
    spec: LimetypeSpec, object_id: int, body: dict[str, Any]
) -> tuple[ParsedBody, list[dict[str, Any]]]:
    """The body's values by property, and one error per property that cannot be stored."""
    parsed = ParsedBody()
    errors: list[dict[str, Any]] = []
    for key, raw in body.items():
        if key.startswith("_"):
            if key == "_id" and (isinstance(raw, bool) or raw != object_id):
                message, kind = f"must equal the id in the path ({object_id})", "id_mismatch"
            elif key == "_limetype" and raw != spec.name:
                message, kind = f"must equal the limetype in the path ({spec.name})", "mismatch"
            elif key not in META_KEYS:
                message, kind = "only _id, _limetype, _timestamp may start with _", "reserved"
            else:
                continue
            errors.append(property_error(key, message, kind))
            continue
        prop = spec.property(key)
        if prop is None:
            errors.append(
                property_error(key, f"{key!r} is not a property of {spec.name}", "unknown_property")
            )
            continue
        try:
            value = _coerce(spec, prop, raw)
        except ValueError as exc:
            errors.append(property_error(key, str(exc), "invalid_value"))
            continue
        if prop.custom:
            parsed.custom[key] = None if value is None else prop.to_storage(value)
        else:
            parsed.builtin[key] = value
    return parsed, errors
