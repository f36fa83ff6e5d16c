"""The sandbox's Limetype API, generated from the gateway's models plus the custom properties.

Gateway kinds map to Lime property types: string→string/text, option→option (with Lime's
``empty`` option first), relation→belongsto, date→date, datetime→time, boolean→yesno. Every
belongsto gets its hasmany counterpart on the related limetype, named after the source
limetype (or ``<limetype>_<property>`` when one limetype points there twice). A ``document``
limetype with a file property stands in for Lime's own, as the invoice PDF relation needs it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.names import names_of

_TYPES = {
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "datetime": "time",
    "boolean": "yesno",
    "option": "option",
    "relation": "belongsto",
}


@dataclass
class SandboxProperty:
    """One property as the Limetype API describes it."""

    name: str
    type: str
    length: int | None = None
    options: list[str] = field(default_factory=list)
    related: str | None = None
    related_property: str | None = None

    def option_id(self, key: str) -> int:
        """A stable numeric id for an option key (Lime gives every option one)."""
        return 100_000 + zlib.crc32(f"{self.name}:{key}".encode()) % 900_000

    def describe(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "localname": {"singular": self.name},
            "type": self.type,
            "required": False,
        }
        if self.length is not None:
            data["length"] = self.length
        if self.type == "option":
            data["options"] = [
                {"key": key, "text": "" if key == "empty" else key.title(), "inactive": False}
                for key in self.options
            ]
        if self.related:
            data["_links"] = {"related_type": {"name": self.related}}
        return data


@dataclass
class SandboxLimetype:
    name: str
    properties: dict[str, SandboxProperty] = field(default_factory=dict)

    def describe(self, base: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "localname": {"singular": self.name.title(), "plural": f"{self.name.title()}s"},
            "_embedded": {"properties": [p.describe() for p in self.properties.values()]},
            "_links": {"self": {"href": f"{base}limetype/{self.name}/"}},
        }


def build_limetypes(schema: LimeSchema) -> dict[str, SandboxLimetype]:
    """Every mirrored limetype (plus ``document``) with Lime property types, under the Lime
    names the schema file gives (`limecrm.names`), as a customer's Lime would have them."""
    types: dict[str, SandboxLimetype] = {}
    lime_names = names_of(schema)
    for spec in schema.limetypes.values():
        names = lime_names.of(spec.name)
        limetype = SandboxLimetype(names.lime)
        for prop in spec.properties.values():
            lime_name = names.lime_property(prop.name)
            if prop.kind == "json" or lime_name is None:
                continue  # gateway-internal, or not in this Lime
            if prop.kind == "string":
                kind = "text" if prop.max_length is None else "string"
            else:
                kind = _TYPES[prop.kind]
            keys = names.options.get(prop.name, {})
            limetype.properties[lime_name] = SandboxProperty(
                name=lime_name,
                type=kind,
                length=prop.max_length if kind == "string" else None,
                options=["empty", *(keys.get(k, k) for k in prop.options)]
                if kind == "option"
                else [],
                related=lime_names.lime_limetype(prop.relation) if prop.relation else None,
            )
        types[names.lime] = limetype
    document = SandboxLimetype("document")
    document.properties["comment"] = SandboxProperty("comment", "string", length=255)
    document.properties["document"] = SandboxProperty("document", "file")
    types["document"] = document
    _add_hasmany(types)
    return types


def _add_hasmany(types: dict[str, SandboxLimetype]) -> None:
    incoming: dict[str, list[tuple[str, str]]] = {}
    for limetype in types.values():
        for prop in limetype.properties.values():
            if prop.type == "belongsto" and prop.related in types:
                incoming.setdefault(prop.related, []).append((limetype.name, prop.name))
    for target, sources in incoming.items():
        owners = [source for source, _ in sources]
        for source, prop_name in sources:
            name = source if owners.count(source) == 1 else f"{source}_{prop_name}"
            if name in types[target].properties:
                name = f"{source}_{prop_name}"
            types[target].properties[name] = SandboxProperty(
                name=name, type="hasmany", related=source, related_property=prop_name
            )
