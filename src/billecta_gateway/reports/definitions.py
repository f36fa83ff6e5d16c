"""Report definitions for the report creator, read from TOML (`REPORTS_CONFIG_FILE`, else the
package's `data/reports.toml`) and checked against the Lime schema when they are loaded.

    [reports.<config_key>]
    title = "..."                     # required
    description = "..."               # optional
    limetype = "invoice"              # source limetype: one row per object
    owners = { creditor = "creditor" }  # limetype run on = relation path from a row to it
    filter = { op = "AND", exp = [{ key = "invoicedate", op = ">=", exp = { param = "from" } }] }
    sort = ["debtor.name", "-invoicedate"]   # "-" sorts descending; text in Swedish order
    filename = "accounts_receivable"         # optional file name stem
    totals_by = ["paymenttype"]              # optional: columns that also split the totals

    [[reports.<config_key>.parameters]]
    name = "date_from"; type = "date"; label = "From"; required = true
    # type: date, boolean, option (with options = [...]), string, integer, decimal; default = ...

    [[reports.<config_key>.columns]]
    field = "debtor.name"; label = "Debtor"
    # format: text, money, number, integer, date, datetime, boolean (default from the property)
    # number_format = "0.0%" (Excel format), sum = true (numeric columns), width = 20
    # labels = { key = "Label" } (option columns show labels; these override the built-in ones)
    # currency = true marks the currency column (a field named `currency` is one already)

Money is summed per currency: a report that sums a money column must have a currency column.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from billecta_gateway.config import ConfigurationError, load_toml
from billecta_gateway.errors import InvalidInput
from billecta_gateway.lime.query_filter import build_filter
from billecta_gateway.lime.schema import LimeSchema, LimetypeSpec, PropertySpec
from billecta_gateway.reports.accounts import AccountPlan
from billecta_gateway.reports.labels import labels_for
from billecta_gateway.reports.model import COLUMN_KINDS, NUMERIC_KINDS

PACKAGED_FILE = "reports.toml"
PARAMETER_TYPES = ("date", "boolean", "option", "string", "integer", "decimal")
RESERVED_NAMES = frozenset({"config_key", "limetype", "idlimeobject", "file_format"})
REPORT_KEYS = frozenset(
    {
        "title",
        "description",
        "limetype",
        "owners",
        "filter",
        "sort",
        "parameters",
        "columns",
        "filename",
        "totals_by",
    }
)
PARAMETER_KEYS = frozenset(
    {"name", "type", "label", "required", "options", "default", "description"}
)
COLUMN_KEYS = frozenset(
    {"field", "label", "format", "number_format", "sum", "width", "labels", "currency"}
)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_KIND_FORMATS = {
    "integer": "integer",
    "relation": "integer",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
}
_SAMPLES: dict[str, Any] = {
    "date": "2000-01-01",
    "boolean": True,
    "string": "x",
    "integer": 1,
    "decimal": "1",
}


@dataclass(frozen=True)
class ParameterDef:
    """A parameter the request must (or may) supply."""

    name: str
    type: str
    label: str
    required: bool
    options: tuple[str, ...] = ()
    default: Any = None
    description: str | None = None

    def coerce(self, value: Any) -> Any:
        """The JSON value as the parameter's type, or ValueError saying what was expected."""
        kind = self.type
        if kind == "date":
            if isinstance(value, str):
                try:
                    return date.fromisoformat(value)
                except ValueError:
                    pass
            raise ValueError("expected a date (YYYY-MM-DD)")
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            raise ValueError("expected true or false")
        if kind == "option":
            if isinstance(value, str) and value in self.options:
                return value
            raise ValueError(f"expected one of: {', '.join(self.options)}")
        if kind == "string":
            if isinstance(value, str) and len(value) <= 1000:
                return value
            raise ValueError("expected a text of at most 1000 characters")
        if kind == "integer":
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
                return value
            raise ValueError("expected an integer")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("expected a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("expected a number") from None
        if not number.is_finite():
            raise ValueError("expected a finite number")
        return number


@dataclass(frozen=True)
class ColumnDef:
    """A selected field (dot notation through relations) and how it is shown."""

    field: str
    label: str
    format: str
    sum: bool = False
    number_format: str | None = None
    width: float | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    currency: bool = False


@dataclass(frozen=True)
class ReportDef:
    """One configured report."""

    key: str
    title: str
    description: str | None
    limetype: str
    owners: dict[str, str]
    columns: tuple[ColumnDef, ...]
    parameters: tuple[ParameterDef, ...] = ()
    filter: Any = None
    sort: tuple[str, ...] = ()
    filename: str | None = None
    totals_by: tuple[int, ...] = ()
    """Indexes of the columns splitting the totals: the currency column first, if any."""


@dataclass(frozen=True)
class ReportsConfig:
    """Every configured report and the reconciliation's account plan."""

    reports: dict[str, ReportDef] = field(default_factory=dict)
    accounts: AccountPlan = field(default_factory=AccountPlan)


def resolve_path(
    schema: LimeSchema, limetype: str, path: str
) -> tuple[LimetypeSpec, PropertySpec | None]:
    """The limetype and property a dotted field names (None for `_id`), or ValueError."""
    spec = schema.get(limetype)
    if spec is None:
        raise ValueError(f"unknown limetype {limetype!r}")
    parts = path.split(".")
    for relation in parts[:-1]:
        prop = spec.property(relation)
        if prop is None or prop.kind != "relation" or prop.relation is None:
            raise ValueError(f"{relation!r} is not a relation of {spec.name}")
        target = schema.get(prop.relation)
        if target is None:
            raise ValueError(f"relation {relation!r} of {spec.name} cannot be followed")
        spec = target
    last = parts[-1]
    if last == "_id":
        return spec, None
    prop = spec.property(last)
    if prop is None:
        raise ValueError(f"{last!r} is not a property of {spec.name}")
    if prop.kind == "json":
        raise ValueError(f"{path!r} cannot be shown in a report")
    return spec, prop


_MISSING: Any = object()


def substitute(node: Any, values: dict[str, Any]) -> Any:
    """The filter with `{ param = "name" }` values replaced; conditions on parameters that were
    not given are dropped (and AND/OR nodes left empty with them). None: nothing is left."""
    if isinstance(node, dict) and set(node) == {"param"}:
        name = node["param"]
        return values.get(name, _MISSING)
    if isinstance(node, dict):
        if node.get("op") in ("AND", "OR") and isinstance(node.get("exp"), list):
            children = [substitute(child, values) for child in node["exp"]]
            kept = [child for child in children if child is not None]
            return {**node, "exp": kept} if kept else None
        if "exp" not in node:
            return node
        exp = substitute(node["exp"], values)
        return None if exp is _MISSING else {**node, "exp": exp}
    if isinstance(node, list):
        items = [substitute(item, values) for item in node]
        return _MISSING if _MISSING in items else items
    return node


def _params_used(node: Any) -> set[str]:
    if isinstance(node, dict) and set(node) == {"param"}:
        return {str(node["param"])}
    if isinstance(node, dict):
        return set().union(*(_params_used(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_params_used(v) for v in node)) if node else set()
    return set()


def json_value(value: Any) -> Any:
    """A parameter value as the Lime filter (and the stored parameters) want it."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _fail(where: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"reports configuration [reports.{where}]: {message}")


def _text(data: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"`{key}` must be a non-empty string")
    return value


def _check_keys(data: Any, allowed: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(where, "must be a table")
    unknown = set(data) - allowed
    if unknown:
        raise _fail(where, f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    return data


def _parameter(data: Any, where: str) -> ParameterDef:
    data = _check_keys(data, PARAMETER_KEYS, where)
    name = _text(data, "name", where) or ""
    if not _NAME.match(name) or name in RESERVED_NAMES:
        raise _fail(where, f"parameter name {name!r} is not allowed")
    kind = data.get("type")
    if kind not in PARAMETER_TYPES:
        raise _fail(where, f"parameter {name}: type must be one of {', '.join(PARAMETER_TYPES)}")
    options = data.get("options", [])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise _fail(where, f"parameter {name}: options must be a list of strings")
    if kind == "option" and not options:
        raise _fail(where, f"parameter {name}: an option parameter needs options")
    required = data.get("required", False)
    if not isinstance(required, bool):
        raise _fail(where, f"parameter {name}: required must be true or false")
    param = ParameterDef(
        name=name,
        type=kind,
        label=_text(data, "label", where, required=False) or name,
        required=required,
        options=tuple(options),
        description=_text(data, "description", where, required=False),
    )
    if "default" in data:
        try:
            default = param.coerce(data["default"])
        except ValueError as exc:
            raise _fail(where, f"parameter {name}: default: {exc}") from None
        param = ParameterDef(**{**param.__dict__, "default": default})
    return param


def _column(data: Any, where: str, schema: LimeSchema, limetype: str) -> ColumnDef:
    data = _check_keys(data, COLUMN_KEYS, where)
    path = _text(data, "field", where) or ""
    try:
        _, prop = resolve_path(schema, limetype, path)
    except ValueError as exc:
        raise _fail(where, f"field {path!r}: {exc}") from None
    if prop is None:
        inferred = "integer"
    elif prop.kind == "decimal":
        inferred = "money" if prop.scale == 2 else "number"
    else:
        inferred = _KIND_FORMATS.get(prop.kind, "text")
    fmt = data.get("format", inferred)
    if fmt not in COLUMN_KINDS:
        raise _fail(where, f"field {path}: format must be one of {', '.join(COLUMN_KINDS)}")
    total = data.get("sum", False)
    if not isinstance(total, bool) or (total and fmt not in NUMERIC_KINDS):
        raise _fail(where, f"field {path}: sum = true needs a money, number or integer column")
    width = data.get("width")
    if width is not None and (not isinstance(width, int | float) or not 1 <= width <= 255):
        raise _fail(where, f"field {path}: width must be a number from 1 to 255")
    configured = data.get("labels", {})
    if not isinstance(configured, dict) or not all(isinstance(v, str) for v in configured.values()):
        raise _fail(where, f"field {path}: labels must map option keys to texts")
    if configured and (prop is None or prop.kind != "option"):
        raise _fail(where, f"field {path}: labels are only for option properties")
    labels = labels_for(prop.name, configured) if prop is not None and prop.kind == "option" else {}
    currency = data.get("currency", path.split(".")[-1] == "currency")
    if not isinstance(currency, bool) or (currency and fmt != "text"):
        raise _fail(where, f"field {path}: currency = true needs a text column")
    return ColumnDef(
        field=path,
        label=_text(data, "label", where, required=False) or path,
        format=fmt,
        sum=total,
        number_format=_text(data, "number_format", where, required=False),
        width=float(width) if width is not None else None,
        labels=labels,
        currency=currency,
    )


def _totals_by(key: str, data: dict[str, Any], columns: tuple[ColumnDef, ...]) -> tuple[int, ...]:
    """The currency column and the `totals_by` columns; refuses money sums without currency."""
    currency = [i for i, c in enumerate(columns) if c.currency]
    if len(currency) > 1:
        raise _fail(key, "only one column can be the currency column")
    if not currency and any(c.sum and c.format == "money" for c in columns):
        raise _fail(
            key,
            'sum = true on a money column needs a currency column (e.g. field = "currency"), '
            "so amounts in different currencies are never added",
        )
    fields = data.get("totals_by", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise _fail(key, "`totals_by` must be a list of column fields")
    by_field = {c.field: i for i, c in enumerate(columns)}
    unknown = [f for f in fields if f not in by_field]
    if unknown:
        raise _fail(key, f"totals_by {unknown} must be fields of the report's columns")
    if fields and not any(c.sum for c in columns):
        raise _fail(key, "totals_by needs a column with sum = true")
    return (*currency, *(by_field[f] for f in fields if by_field[f] not in currency))


def _report(key: str, data: Any, schema: LimeSchema) -> ReportDef:
    data = _check_keys(data, REPORT_KEYS, key)
    if not _NAME.match(key):
        raise _fail(key, "a config key is lower case letters, digits and _")
    limetype = _text(data, "limetype", key) or ""
    if schema.get(limetype) is None:
        raise _fail(key, f"unknown limetype {limetype!r}")
    owners = data.get("owners")
    if not isinstance(owners, dict) or not owners:
        raise _fail(key, "`owners` must map the limetypes it runs on to a relation path")
    for owner, path in owners.items():
        try:
            spec, prop = (
                resolve_path(schema, limetype, path) if isinstance(path, str) else (None, None)
            )
        except ValueError as exc:
            raise _fail(key, f"owners.{owner}: {exc}") from None
        if spec is None or prop is None or prop.relation != owner:
            raise _fail(key, f"owners.{owner}: {path!r} must be a relation to {owner}")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise _fail(key, "at least one [[columns]] entry is required")
    columns = tuple(
        _column(c, f"{key}.columns.{i}", schema, limetype) for i, c in enumerate(raw_columns)
    )
    raw_params = data.get("parameters", [])
    if not isinstance(raw_params, list):
        raise _fail(key, "`parameters` must be an array of tables")
    parameters = tuple(_parameter(p, f"{key}.parameters.{i}") for i, p in enumerate(raw_params))
    names = [p.name for p in parameters]
    if len(names) != len(set(names)):
        raise _fail(key, "parameter names must be unique")
    sort = data.get("sort", [])
    if not isinstance(sort, list) or not all(isinstance(s, str) and s.strip("-") for s in sort):
        raise _fail(key, "`sort` must be a list of field names")
    for entry in sort:
        try:
            resolve_path(schema, limetype, entry.lstrip("-"))
        except ValueError as exc:
            raise _fail(key, f"sort {entry!r}: {exc}") from None
    query = data.get("filter")
    if query is not None:
        unknown = _params_used(query) - set(names)
        if unknown:
            raise _fail(key, f"filter uses undeclared parameters {sorted(unknown)}")
        samples = {p.name: p.options[0] if p.options else _SAMPLES[p.type] for p in parameters}
        checked = substitute(query, samples)
        try:
            if checked is not None:
                build_filter(schema, limetype, checked, location="filter")
        except InvalidInput as exc:
            raise _fail(key, exc.message) from None
    return ReportDef(
        key=key,
        title=_text(data, "title", key) or key,
        description=_text(data, "description", key, required=False),
        limetype=limetype,
        owners=dict(owners),
        columns=columns,
        parameters=parameters,
        filter=query,
        sort=tuple(sort),
        filename=_text(data, "filename", key, required=False),
        totals_by=_totals_by(key, data, columns),
    )


def parse_reports_config(data: dict[str, Any], schema: LimeSchema) -> ReportsConfig:
    """Validate a decoded reports TOML document."""
    unknown = set(data) - {"reports", "reconciliation"}
    if unknown:
        raise ConfigurationError(
            f"reports configuration: unknown top-level tables {sorted(unknown)}"
        )
    reports = data.get("reports", {})
    if not isinstance(reports, dict):
        raise ConfigurationError("reports configuration: [reports] must be a table")
    return ReportsConfig(
        reports={key: _report(key, value, schema) for key, value in reports.items()},
        accounts=AccountPlan.from_config(data.get("reconciliation")),
    )


def load_reports_config(path: Path | None, schema: LimeSchema) -> ReportsConfig:
    """The report definitions of `path`, else those shipped with the package."""
    return parse_reports_config(load_toml(path, PACKAGED_FILE), schema)
