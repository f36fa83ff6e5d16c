"""A customer's Lime names for the gateway's limetypes, properties and option keys.

A customer's Lime application may name things differently. `LIME_SCHEMA_FILE` says how, per
limetype (the defaults are identical names):

    [debtor]
    lime_limetype = "kund"          # the Lime limetype
    [debtor.lime_names]
    name = "namn"                   # gateway property = Lime property
    gln = false                     # not in Lime
    [debtor.lime_options.debtortype]
    company = "foretag"             # gateway option key = Lime option key

Everything Lime sends is translated to the gateway's names before ingestion (`to_gateway`);
everything the gateway asks Lime for uses Lime's names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from billecta_gateway.config import ConfigurationError
from billecta_gateway.lime.schema import LimeSchema


@dataclass(frozen=True)
class LimetypeNames:
    """One limetype's Lime names; only what differs from the gateway's is stored."""

    limetype: str
    lime: str
    properties: dict[str, str | None] = field(default_factory=dict)
    options: dict[str, dict[str, str]] = field(default_factory=dict)

    def lime_property(self, name: str) -> str | None:
        """The Lime name of a gateway property (None: not in Lime)."""
        return self.properties.get(name, name)

    def to_gateway(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Lime's keys and option keys as the gateway's."""
        from_lime = {lime: gw for gw, lime in self.properties.items() if lime is not None}
        out: dict[str, Any] = {}
        for key, value in values.items():
            name = from_lime.get(key)
            if name is None:
                if key in self.properties:
                    continue  # a Lime property that only shares its name with a renamed one
                name = key
            table = self.options.get(name)
            if table is not None:
                found = value.get("key") if isinstance(value, dict) else value
                reverse = {lime_key: gw_key for gw_key, lime_key in table.items()}
                value = reverse.get(found, found) if isinstance(found, str) else found
            out[name] = value
        return out


class LimeNames:
    """Every mirrored limetype's Lime names, validated from the schema file."""

    def __init__(self, schema: LimeSchema) -> None:
        self.by_limetype: dict[str, LimetypeNames] = {}
        seen: dict[str, str] = {}
        for name, spec in schema.limetypes.items():
            config = schema.lime_names.get(name, {})
            where = f"LIME_SCHEMA_FILE [{name}]"
            lime = config.get("lime_limetype", name)
            if not isinstance(lime, str) or not lime:
                raise ConfigurationError(f"{where} lime_limetype must be a limetype name")
            if lime in seen:
                raise ConfigurationError(
                    f"{where} lime_limetype {lime!r} is also the Lime limetype of {seen[lime]}"
                )
            seen[lime] = name
            properties: dict[str, str | None] = {}
            for prop, target in (config.get("lime_names") or {}).items():
                if spec.property(prop) is None:
                    raise ConfigurationError(f"{where}.lime_names: {prop} is not a property")
                if target is False:
                    properties[prop] = None
                elif isinstance(target, str) and target:
                    properties[prop] = target
                else:
                    raise ConfigurationError(
                        f"{where}.lime_names: {prop} must be a Lime property name or false"
                    )
            targets = [t for t in properties.values() if t is not None]
            if len(set(targets)) != len(targets):
                raise ConfigurationError(f"{where}.lime_names: two properties share a Lime name")
            options: dict[str, dict[str, str]] = {}
            for prop, table in (config.get("lime_options") or {}).items():
                found = spec.property(prop)
                if found is None or found.kind != "option" or not isinstance(table, dict):
                    raise ConfigurationError(
                        f"{where}.lime_options: {prop} is not an option property"
                    )
                unknown = set(table) - set(found.options)
                if unknown:
                    raise ConfigurationError(
                        f"{where}.lime_options.{prop}: unknown keys {', '.join(sorted(unknown))}"
                    )
                options[prop] = {str(k): str(v) for k, v in table.items()}
            self.by_limetype[name] = LimetypeNames(name, lime, properties, options)
        self._gateway = {n.lime: n.limetype for n in self.by_limetype.values()}

    def lime_limetype(self, limetype: str) -> str:
        """The Lime name of a limetype (a limetype the gateway does not mirror keeps its own)."""
        found = self.by_limetype.get(limetype)
        return found.lime if found is not None else limetype

    def gateway_limetype(self, lime_limetype: str) -> str | None:
        """The mirrored limetype a Lime limetype is (None: not mirrored)."""
        return self._gateway.get(lime_limetype)

    def of(self, limetype: str) -> LimetypeNames:
        return self.by_limetype[limetype]


_cache: WeakKeyDictionary[LimeSchema, LimeNames] = WeakKeyDictionary()


def names_of(schema: LimeSchema) -> LimeNames:
    """The schema's Lime names (built and validated once per schema)."""
    found = _cache.get(schema)
    if found is None:
        found = _cache[schema] = LimeNames(schema)
    return found
