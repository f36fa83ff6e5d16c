"""Authentication of the Lime-facing endpoints (DESIGN §3.2)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader

from billecta_gateway.errors import Unauthorized

LIME_API_KEY = "limeApiKey"
# Declared as a security scheme, so the document names it on every route that depends on it
# and Swagger's Authorize sends it; the check itself stays ours (constant time, our 401 body).
_lime_api_key = APIKeyHeader(
    name="x-api-key",
    scheme_name=LIME_API_KEY,
    description="One of the configured Lime API keys (`LIME_API_KEYS`)",
    auto_error=False,
)


def constant_time_match(candidate: str | None, keys: list[str]) -> bool:
    """True when `candidate` equals one of `keys`; every key is compared, in constant time."""
    if not candidate:
        return False
    given = candidate.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key.encode())
    return matched


async def require_api_key(
    request: Request,
    x_api_key: Annotated[str | None, Depends(_lime_api_key)] = None,
) -> None:
    """Refuse the request unless `x-api-key` is one of the configured Lime API keys."""
    keys: list[str] = request.app.state.lime_api_keys
    if not constant_time_match(x_api_key, keys):
        raise Unauthorized("Missing or invalid x-api-key header")


async def acting_user(
    x_lime_user: Annotated[
        str | None,
        Header(
            alias="x-lime-user", description="The Lime user acting (recorded in audit and batches)"
        ),
    ] = None,
) -> str | None:
    """The Lime user on whose behalf the call is made, if the frontend says."""
    return x_lime_user.strip()[:255] if x_lime_user else None


ActorDep = Annotated[str | None, Depends(acting_user)]
