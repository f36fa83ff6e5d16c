"""The mirrored limetypes, their properties and the declared custom properties.

Built-in properties come from the SQLAlchemy models (column type + `info`); custom properties
come from `LIME_SCHEMA_FILE` (TOML, e.g. `[debtor.custom] invoice_reference = "string"`) and
live in each table's JSONB column `custom`.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Numeric, String, Text, cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from billecta_gateway.config import ConfigurationError
from billecta_gateway.models import LIMETYPES, LimeObject

PropertyKind = Literal[
    "string", "integer", "decimal", "date", "datetime", "boolean", "option", "relation", "json"
]
CUSTOM_KINDS: frozenset[str] = frozenset(
    {"string", "integer", "decimal", "date", "datetime", "boolean", "option"}
)
# Columns every table has that are not Lime properties.
SYSTEM_COLUMNS = frozenset(
    {"id", "custom", "change_no", "sync_counter", "upserted_counter", "created_at", "updated_at"}
)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Per-limetype keys naming the customer's Lime limetype, properties and option keys.
LIME_NAME_KEYS = frozenset({"lime_limetype", "lime_names", "lime_options"})


@dataclass(frozen=True)
class PropertySpec:
    """One property of a limetype: its kind and the rules ingestion enforces."""

    name: str
    kind: PropertyKind
    custom: bool = False
    options: tuple[str, ...] = ()
    relation: str | None = None
    gateway_owned: bool = False
    owned_once_set: bool = False
    max_length: int | None = None
    scale: int | None = None
    pii: bool = False

    def coerce(self, value: Any) -> Any:
        """The Python value for a JSON value, or ValueError with a sentence saying why not."""
        if value is None:
            return None
        kind = self.kind
        if kind == "string":
            if not isinstance(value, str):
                raise ValueError("expected a string")
            if self.max_length is not None and len(value) > self.max_length:
                raise ValueError(f"longer than {self.max_length} characters")
            return value
        if kind in ("integer", "relation"):
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValueError("expected an integer" if kind == "integer" else "expected an id")
            try:
                number = int(value)
            except ValueError:
                raise ValueError("expected an integer") from None
            if not -(2**63) <= number < 2**63:
                raise ValueError("out of range")
            if kind == "relation" and number <= 0:
                raise ValueError("expected a positive id")
            return number
        if kind == "decimal":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError("expected a number")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError("expected a finite number")
            try:
                amount = Decimal(str(value).strip())
            except InvalidOperation:
                raise ValueError("expected a number") from None
            if not amount.is_finite():
                raise ValueError("expected a finite number")
            exponent = amount.as_tuple().exponent
            if self.scale is not None and isinstance(exponent, int) and -exponent > self.scale:
                raise ValueError(f"more than {self.scale} decimals")
            if abs(amount) >= Decimal(10) ** 14:
                raise ValueError("out of range")
            return amount
        if kind == "date":
            if not isinstance(value, str):
                raise ValueError("expected a date (YYYY-MM-DD)")
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError("expected a date (YYYY-MM-DD)") from None
        if kind == "datetime":
            if not isinstance(value, str):
                raise ValueError("expected an ISO-8601 date-time")
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise ValueError("expected an ISO-8601 date-time") from None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise ValueError("expected true or false")
            return value
        if kind == "option":
            if not isinstance(value, str) or value not in self.options:
                raise ValueError(f"expected one of: {', '.join(self.options)}")
            return value
        raise ValueError("this property cannot be written")

    def to_storage(self, value: Any) -> Any:
        """A coerced value as stored in the JSONB column (custom properties only)."""
        if isinstance(value, Decimal | date | datetime):
            return str(value) if isinstance(value, Decimal) else value.isoformat()
        return value

    def from_storage(self, value: Any) -> Any:
        """A JSONB value back to its Python type (custom properties only)."""
        if value is None:
            return None
        if self.kind == "decimal":
            return Decimal(str(value))
        if self.kind == "date":
            return date.fromisoformat(value)
        if self.kind == "datetime":
            return datetime.fromisoformat(value)
        return value


@dataclass(frozen=True)
class LimetypeSpec:
    """A limetype: its table and its properties (built-in and custom)."""

    name: str
    model: type[LimeObject]
    properties: dict[str, PropertySpec] = field(default_factory=dict)

    def property(self, name: str) -> PropertySpec | None:
        return self.properties.get(name)

    def column(self, name: str) -> ColumnElement[Any]:
        """A SQL expression for a property, typed so comparisons bind correctly."""
        spec = self.properties[name]
        if not spec.custom:
            return getattr(self.model, name)  # type: ignore[no-any-return]
        text = self.model.custom[name].astext
        sql_type: Any = {
            "integer": BigInteger(),
            "decimal": Numeric(),
            "date": Date(),
            "datetime": DateTime(timezone=True),
            "boolean": Boolean(),
        }.get(spec.kind)
        return cast(text, sql_type) if sql_type is not None else text


def _builtin_spec(column: Any) -> PropertySpec:
    info = column.info
    col_type = column.type
    kind: PropertyKind
    max_length = None
    scale = None
    if "relation" in info:
        kind = "relation"
    elif "options" in info:
        kind = "option"
    elif isinstance(col_type, JSONB):
        kind = "json"
    elif isinstance(col_type, Boolean):
        kind = "boolean"
    elif isinstance(col_type, BigInteger):
        kind = "integer"
    elif isinstance(col_type, Numeric):
        kind, scale = "decimal", col_type.scale
    elif isinstance(col_type, DateTime):
        kind = "datetime"
    elif isinstance(col_type, Date):
        kind = "date"
    elif isinstance(col_type, String | Text):
        kind, max_length = "string", getattr(col_type, "length", None)
    else:  # pragma: no cover - a new column type must be mapped here
        raise ConfigurationError(f"column {column} has a type the Lime schema does not know")
    return PropertySpec(
        name=column.key,
        kind=kind,
        options=tuple(info.get("options", ())),
        relation=info.get("relation"),
        gateway_owned=bool(info.get("gateway_owned")) or kind == "json",
        owned_once_set=bool(info.get("gateway_owned_once_set")),
        max_length=max_length,
        scale=scale,
        pii=bool(info.get("pii")),
    )


def _custom_spec(limetype: str, name: str, declaration: Any) -> PropertySpec:
    where = f"LIME_SCHEMA_FILE [{limetype}.custom] {name}"
    if not _NAME.match(name):
        raise ConfigurationError(f"{where}: a property name is lower case letters, digits and _")
    options: tuple[str, ...] = ()
    if isinstance(declaration, str):
        kind = declaration
    elif isinstance(declaration, dict):
        kind = str(declaration.get("type", ""))
        options = tuple(str(o) for o in declaration.get("options", ()))
    else:
        raise ConfigurationError(f"{where}: declare a type name or a table with `type`")
    if kind not in CUSTOM_KINDS:
        raise ConfigurationError(
            f"{where}: unknown type {kind!r}; use one of {', '.join(sorted(CUSTOM_KINDS))}"
        )
    if kind == "option" and not options:
        raise ConfigurationError(f"{where}: an option property needs `options = [...]`")
    return PropertySpec(name=name, kind=kind, custom=True, options=options, max_length=2000)  # type: ignore[arg-type]


class LimeSchema:
    """Every mirrored limetype with its properties."""

    def __init__(self, custom: dict[str, Any] | None = None) -> None:
        self.limetypes: dict[str, LimetypeSpec] = {}
        self.lime_names: dict[str, dict[str, Any]] = {}
        custom = custom or {}
        unknown = set(custom) - set(LIMETYPES)
        if unknown:
            raise ConfigurationError(
                f"LIME_SCHEMA_FILE declares unknown limetypes: {', '.join(sorted(unknown))}"
            )
        for name, model in LIMETYPES.items():
            props: dict[str, PropertySpec] = {}
            for column in model.__table__.columns:
                if column.key not in SYSTEM_COLUMNS:
                    props[column.key] = _builtin_spec(column)
            section = custom.get(name, {})
            if not isinstance(section, dict) or set(section) - {"custom"} - LIME_NAME_KEYS:
                raise ConfigurationError(
                    f"LIME_SCHEMA_FILE [{name}] may only hold a `custom` table of properties "
                    "and the Lime names (lime_limetype, lime_names, lime_options)"
                )
            # Read by the Lime connector (`limecrm.names`), which validates them.
            self.lime_names[name] = {k: section[k] for k in LIME_NAME_KEYS & set(section)}
            for prop, declaration in section.get("custom", {}).items():
                if prop in props or prop in SYSTEM_COLUMNS:
                    raise ConfigurationError(
                        f"LIME_SCHEMA_FILE [{name}.custom] {prop} is already a built-in property"
                    )
                props[prop] = _custom_spec(name, prop, declaration)
            self.limetypes[name] = LimetypeSpec(name=name, model=model, properties=props)

    @classmethod
    def load(cls, path: Path | None) -> LimeSchema:
        """The schema with the custom properties declared in `path` (none when not given)."""
        if path is None:
            return cls()
        try:
            with path.open("rb") as fh:
                return cls(tomllib.load(fh))
        except FileNotFoundError as exc:
            raise ConfigurationError(f"LIME_SCHEMA_FILE {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"LIME_SCHEMA_FILE {path} is not valid TOML: {exc}") from exc

    def get(self, limetype: str) -> LimetypeSpec | None:
        return self.limetypes.get(limetype)
