"""Lime query filters (DESIGN §3.4) compiled to SQLAlchemy expressions over one limetype.

A filter is a leaf `{"key": "name", "op": "=", "exp": "Acme"}` or a compound
`{"op": "AND" | "OR", "exp": [<filter>, ...]}`. Keys are checked against the LimeSchema, values
are coerced with `PropertySpec.coerce` and always sent as bound parameters, and every limit below
turns hostile input into a 422 (`InvalidInput`), never into SQL, a RecursionError or a 500.

Semantics worth knowing:
- `!=` is `IS DISTINCT FROM`, and `!IN` is `NOT coalesce(col = ANY(:list), false)`: both keep
  rows whose column is NULL, so `x != v` and `x !IN [v]` always select the same rows.
- `= null` / `!= null` are `IS NULL` / `IS NOT NULL`; no other op takes null.
- `IN [...]` is `col = ANY(:list)` with one typed array parameter; `IN []` matches nothing and
  `!IN []` matches everything.
- `?` (contains) and `=?` (starts with) are case-insensitive `ILIKE` on text properties, with
  `%`, `_` and `\\` in the value matched literally (backslash is PostgreSQL's default escape).
- A dotted key `debtor.name` is `<table>.debtor IN (SELECT id FROM debtor WHERE <leaf>)`: it only
  matches rows whose relation is set, whatever the op.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn

from sqlalchemy import Numeric, String, and_, any_, bindparam, false, func, not_, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from billecta_gateway.errors import InvalidInput
from billecta_gateway.lime.schema import LimeSchema, LimetypeSpec, PropertySpec

MAX_DEPTH = 16
MAX_LEAVES = 500
MAX_IN_VALUES = 50_000
MAX_KEY_LENGTH = 128
MAX_STRING_LENGTH = 1_000
MAX_QUERY_PARAM_LENGTH = 1_000_000
# Far beyond any real filter, far below what PostgreSQL's numeric accepts (16,383 decimals).
MAX_DECIMAL_PLACES = 1_000

COMPOUND_OPS = frozenset({"AND", "OR"})
ORDERING_OPS = frozenset({"<", "<=", ">", ">="})
TEXT_OPS = frozenset({"?", "=?"})
LIST_OPS = frozenset({"IN", "!IN"})
LEAF_OPS = frozenset({"=", "!="}) | ORDERING_OPS | TEXT_OPS | LIST_OPS
NODE_MEMBERS = ("key", "op", "exp")
ID_KEY = "_id"
_ID_SPEC = PropertySpec(name=ID_KEY, kind="integer")
_UNORDERED_KINDS = frozenset({"boolean", "option"})

Path = tuple[str | int, ...]


def _show(value: object, limit: int = 60) -> str:
    """A short repr for error messages, whatever the client sent."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _like_escape(value: str) -> str:
    """The value with LIKE's wildcards and its escape character matched literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _bind_type(column: ColumnElement[Any]) -> TypeEngine[Any]:
    """The column's type without length or scale: a bind cast must never truncate or round."""
    if isinstance(column.type, Numeric):
        return Numeric()
    if isinstance(column.type, String):
        return String()
    return column.type


class _Compiler:
    """Walks one filter tree, counting leaves and list values against the limits."""

    def __init__(self, schema: LimeSchema, limetype: LimetypeSpec, location: str) -> None:
        self.schema = schema
        self.limetype = limetype
        self.location = location
        self.leaves = 0
        self.values = 0

    def fail(self, path: Path, message: str, field: str | None = None) -> NoReturn:
        loc = [self.location, *path]
        where = ".".join(str(part) for part in loc)
        raise InvalidInput(
            f"Invalid query filter at {where}: {message}",
            errors=[
                {
                    "loc": loc,
                    "field": field if field is not None else where,
                    "message": message,
                    "type": "query_filter",
                }
            ],
        )

    def node(self, node: Any, path: Path, depth: int) -> ColumnElement[bool]:
        """One filter node (leaf or compound) as a boolean expression."""
        if depth > MAX_DEPTH:
            self.fail(path, f"filters may be nested at most {MAX_DEPTH} levels deep")
        if not isinstance(node, dict):
            self.fail(path, "a filter is an object with key, op and exp")
        for member in node:
            if member not in NODE_MEMBERS:
                self.fail(
                    path, f"unknown member {_show(member)}; a filter has only key, op and exp"
                )
        op = node.get("op")
        if not isinstance(op, str):
            self.fail((*path, "op"), "op must be a string")
        if "exp" not in node:
            self.fail(path, "exp is missing")
        if op in COMPOUND_OPS:
            return self.compound(node, op, path, depth)
        if op not in LEAF_OPS:
            allowed = ", ".join(sorted(LEAF_OPS | COMPOUND_OPS))
            self.fail((*path, "op"), f"unknown op {_show(op, 20)}; use one of {allowed}")
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            self.fail(path, f"a filter may hold at most {MAX_LEAVES} conditions")
        return self.leaf(node.get("key"), op, node["exp"], path)

    def compound(
        self, node: dict[Any, Any], op: str, path: Path, depth: int
    ) -> ColumnElement[bool]:
        """An AND/OR node over a non-empty list of filters."""
        if "key" in node:
            self.fail((*path, "key"), f"an {op} filter takes no key")
        children = node["exp"]
        if not isinstance(children, list) or not children:
            self.fail((*path, "exp"), f"an {op} filter needs a non-empty list of filters in exp")
        parts = [
            self.node(child, (*path, "exp", index), depth + 1)
            for index, child in enumerate(children)
        ]
        return and_(*parts) if op == "AND" else or_(*parts)

    def resolve(self, key: str, path: Path) -> tuple[LimetypeSpec, str, ColumnElement[Any] | None]:
        """The limetype and property a key names, and the relation column a dotted key goes via."""
        first, dot, rest = key.partition(".")
        if not dot:
            self.check_property(self.limetype, key, path, key)
            return self.limetype, key, None
        if "." in rest:
            self.fail(path, f"{_show(key)}: only one level of relation can be followed", key)
        relation = self.limetype.property(first)
        if relation is None or relation.kind != "relation" or relation.relation is None:
            self.fail(path, f"{_show(first)} is not a relation of {self.limetype.name}", key)
        target = self.schema.get(relation.relation)
        if target is None:
            self.fail(path, f"relation {first} cannot be followed in a filter", key)
        self.check_property(target, rest, path, key)
        return target, rest, self.limetype.column(first)

    def check_property(self, limetype: LimetypeSpec, name: str, path: Path, key: str) -> None:
        """A 422 unless `name` is `_id` or a filterable property of the limetype."""
        if name == ID_KEY:
            return
        prop = limetype.property(name)
        if prop is None:
            self.fail(path, f"{_show(name)} is not a property of {limetype.name}", key)
        if prop.kind == "json":
            self.fail(path, f"{key} cannot be used in a filter", key)

    def leaf(self, key: Any, op: str, exp: Any, path: Path) -> ColumnElement[bool]:
        """One comparison; a dotted key becomes a subquery on the related limetype."""
        if not isinstance(key, str):
            self.fail((*path, "key"), "key must be a string")
        if len(key) > MAX_KEY_LENGTH:
            self.fail((*path, "key"), f"key is longer than {MAX_KEY_LENGTH} characters")
        limetype, name, via = self.resolve(key, (*path, "key"))
        prop: PropertySpec
        column: ColumnElement[Any]
        if name == ID_KEY:
            prop, column = _ID_SPEC, limetype.model.id.expression
        else:
            prop, column = limetype.properties[name], limetype.column(name)
        condition = self.compare(prop, column, key, op, exp, path)
        if via is None:
            return condition
        ids = select(limetype.model.id).where(condition).correlate(None)
        return via.in_(ids)

    def compare(
        self,
        prop: PropertySpec,
        column: ColumnElement[Any],
        key: str,
        op: str,
        exp: Any,
        path: Path,
    ) -> ColumnElement[bool]:
        """The comparison of one column with a leaf's value(s)."""
        if op in TEXT_OPS and prop.kind != "string":
            self.fail((*path, "op"), f"{key}: {op} applies to text properties only", key)
        if op in ORDERING_OPS and prop.kind in _UNORDERED_KINDS:
            self.fail((*path, "op"), f"{key}: {op} cannot compare {prop.kind} values", key)
        exp_path = (*path, "exp")
        if op in LIST_OPS:
            if not isinstance(exp, list):
                self.fail(exp_path, f"{key}: {op} needs a list of values", key)
            self.values += len(exp)
            if self.values > MAX_IN_VALUES:
                self.fail(exp_path, f"a filter may list at most {MAX_IN_VALUES} values", key)
            items = [
                self.value(prop, item, key, (*exp_path, index)) for index, item in enumerate(exp)
            ]
            if any(item is None for item in items):
                self.fail(exp_path, f"{key}: {op} lists cannot hold null; use = null", key)
            array = bindparam(None, items, type_=ARRAY(_bind_type(column)))
            matches: ColumnElement[bool] = column == any_(array)
            return matches if op == "IN" else not_(func.coalesce(matches, false()))
        value = self.value(prop, exp, key, exp_path)
        if value is None:
            if op == "=":
                return column.is_(None)
            if op == "!=":
                return column.is_not(None)
            self.fail(exp_path, f"{key}: null can only be compared with = or !=", key)
        if op in TEXT_OPS:
            pattern = _like_escape(value) + "%"
            if op == "?":
                pattern = "%" + pattern
            return column.ilike(bindparam(None, pattern, type_=_bind_type(column)))
        bound = bindparam(None, value, type_=_bind_type(column))
        if op == "=":
            return column == bound
        if op == "!=":
            return column.is_distinct_from(bound)
        if op == "<":
            return column < bound
        if op == "<=":
            return column <= bound
        if op == ">":
            return column > bound
        return column >= bound

    def value(self, prop: PropertySpec, value: Any, key: str, path: Path) -> Any:
        """A JSON value coerced for a property, within the limits, or a 422 naming the key."""
        if isinstance(value, list | dict):
            self.fail(path, f"{key}: expected a single value, not a list or object", key)
        if isinstance(value, str):
            if len(value) > MAX_STRING_LENGTH:
                self.fail(path, f"{key}: values may be at most {MAX_STRING_LENGTH} characters", key)
            if "\x00" in value or _unencodable(value):
                self.fail(path, f"{key}: the value holds characters that cannot be stored", key)
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
            self.fail(path, f"{key}: out of range", key)
        # A filter may compare with values longer or more precise than the column stores.
        relaxed = replace(prop, max_length=None, scale=None)
        try:
            coerced = relaxed.coerce(value)
        except ValueError as exc:
            self.fail(path, f"{key}: {exc}", key)
        if isinstance(coerced, Decimal):
            exponent = coerced.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
                self.fail(path, f"{key}: more than {MAX_DECIMAL_PLACES} decimals", key)
        if isinstance(coerced, datetime):
            try:
                coerced.astimezone(UTC)
            except OverflowError:
                self.fail(path, f"{key}: out of range", key)
        return coerced


def _unencodable(value: str) -> bool:
    """True for strings PostgreSQL cannot receive (lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def build_filter(
    schema: LimeSchema, limetype: str, query: Any, *, location: str = "query_filter"
) -> ColumnElement[bool]:
    """A Lime query filter (decoded JSON) as a boolean expression on the limetype's table."""
    spec = schema.get(limetype) if isinstance(limetype, str) else None
    if spec is None:
        message = f"unknown limetype {_show(limetype)}"
        raise InvalidInput(
            f"Invalid query filter: {message}",
            errors=[
                {
                    "loc": ["path", "limetype"],
                    "field": "limetype",
                    "message": message,
                    "type": "query_filter",
                }
            ],
        )
    return _Compiler(schema, spec, location).node(query, (), 1)


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON, whatever Python's decoder accepts."""
    raise ValueError(f"{name} is not JSON")


def parse_query_param(raw: str) -> Any:
    """The `q` query parameter decoded from JSON, or a 422."""
    message = None
    if len(raw) > MAX_QUERY_PARAM_LENGTH:
        message = f"q is longer than {MAX_QUERY_PARAM_LENGTH} characters"
    else:
        try:
            return json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            message = "q is not valid JSON"
    raise InvalidInput(
        f"Invalid query filter: {message}",
        errors=[{"loc": ["query", "q"], "field": "q", "message": message, "type": "query_filter"}],
    )
