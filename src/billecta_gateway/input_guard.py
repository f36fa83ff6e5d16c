"""Refuse input the database cannot store before any route code runs.

PostgreSQL refuses NUL in text and a 64-bit column refuses a larger integer; both used to
surface as 500s (or as an audit row silently lost). Every Lime-facing route depends on
`refuse_unstorable_input`, which answers such a request with the route's validation error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, get_args

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# C0 controls and DEL; tab, line feed and carriage return are ordinary text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The only ways a control character can be inside a valid JSON text: an escape, or a raw DEL.
_JSON_CONTROL = re.compile(rb"\\u00[01][0-9a-fA-F]|\\u007[fF]|\x7f")
# Only a run of 19 digits or more can be an integer beyond 64 bits.
_LONG_NUMBER = re.compile(rb"\d{19,}")
_INTEGER = re.compile(r"^[+-]?\d+$")


def flat_dependants(dependant: Dependant) -> Iterator[Dependant]:
    """A route's dependant and all its sub-dependencies, depth first."""
    yield dependant
    for sub in dependant.dependencies:
        yield from flat_dependants(sub)


def _integer_params(route: APIRoute) -> set[tuple[str, str]]:
    """(location, name) of the route's integer path and query parameters."""
    found: set[tuple[str, str]] = set()
    for dependant in flat_dependants(route.dependant):
        for where, fields in (("path", dependant.path_params), ("query", dependant.query_params)):
            for field in fields:
                annotation = field.field_info.annotation
                if annotation is int or int in get_args(annotation):
                    found.add((where, field.alias))
    return found


def _error(loc: list[str], message: str, kind: str) -> dict[str, Any]:
    return {"type": kind, "loc": tuple(loc), "msg": message, "input": None}


def _leaves(value: Any, loc: list[str]) -> Iterator[tuple[list[str], Any]]:
    """Every string (keys included) and number in a parsed JSON value, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield [*loc, str(key)], str(key)
            yield from _leaves(item, [*loc, str(key)])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, [*loc, str(index)])
    else:
        yield loc, value


_CONTROL_MESSAGE = "Control characters (such as NUL) are not allowed"
_INT64_MESSAGE = "Must be a 64-bit integer"


def _body_errors(body: bytes) -> list[dict[str, Any]]:
    if not (_JSON_CONTROL.search(body) or _LONG_NUMBER.search(body)):
        return []
    try:
        parsed = json.loads(body)
    except ValueError:
        return []  # the route's own parsing answers a body that is not JSON
    errors = []
    for loc, value in _leaves(parsed, ["body"]):
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            errors.append(_error(loc, _CONTROL_MESSAGE, "control_character"))
        elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            errors.append(_error(loc, _INT64_MESSAGE, "int64_out_of_range"))
    return errors


async def refuse_unstorable_input(request: Request) -> None:
    """Refuse control characters in any string and integers beyond 64 bits (path, query and
    JSON body), before anything else runs."""
    errors: list[dict[str, Any]] = []
    for where, values in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
    ):
        for name, value in values:
            if isinstance(value, str) and (
                CONTROL_CHARACTERS.search(value) or CONTROL_CHARACTERS.search(name)
            ):
                errors.append(_error([where, name], _CONTROL_MESSAGE, "control_character"))
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        raw = {"path": request.path_params, "query": request.query_params}
        for where, name in _integer_params(route):
            value = raw[where].get(name)
            if isinstance(value, str) and _INTEGER.match(value.strip()):
                # 20 characters hold any 64-bit value; longer is out of range (and int() of
                # thousands of digits is itself refused by Python).
                text = value.strip()
                if len(text) > 20 or not INT64_MIN <= int(text) <= INT64_MAX:
                    errors.append(_error([where, name], _INT64_MESSAGE, "int64_out_of_range"))
    content_type = request.headers.get("content-type", "application/json")
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and "json" in content_type:
        errors.extend(_body_errors(await request.body()))
    if errors:
        raise RequestValidationError(errors)
