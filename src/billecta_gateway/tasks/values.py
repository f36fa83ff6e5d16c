"""The mapped values of one object, as Billecta expects them, and the read-modify-write overlay.

`MappedValues.collect` reads every field of a mapping table for one object (following
relations, loading each related object once per job) and converts it (option keys to Billecta
names, money to amounts, dates); `overlay` writes the values over what Billecta returned, so
the fields the mapping does not cover survive an update.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta.schemas import BillectaAmount, decimal_to_number
from billecta_gateway.lime.mappings import (
    ENUMS,
    EXTRA_ENUM_NAMES,
    FieldMapping,
    MappingValueError,
    SectionMapping,
    ViewSpec,
)
from billecta_gateway.lime.schema import LimeSchema, LimetypeSpec
from billecta_gateway.models import LimeObject


class ObjectLoader:
    """Loads related objects by limetype and id, each at most once per job."""

    def __init__(self, session: AsyncSession, schema: LimeSchema) -> None:
        self.session = session
        self.schema = schema
        self._cache: dict[tuple[str, int], LimeObject | None] = {}

    def remember(self, limetype: str, obj: LimeObject) -> None:
        """Seed the cache with an object the caller already holds."""
        self._cache[(limetype, obj.id)] = obj

    async def get(self, limetype: str, object_id: int) -> LimeObject | None:
        key = (limetype, object_id)
        if key not in self._cache:
            spec = self.schema.get(limetype)
            self._cache[key] = (
                None if spec is None else await self.session.get(spec.model, object_id)
            )
        return self._cache[key]


def property_value(spec: LimetypeSpec, obj: LimeObject, name: str) -> Any:
    """A property's Python value (custom properties converted from their JSONB form)."""
    if name == "_id":
        return obj.id
    prop = spec.properties[name]
    if prop.custom:
        stored = (obj.custom or {}).get(name)
        try:
            return prop.from_storage(stored)
        except (ValueError, TypeError):
            return stored
    return getattr(obj, name)


async def _follow(
    loader: ObjectLoader,
    view: ViewSpec,
    obj: LimeObject,
    roots: Mapping[str, LimeObject],
    path: tuple[str, ...],
) -> Any:
    spec = loader.schema.get(view.limetype)
    assert spec is not None
    current: LimeObject | None = obj
    parts = path
    if path[0] in view.roots and len(path) > 1:
        current = roots.get(path[0])
        spec = loader.schema.get(view.roots[path[0]])
        assert spec is not None
        parts = path[1:]
    for part in parts[:-1]:
        if current is None:
            return None
        related_id = property_value(spec, current, part)
        relation = spec.properties[part].relation
        assert relation is not None
        related_spec = loader.schema.get(relation)
        assert related_spec is not None
        current = None if related_id is None else await loader.get(relation, int(related_id))
        spec = related_spec
    if current is None:
        return None
    return property_value(spec, current, parts[-1])


def _as_decimal(value: Any, target: str) -> Decimal:
    if isinstance(value, bool):
        raise MappingValueError(f"{target}: {value!r} is not a number")
    try:
        number = Decimal(str(value).strip().replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise MappingValueError(f"{target}: {str(value)!r} is not a number") from None
    if not number.is_finite():
        raise MappingValueError(f"{target}: {str(value)!r} is not a number")
    return number


def convert(mapping: FieldMapping, value: Any, *, currency: str) -> Any:
    """A Lime value as the JSON value Billecta expects for the mapped field."""
    if value is None:
        return None
    kind = mapping.spec.kind
    target = mapping.target
    if kind == "str":
        if isinstance(value, Decimal):
            return format(value.normalize(), "f") if value == value.to_integral() else str(value)
        if isinstance(value, date | datetime):
            return value.isoformat()
        return str(value)
    if kind == "int":
        number = _as_decimal(value, target)
        if number != number.to_integral_value():
            raise MappingValueError(f"{target}: {str(value)!r} is not a whole number")
        return int(number)
    if kind == "decimal":
        return decimal_to_number(_as_decimal(value, target))
    if kind == "amount":
        try:
            return BillectaAmount.from_decimal(_as_decimal(value, target), currency).to_wire()
        except ValueError as exc:
            raise MappingValueError(f"{target}: {exc}") from None
    if kind == "bool":
        return bool(value)
    if kind == "date":
        day = value.date() if isinstance(value, datetime) else value
        return day.isoformat()
    table = ENUMS[mapping.spec.enum or ""]
    text = str(value)
    if text.lower() in table:
        return table[text.lower()]
    if text in table.values() or text in EXTRA_ENUM_NAMES.get(mapping.spec.enum or "", ()):
        return text
    raise MappingValueError(
        f"{target}: {text!r} has no Billecta value (use one of {', '.join(table)})"
    )


@dataclass
class MappedValues:
    """The mapped Billecta values of one object: `values` by Billecta field (None = unset)."""

    values: dict[str, Any]

    @classmethod
    async def collect(
        cls,
        section: SectionMapping,
        loader: ObjectLoader,
        obj: LimeObject,
        *,
        roots: Mapping[str, LimeObject] | None = None,
        currency: str = "SEK",
    ) -> MappedValues:
        """Read and convert every mapped field; MappingValueError lists every bad value."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for mapping in section.fields:
            value = None
            for path in mapping.sources:
                value = await _follow(loader, section.view, obj, roots or {}, path)
                if value is not None and value != "":
                    break
            try:
                values[mapping.target] = convert(mapping, value, currency=currency)
            except MappingValueError as exc:
                problems.append(str(exc))
        if problems:
            raise MappingValueError("; ".join(problems))
        return cls(values)

    def get(self, target: str) -> Any:
        return self.values.get(target)


def overlay(wire: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`wire` (Billecta's view, PascalCase) with the mapped values written over it.

    Nested objects are merged key by key; an unset value removes the field, so a property
    cleared in Lime is cleared in Billecta. Everything the mapping does not name is kept.
    """
    result: dict[str, Any] = copy.deepcopy(dict(wire))
    for target, value in values.items():
        parts = target.split(".")
        node = result
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                if value is None:
                    break
                child = {}
                node[part] = child
            node = child
        else:
            if value is None:
                node.pop(parts[-1], None)
            else:
                node[parts[-1]] = value
    return result
