"""Route overrides from ``BILLECTA_ROUTES_FILE``: correct a Billecta path without a release.

The file (TOML) may change a route's method, path and query parameter names, and for the two
postpone routes whether Billecta takes the new date or a number of days::

    [routes.pause_invoice]
    method = "POST"
    path = "<the path, with the route's {placeholders}>"

    [routes.postpone_invoice]
    postpone_by = "days"

Body and response models belong to the code and cannot be overridden. Every mistake (an unknown
route or key, a bad method, placeholders that differ from the route's) is an
``InvalidRouteOverride`` naming the route, raised when the settings load, so the service does
not start with a table it cannot trust.
"""

from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path
from typing import Any, cast

from billecta_gateway.billecta.errors import InvalidBillectaApiConfig
from billecta_gateway.billecta.routes import (
    HTTP_METHODS,
    PATH_PREFIX,
    POSTPONE_QUERY,
    ROUTES,
    HttpMethod,
    PostponeBy,
    Route,
    RouteTable,
)

ALLOWED_KEYS = frozenset({"method", "path", "query", "postpone_by"})
MODEL_KEYS = frozenset(
    {"body", "request_model", "response_model", "request_is_list", "response_is_list", "model"}
)
_QUERY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_PATH_CHARS = re.compile(rf"^{re.escape(PATH_PREFIX)}[A-Za-z0-9_\-./{{}}]+$")


class InvalidRouteOverride(InvalidBillectaApiConfig):
    """The routes file cannot be applied; the message names the file and the route."""


def load_route_overrides(path: Path, base: RouteTable = ROUTES) -> RouteTable:
    """The effective route table: ``base`` with the file's overrides applied and validated."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidRouteOverride(f"BILLECTA_ROUTES_FILE {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidRouteOverride(f"BILLECTA_ROUTES_FILE {path} is not valid TOML: {exc}") from exc
    return apply_route_overrides(data, base, source=str(path))


def apply_route_overrides(
    data: dict[str, Any], base: RouteTable = ROUTES, *, source: str = "BILLECTA_ROUTES_FILE"
) -> RouteTable:
    """``base`` with the overrides of a parsed routes file; raises ``InvalidRouteOverride``."""
    extra = set(data) - {"routes"}
    if extra:
        raise InvalidRouteOverride(
            f"{source}: unknown top-level key(s) {', '.join(sorted(extra))}; "
            "put each route under [routes.<name>]"
        )
    routes = data.get("routes", {})
    if not isinstance(routes, dict):
        raise InvalidRouteOverride(f"{source}: 'routes' must be a table of [routes.<name>]")
    table = dict(base)
    for name, override in routes.items():
        if name not in base:
            raise InvalidRouteOverride(
                f"{source}: route {name!r} does not exist "
                "(`billecta-gateway routes` lists the route names)"
            )
        if not isinstance(override, dict):
            raise InvalidRouteOverride(f"{source}: route {name}: expected a table of settings")
        table[name] = _override(base[name], override, f"{source}: route {name}")
    changed = frozenset(name for name in table if table[name] != base[name])
    return RouteTable(table, overridden=changed | base.overridden)


def _override(route: Route, override: dict[str, Any], where: str) -> Route:
    keys = set(override)
    models = keys & MODEL_KEYS
    if models:
        raise InvalidRouteOverride(
            f"{where}: {', '.join(sorted(models))} cannot be overridden "
            "(request and response models belong to the code)"
        )
    unknown = keys - ALLOWED_KEYS
    if unknown:
        raise InvalidRouteOverride(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(ALLOWED_KEYS))}"
        )
    method = _method(override["method"], where) if "method" in override else None
    path = _path(override["path"], route, where) if "path" in override else None
    postpone_by = (
        _postpone_by(override["postpone_by"], route, where) if "postpone_by" in override else None
    )
    query = _query(override["query"], route, where) if "query" in override else None
    if query is None and postpone_by is not None and postpone_by != route.postpone_by:
        query = (POSTPONE_QUERY[postpone_by],)
    return route.with_changes(method=method, path=path, query_params=query, postpone_by=postpone_by)


def _method(value: Any, where: str) -> HttpMethod:
    method = value.strip().upper() if isinstance(value, str) else ""
    if method not in HTTP_METHODS:
        raise InvalidRouteOverride(
            f"{where}: method {value!r} is not one of {', '.join(HTTP_METHODS)}"
        )
    return method


def _placeholders(path: str, where: str) -> list[str]:
    try:
        fields = list(string.Formatter().parse(path))
    except ValueError as exc:
        raise InvalidRouteOverride(f"{where}: path {path!r} has unbalanced braces") from exc
    names = []
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise InvalidRouteOverride(f"{where}: path placeholder {{{name}}} is not a plain name")
        names.append(name)
    return names


def _path(value: Any, route: Route, where: str) -> str:
    if not isinstance(value, str) or not _PATH_CHARS.match(value):
        raise InvalidRouteOverride(
            f"{where}: path {value!r} must start with {PATH_PREFIX} and hold only a path "
            "(letters, digits, - _ . / and {placeholders}; no query string)"
        )
    names = _placeholders(value, where)
    if sorted(names) != sorted(route.path_params) or len(set(names)) != len(names):
        expected = ", ".join(f"{{{n}}}" for n in route.path_params) or "none"
        given = ", ".join(f"{{{n}}}" for n in names) or "none"
        raise InvalidRouteOverride(
            f"{where}: path {value!r} has placeholders {given}; the route's are {expected}"
        )
    return value


def _postpone_by(value: Any, route: Route, where: str) -> PostponeBy | None:
    if value is None:
        return None
    if route.postpone_by is None:
        raise InvalidRouteOverride(f"{where}: postpone_by applies to the postpone routes only")
    if value not in POSTPONE_QUERY:
        raise InvalidRouteOverride(f"{where}: postpone_by {value!r} must be 'date' or 'days'")
    return cast(PostponeBy, value)


def _query(value: Any, route: Route, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, str) and _QUERY_NAME.match(v) for v in value
    ):
        raise InvalidRouteOverride(
            f'{where}: query must be a list of parameter names, e.g. query = ["date"]'
        )
    if len(value) != len(route.query_params) or len(set(value)) != len(value):
        raise InvalidRouteOverride(
            f"{where}: query names Billecta's names for the route's "
            f"{len(route.query_params)} parameter(s) ({', '.join(route.query_params) or 'none'}), "
            f"in that order; got {value!r}"
        )
    return tuple(value)
