"""Limeobject lists (filters, ``_sort``, ``_limit``, the three next-link forms) and the
Query API subset the client uses (filter DSL, ``responseFormat.object``, order, limit/offset)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from billecta_gateway.limesandbox.schema import SandboxLimetype, SandboxProperty
from billecta_gateway.limesandbox.store import LimeSandboxError, Renderer, StoredObject

_PAGING = ("_offset", "_offset_id", "_page", "_limit")


def _comparable(prop: SandboxProperty | None, value: Any) -> Any:
    """A stored value or a query-string value in one comparable form."""
    if value is None:
        return None
    kind = prop.type if prop else "time"
    if kind in ("date", "time"):
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise LimeSandboxError(400, f"{value!r} is not an ISO-8601 date-time") from None
    if kind in ("integer", "decimal", "belongsto", "file"):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise LimeSandboxError(400, f"{value!r} is not a number") from None
    if kind == "yesno":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value)


def _field(
    spec: SandboxLimetype, obj: StoredObject, name: str
) -> tuple[SandboxProperty | None, Any]:
    if name == "_id":
        return SandboxProperty("_id", "integer"), obj.id
    if name == "_timestamp":
        return None, obj.timestamp.isoformat()
    if name == "_createdtime":
        return None, obj.created.isoformat()
    prop = spec.properties.get(name)
    if prop is None or prop.type == "hasmany":
        raise LimeSandboxError(400, f"{spec.name} has no property {name!r} to filter or sort on")
    return prop, obj.values.get(name)


def _equals(spec: SandboxLimetype, obj: StoredObject, name: str, value: str) -> bool:
    prop, stored = _field(spec, obj, name)
    return bool(_comparable(prop, stored) == _comparable(prop, value))


def _in_range(
    spec: SandboxLimetype, objects: list[StoredObject], name: str, value: str, *, low: bool
) -> list[StoredObject]:
    kept = []
    for obj in objects:
        prop, stored = _field(spec, obj, name)
        have, bound = _comparable(prop, stored), _comparable(prop, value)
        if have is not None and (have >= bound if low else have <= bound):
            kept.append(obj)
    return kept


def _sort(
    spec: SandboxLimetype, objects: list[StoredObject], keys: Sequence[tuple[str, bool]]
) -> None:
    for name, descending in reversed(keys):

        def key(o: StoredObject, name: str = name) -> tuple[int, Any]:
            prop, value = _field(spec, o, name)
            c = _comparable(prop, value)
            return (0, c) if c is not None else (1, 0)

        objects.sort(key=key, reverse=descending)


def list_objects(
    spec: SandboxLimetype,
    objects: list[StoredObject],
    params: list[tuple[str, str]],
    renderer: Renderer,
    self_href: str,
) -> dict[str, Any]:
    """One page of a list answer with ``_links.self`` and, unless last, ``_links.next``."""
    config = renderer.store.config
    found = list(objects)
    sort_keys: list[tuple[str, bool]] = [("_id", False)]
    embed: list[str] = []
    for name, value in params:
        if name == "_sort":
            sort_keys = [(v.lstrip("-"), v.startswith("-")) for v in value.split(",") if v]
        elif name == "_embed":
            embed.append(value)
        elif name in _PAGING:
            continue
        elif name.startswith(("min-", "max-")):
            found = _in_range(spec, found, name[4:], value, low=name.startswith("min-"))
        elif name.startswith("_"):
            raise LimeSandboxError(400, f"unknown list parameter {name!r}")
        else:
            found = [o for o in found if _equals(spec, o, name, value)]
    _sort(spec, found, sort_keys)
    query = dict(params)
    limit = _int(query.get("_limit"), config.default_limit, "_limit")
    limit = min(limit, config.max_limit)
    if "_offset_id" in query:
        after = _int(query["_offset_id"], 0, "_offset_id")
        ids = [o.id for o in found]
        start = ids.index(after) + 1 if after in ids else len([i for i in ids if i <= after])
    elif "_page" in query:
        start = (_int(query["_page"], 1, "_page") - 1) * limit
    else:
        start = _int(query.get("_offset"), 0, "_offset")
    page = found[start : start + limit]
    links: dict[str, Any] = {"self": {"href": _href(self_href, params)}}
    if start + limit < len(found) and page:
        kept = [(k, v) for k, v in params if k not in _PAGING]
        kept.append(("_limit", str(limit)))
        if config.next_form == "offset":
            kept.append(("_offset", str(start + limit)))
        elif config.next_form == "offset_id":
            kept.append(("_offset_id", str(page[-1].id)))
        else:
            kept.append(("_page", str(start // limit + 2)))
        links["next"] = {"href": _href(self_href, kept)}
    return {
        "_links": links,
        "_embedded": {"limeobjects": [renderer.obj(o, embed) for o in page]},
    }


def _href(base: str, params: list[tuple[str, str]]) -> str:
    return f"{base}?{urlencode(params)}" if params else base


def _int(value: str | None, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise LimeSandboxError(400, f"{name} must be an integer") from None
    if number < 0:
        raise LimeSandboxError(400, f"{name} must not be negative")
    return number


# the Query API


def _matches(spec: SandboxLimetype, obj: StoredObject, expr: Any) -> bool:
    if not isinstance(expr, dict) or "op" not in expr:
        raise LimeSandboxError(400, "a filter is {key, op, exp} or {op: AND|OR, exp: [...]}")
    op = expr["op"]
    if op in ("AND", "OR"):
        parts = expr.get("exp")
        if not isinstance(parts, list):
            raise LimeSandboxError(400, f"{op} takes a list of expressions")
        results = (_matches(spec, obj, part) for part in parts)
        return all(results) if op == "AND" else any(results)
    prop, stored = _field(spec, obj, str(expr.get("key")))
    left = _comparable(prop, stored)
    exp = expr.get("exp")
    if op == "IN":
        if not isinstance(exp, list):
            raise LimeSandboxError(400, "IN takes a list")
        return left in [_comparable(prop, v) for v in exp]
    if op in ("=?", "?"):
        text, needle = str(stored or "").lower(), str(exp or "").lower()
        return text.startswith(needle) if op == "=?" else needle in text
    right = _comparable(prop, exp)
    if op == "=":
        return bool(left == right)
    if op == "!":
        return bool(left != right)
    if left is None or right is None:
        return False
    comparisons = {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}
    if op not in comparisons:
        raise LimeSandboxError(400, f"unknown filter operator {op!r}")
    return bool(comparisons[op])


def run_query(raw: str | None, renderer: Renderer) -> dict[str, Any]:
    """The answer ``{"objects": [...]}`` to ``GET query/?q=<json>``."""
    if not raw:
        raise LimeSandboxError(400, "q is required: a JSON query")
    try:
        query = json.loads(raw)
    except ValueError:
        raise LimeSandboxError(400, "q is not valid JSON") from None
    if not isinstance(query, dict):
        raise LimeSandboxError(400, "q must be a JSON object")
    store = renderer.store
    spec = store.limetype(str(query.get("limetype")))
    objects = store.live(spec.name)
    if query.get("filter") is not None:
        objects = [o for o in objects if _matches(spec, o, query["filter"])]
    order: list[tuple[str, bool]] = []
    for item in query.get("orderBy") or [{"_id": "ASC"}]:
        if not isinstance(item, dict) or len(item) != 1:
            raise LimeSandboxError(400, "orderBy items are {property: ASC|DESC}")
        ((name, direction),) = item.items()
        order.append((name, str(direction).upper() == "DESC"))
    _sort(spec, objects, order)
    offset, limit = int(query.get("offset") or 0), query.get("limit")
    objects = objects[offset : offset + int(limit)] if limit is not None else objects[offset:]
    shape = ((query.get("responseFormat") or {}).get("object")) or {"_id": None}
    return {"objects": [_shaped(spec, o, shape, renderer) for o in objects]}


def _shaped(
    spec: SandboxLimetype, obj: StoredObject, shape: dict[str, Any], renderer: Renderer
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in shape.items():
        prop, value = _field(spec, obj, name)
        if isinstance(sub, dict) and prop is not None and prop.type == "belongsto":
            related = renderer.store.objects.get(prop.related or "", {}).get(value or 0)
            related_spec = renderer.store.limetype(prop.related or "")
            out[name] = _shaped(related_spec, related, sub, renderer) if related else None
        elif name == "_timestamp":
            out[name] = obj.timestamp.isoformat(timespec="microseconds")
        else:
            out[name] = renderer.value(prop, value) if prop else value
    return out
