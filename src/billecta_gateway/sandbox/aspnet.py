"""How ASP.NET Web API (which serves Billecta) answers requests that no action serves.

- a path no route template fits: 404 ``No HTTP resource was found that matches the request URI
  '<uri>'.`` with a ``MessageDetail`` naming the unknown controller or action;
- a path that fits, with another method: 405 ``The requested resource does not support http
  method '<METHOD>'.``;
- a required query parameter missing (action selection binds them): 404 with ``No action was
  found on the controller '<controller>' that matches the request.``.

The sandbox answers like this so ``check-billecta`` can be tested against it. It always serves
the built-in route table: ``BILLECTA_ROUTES_FILE`` is never read here, so an override cannot
confirm itself.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from billecta_gateway.billecta.routes import PATH_PREFIX, ROUTES, Route

# Query parameters the sandbox's handlers treat as optional; every other one is required.
OPTIONAL_QUERY: dict[str, frozenset[str]] = {
    "create_swish_request": frozenset({"message"}),
    "get_file_object": frozenset({"includedata"}),
}


def _segments(path: str) -> list[str]:
    rest = path[len(PATH_PREFIX) :] if path.lower().startswith(PATH_PREFIX) else path.lstrip("/")
    return [part for part in rest.split("/") if part]


def _controllers() -> set[str]:
    return {_segments(route.path)[0].lower() for route in ROUTES.values()}


def _no_resource(request: Request, detail: str) -> JSONResponse:
    return JSONResponse(
        {
            "Message": f"No HTTP resource was found that matches the request URI '{request.url}'.",
            "MessageDetail": detail,
        },
        status_code=404,
    )


def unmatched(request: Request) -> JSONResponse:
    """The 405 or 404 ASP.NET gives a request that no route of the table serves."""
    path: str = request.scope["path"]
    allowed = ROUTES.methods_at(path)
    if allowed:
        return JSONResponse(
            {"Message": f"The requested resource does not support http method '{request.method}'."},
            status_code=405,
            headers={"Allow": ", ".join(allowed)},
        )
    parts = _segments(path) or [""]
    controller = parts[0]
    if controller.lower() in _controllers() and len(parts) > 1:
        detail = (
            f"No action was found on the controller '{controller}' that matches the name "
            f"'{parts[1]}'."
        )
    else:
        detail = f"No type was found that matches the controller named '{controller}'."
    return _no_resource(request, detail)


def missing_query(request: Request, route: Route) -> JSONResponse | None:
    """ASP.NET's 404 when a required query parameter of ``route`` is absent, else None."""
    optional = OPTIONAL_QUERY.get(route.name, frozenset())
    given = {key.lower() for key in request.query_params}
    if all(name.lower() in given or name in optional for name in route.query_params):
        return None
    controller = _segments(route.path)[0]
    return _no_resource(
        request, f"No action was found on the controller '{controller}' that matches the request."
    )
