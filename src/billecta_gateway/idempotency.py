"""Exactly-once for state-changing Billecta operations (DESIGN §3.9).

A call made with an ``Idempotency-Key`` header stores its result under (key, scope), the scope
being the route and the acting Lime user. A repeat within ``IDEMPOTENCY_TTL_HOURS`` answers the
stored result without calling Billecta again; the same key with a different request is a 422.

A call without the header (the Lime frontend never sends one) gets a key derived from the
request itself: (operation, object, canonical body, acting user), the object being named by the
path or the body. An identical repeat within ``IDEMPOTENCY_WINDOW`` (seconds) sends nothing and
is a 409 naming when the identical request was made; a user who means a second identical
payment changes the comment or waits out the window.

Concurrent duplicates are serialised by a transaction-scoped advisory lock on (key, scope),
taken before the stored result is looked up: the second request waits until the first has
committed its result, then replays it, so the two never both reach Billecta. The unique
constraint on (key, scope) backs the lock up. A failure that never reached Billecta (a refused
connection, a missing object, invalid input) stores nothing, so the call can simply be retried.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.auth import ActorDep
from billecta_gateway.deps import SettingsDep
from billecta_gateway.errors import GatewayError, InvalidInput
from billecta_gateway.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotency-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_LOCK_NAMESPACE = b"billecta-gateway:idempotency\x00"


class IdempotencyKeyReused(GatewayError):
    """The key was already used, within its lifetime, for a different request."""

    status_code = 422
    default_message = "This Idempotency-Key was already used for a different request"


@dataclass(frozen=True)
class IdempotencyRequest:
    """One use of an ``Idempotency-Key``: the key, its scope and the request's fingerprint."""

    key: str
    scope: str
    request_hash: str
    ttl: timedelta
    explicit: bool = True
    """False: the key was derived from the request (no ``Idempotency-Key`` header)."""

    @property
    def lock_id(self) -> int:
        """A signed 64-bit advisory-lock id for (scope, key)."""
        digest = hashlib.sha256(
            _LOCK_NAMESPACE + self.scope.encode() + b"\x00" + self.key.encode()
        ).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class StoredResult:
    """The first answer given under a key: status code and JSON body (None: empty body)."""

    status_code: int
    body: Any
    created_at: datetime
    expires_at: datetime


def _canonical_number(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    raise TypeError(type(value).__name__)


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """SHA-256 of the request: method, path, sorted query and canonical JSON body.

    The body's keys are sorted and its numbers normalised (``1000``, ``1000.0`` and ``1e3``
    are one amount), so only a different request has a different fingerprint.
    """
    try:
        parsed = json.loads(body, parse_float=Decimal, parse_int=Decimal)
        canonical: bytes = json.dumps(
            parsed,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=_canonical_number,
        ).encode()
    except ValueError:
        canonical = body
    query_part = "&".join(sorted(query.split("&"))) if query else ""
    digest = hashlib.sha256()
    for part in (method.upper(), path.rstrip("/"), query_part):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(canonical)
    return digest.hexdigest()


def _invalid_key(message: str) -> InvalidInput:
    return InvalidInput(
        f"Invalid request: {message}",
        errors=[
            {
                "loc": ["header", HEADER],
                "field": HEADER,
                "message": message,
                "type": "invalid_idempotency_key",
            }
        ],
    )


async def idempotency_request(
    request: Request,
    settings: SettingsDep,
    actor: ActorDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description=(
                "Makes the call safe to repeat: a repeat with the same key within "
                "IDEMPOTENCY_TTL_HOURS answers the first result without calling Billecta again. "
                "Without it, an identical request within IDEMPOTENCY_WINDOW is a 409"
            ),
            examples=["3f1c2b9e-7d4a-4e61-9a0b-1c2d3e4f5a6b"],
        ),
    ] = None,
) -> IdempotencyRequest | None:
    """The request's idempotency details: its ``Idempotency-Key``, or a key derived from it."""
    route = request.scope.get("route")
    template = str(getattr(route, "path", request.url.path)).rstrip("/")
    scope = f"{request.method} {template} user={actor or '-'}"[:255]
    body = await request.body()
    fingerprint = request_fingerprint(request.method, request.url.path, request.url.query, body)
    if idempotency_key is None:
        return IdempotencyRequest(
            key=f"auto:{fingerprint}",
            scope=scope,
            request_hash=fingerprint,
            ttl=timedelta(seconds=settings.idempotency_window),
            explicit=False,
        )
    key = idempotency_key.strip()
    if not _KEY.match(key):
        raise _invalid_key("Idempotency-Key must be 1 to 255 visible ASCII characters")
    return IdempotencyRequest(
        key=key,
        scope=scope,
        request_hash=fingerprint,
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
    )


IdempotencyDep = Annotated[IdempotencyRequest, Depends(idempotency_request)]


async def begin(
    session: AsyncSession, request: IdempotencyRequest, *, now: datetime
) -> StoredResult | None:
    """Take the key's lock for this transaction; the stored result of an earlier use, if any.

    An expired record is removed, so its key starts afresh. The same key with a different
    request raises :class:`IdempotencyKeyReused`.
    """
    await session.execute(select(func.pg_advisory_xact_lock(request.lock_id)))
    record = await session.scalar(
        select(IdempotencyRecord)
        .where(IdempotencyRecord.key == request.key, IdempotencyRecord.scope == request.scope)
        .execution_options(populate_existing=True)
    )
    if record is None:
        return None
    if record.expires_at <= now:
        await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record.id))
        return None
    if record.request_hash != request.request_hash:
        raise IdempotencyKeyReused(
            f"Idempotency-Key '{request.key}' was already used for a different request; "
            "use a new key for a new request"
        )
    if record.status_code is None:  # pragma: no cover - results are stored with their code
        return None
    return StoredResult(
        status_code=record.status_code,
        body=record.body,
        created_at=record.created_at,
        expires_at=record.expires_at,
    )


async def store(
    session: AsyncSession,
    request: IdempotencyRequest,
    *,
    status_code: int,
    body: Any,
    now: datetime,
) -> None:
    """Record the result given under the key (in the caller's transaction, under its lock)."""
    await session.execute(
        insert(IdempotencyRecord)
        .values(
            key=request.key,
            scope=request.scope,
            request_hash=request.request_hash,
            status_code=status_code,
            body=body,
            created_at=now,
            expires_at=now + request.ttl,
        )
        .on_conflict_do_nothing(index_elements=["key", "scope"])
    )


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    """Delete expired records; returns how many (for a periodic clean-up job)."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
