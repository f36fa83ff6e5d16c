"""What every Billecta operation on a mirrored object shares.

- Looking the object up (an adopted gateway id resolves to its Lime id; a Billecta id through
  the mirror), so a missing object or Billecta id is answered before Billecta is called.
- :class:`ErrorStyle`: each endpoint answers failures with the code and body its spec documents
  (DESIGN §3.3); a style builds them.
- :func:`call_billecta`: a Billecta failure is written to the object's ``billecta_error_message``
  and raised in the endpoint's style; :func:`succeeded` clears the message.
- :func:`perform`: the one commit of a state-changing request, with its idempotency record,
  its uncertain marker (:mod:`billecta_gateway.invoices.outcomes`) and audit note. The error
  message written by a failed call is committed before the error is answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from arq.connections import ArqRedis
from fastapi import APIRouter, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from billecta_gateway import idempotency
from billecta_gateway.billecta.errors import (
    BillectaApiNotFoundException,
    BillectaApiRequestException,
    BillectaDeadlineExceeded,
)
from billecta_gateway.errors import GatewayError
from billecta_gateway.idempotency import IdempotencyRequest
from billecta_gateway.invoices import outcomes
from billecta_gateway.models import GATEWAY_ID_START, LimeObject, ObjectAlias, UncertainOperation
from billecta_gateway.queue import AfterCommit

T = TypeVar("T")
ObjT = TypeVar("ObjT", bound=LimeObject)
F = TypeVar("F", bound=Callable[..., Any])

BodyBuilder = Callable[[int, str], dict[str, Any]]


class OperationError(GatewayError):
    """A failed operation, answered with its endpoint's documented status code and body.

    ``reached_billecta`` tells whether Billecta may have acted on the request: only such
    failures are stored as an idempotent result. ``uncertain_on`` is the object a request
    with an unknown outcome was about (it gets an uncertain marker).
    """

    def __init__(
        self,
        status_code: int,
        body: dict[str, Any],
        message: str,
        *,
        reached_billecta: bool = False,
        headers: dict[str, str] | None = None,
        uncertain_on: LimeObject | None = None,
    ) -> None:
        super().__init__(message, body=body, status_code=status_code, headers=headers)
        self.reached_billecta = reached_billecta
        self.uncertain_on = uncertain_on


def error_message_body(status: int, message: str) -> dict[str, Any]:
    """``{"error_message": ...}``."""
    return {"error_message": message}


def status_error_message_body(status: int, message: str) -> dict[str, Any]:
    """``{"status_code": 500, "error_message": ...}``."""
    return {"status_code": status, "error_message": message}


def status_message_body(status: int, message: str) -> dict[str, Any]:
    """``{"status_code": 500, "message": ...}``."""
    return {"status_code": status, "message": message}


def message_body(status: int, message: str) -> dict[str, Any]:
    """``{"message": ...}``."""
    return {"message": message}


def reached_billecta(exc: BillectaApiRequestException) -> bool:
    """False only when the request certainly never arrived (no connection was made)."""
    if exc.status_code is not None:
        return True
    if isinstance(exc, BillectaDeadlineExceeded):
        return exc.sent
    cause = exc.__cause__
    return not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


@dataclass(frozen=True)
class ErrorStyle:
    """How one endpoint answers failures.

    ``missing_status``: the object, or its Billecta id, is missing (also when Billecta answers
    404 for it). ``billecta_status``: Billecta failed; None means the defaults of DESIGN §3.3,
    502 when Billecta rejected the call and 503 when it could not be reached.
    """

    body: BodyBuilder = error_message_body
    missing_status: int = 404
    billecta_status: int | None = None

    def missing(self, message: str) -> OperationError:
        """The object or its Billecta id is missing; nothing was sent to Billecta."""
        return OperationError(self.missing_status, self.body(self.missing_status, message), message)

    def invalid(self, message: str, status: int = 400) -> OperationError:
        """Input the endpoint refuses before calling Billecta."""
        return OperationError(status, self.body(status, message), message)

    def conflict(self, message: str) -> OperationError:
        """The object's state does not allow the operation; nothing was sent to Billecta."""
        return OperationError(409, self.body(409, message), message)

    def uncertain(self, obj: LimeObject | None) -> OperationError:
        """The request was sent and its outcome is unknown: the caller must not repeat it."""
        status = self.billecta_status or 503
        message = outcomes.UNCERTAIN_MESSAGE
        return OperationError(
            status,
            self.body(status, message),
            message,
            reached_billecta=True,
            uncertain_on=obj,
        )

    def billecta(self, exc: BillectaApiRequestException, message: str) -> OperationError:
        """Billecta failed (rejected, not found, or unreachable)."""
        reached = reached_billecta(exc)
        headers = (
            {"Retry-After": str(max(1, int(exc.retry_after)))}
            if exc.retryable and exc.retry_after
            else None
        )
        if isinstance(exc, BillectaApiNotFoundException):
            status = self.missing_status
        elif self.billecta_status is not None:
            status = self.billecta_status
        else:
            status = 503 if exc.retryable else 502
        return OperationError(
            status, self.body(status, message), message, reached_billecta=reached, headers=headers
        )


async def resolve_id(session: AsyncSession, limetype: str, object_id: int) -> int:
    """The id an object lives under now (an adopted gateway-assigned id answers its Lime id)."""
    if object_id < GATEWAY_ID_START:
        return object_id
    target = await session.scalar(
        select(ObjectAlias.target_id).where(
            ObjectAlias.limetype == limetype, ObjectAlias.alias_id == object_id
        )
    )
    return object_id if target is None else int(target)


async def load(session: AsyncSession, model: type[ObjT], object_id: int) -> ObjT | None:
    """One mirrored object by its id (or an alias of it), or None."""
    if object_id < 1 or object_id >= 2**63:
        return None
    target = await resolve_id(session, model.__limetype__, object_id)
    return await session.get(model, target, populate_existing=True)


async def find_by(
    session: AsyncSession, model: type[ObjT], column: InstrumentedAttribute[Any], value: str
) -> ObjT | None:
    """The mirrored object whose ``column`` (a Billecta id) equals ``value``, or None."""
    if not value:
        return None
    return await session.scalar(
        select(model).where(column == value).limit(1).execution_options(populate_existing=True)
    )


async def call_billecta(
    call: Awaitable[T],
    *,
    style: ErrorStyle,
    what: str,
    obj: LimeObject | None = None,
    not_found_message: str | None = None,
) -> T:
    """Await a Billecta call; on failure record ``what`` and Billecta's reason on ``obj``.

    The failure is raised in ``style`` (the message keeps Billecta's own text, or is
    ``not_found_message`` when Billecta answered 404 and one is given). A state-changing
    request whose answer never came is uncertain: ``obj`` records it with the reference.
    """
    try:
        return await call
    except BillectaApiRequestException as exc:
        if outcomes.is_uncertain(exc):
            record_uncertain_message(obj, what, exc)
            raise style.uncertain(obj) from exc
        message = f"{what}: {exc.message}"
        if not_found_message and isinstance(exc, BillectaApiNotFoundException):
            message = not_found_message
        if obj is not None and hasattr(obj, "billecta_error_message"):
            obj.billecta_error_message = message
        raise style.billecta(exc, message) from exc


def record_uncertain_message(
    obj: LimeObject | None, what: str, exc: BillectaApiRequestException
) -> None:
    """Write the uncertain outcome, with the operation's reference, on the object."""
    if obj is not None and hasattr(obj, "billecta_error_message"):
        obj.billecta_error_message = (
            f"{what}: {exc.message}. {outcomes.UNCERTAIN_MESSAGE} "
            f"(reference {outcomes.current_reference()})"
        )


def succeeded(obj: LimeObject | None) -> None:
    """Clear the object's ``billecta_error_message`` after a successful operation."""
    if obj is not None and getattr(obj, "billecta_error_message", None) is not None:
        obj.billecta_error_message = None  # type: ignore[attr-defined]


DEFAULT_STYLE = ErrorStyle()
# The documented meaning of the 409 that refuses a repeated money operation.
REPEAT = (
    "An identical request was made within IDEMPOTENCY_WINDOW, or one is still unconfirmed; "
    "nothing was sent"
)


@dataclass
class Outcome:
    """A successful operation's answer: status code and JSON body (None: an empty body)."""

    status_code: int = 200
    body: Any = None
    jobs: AfterCommit = field(default_factory=AfterCommit)


def respond(status_code: int, body: Any, *, replayed: bool = False) -> Response:
    """The HTTP response for a result (an empty body when ``body`` is None)."""
    headers = {idempotency.REPLAY_HEADER: "true"} if replayed else None
    if body is None:
        return Response(status_code=status_code, headers=headers)
    return JSONResponse(status_code=status_code, content=jsonable_encoder(body), headers=headers)


def note_audit(request: Request, limetype: str, object_id: int | None, **detail: Any) -> None:
    """Name the object (and what was done) in the audit row of this request."""
    current: dict[str, Any] = getattr(request.state, "audit", None) or {}
    merged = {**current.get("detail", {}), **jsonable_encoder(detail)}
    request.state.audit = {"limetype": limetype, "object_id": object_id, "detail": merged}


async def perform(
    session: AsyncSession,
    *,
    request: Request,
    idem: IdempotencyRequest | None,
    action: Callable[[], Awaitable[Outcome]],
    queue: ArqRedis | None = None,
    style: ErrorStyle = DEFAULT_STYLE,
    exactly_once: bool = True,
) -> Response:
    """Run a state-changing operation and commit once.

    With an ``Idempotency-Key``, a stored earlier result is replayed without running
    ``action``; otherwise the result is stored with the operation's writes. Without one (and
    ``exactly_once``), an identical request within IDEMPOTENCY_WINDOW, or one identical to a
    request still uncertain, is a 409 in ``style`` and nothing is sent. A failure commits the
    error message it wrote (and its result, when Billecta may have acted) before it is
    answered. Jobs the operation asked for are enqueued after the commit.
    """
    if idem is not None and not idem.explicit and not exactly_once:
        idem = None
    now = datetime.now(UTC)
    if idem is not None:
        replay = await _refuse_repeats(session, request, idem, style, now)
        if replay is not None:
            return replay
    with outcomes.operation_reference() as reference:
        try:
            outcome = await action()
        except OperationError as exc:
            if idem is not None:
                await _record_failure(session, request, idem, exc, reference, now)
            await session.commit()
            raise
        except GatewayError:
            await session.commit()
            raise
    if idem is not None:
        await idempotency.store(
            session, idem, status_code=outcome.status_code, body=outcome.body, now=now
        )
    await session.commit()
    if queue is not None and outcome.jobs.jobs:
        await outcome.jobs.flush(queue)
    return respond(outcome.status_code, outcome.body)


async def _refuse_repeats(
    session: AsyncSession,
    request: Request,
    idem: IdempotencyRequest,
    style: ErrorStyle,
    now: datetime,
) -> Response | None:
    """The replay of a request already made under its key, or its 409; None when new.

    A new request holds its key's lock from here to its commit.
    """
    earlier = await idempotency.begin(session, idem, now=now)
    if earlier is not None:
        await session.rollback()
        if idem.explicit:
            note_audit_replay(request)
            return respond(earlier.status_code, earlier.body, replayed=True)
        note_audit(request, *_audit_object(request), duplicate_of=earlier.created_at)
        raise style.conflict(outcomes.duplicate_message(earlier.created_at, earlier.expires_at))
    pending = await outcomes.open_uncertain(session, idem.request_hash)
    if pending is not None:
        message, reference = outcomes.pending_message(pending), pending.reference
        await session.rollback()
        note_audit(request, *_audit_object(request), pending_reference=reference)
        raise style.conflict(message)
    return None


async def _record_failure(
    session: AsyncSession,
    request: Request,
    idem: IdempotencyRequest,
    exc: OperationError,
    reference: str,
    now: datetime,
) -> None:
    """Store what a failed operation leaves: its uncertain marker and idempotent result."""
    obj = exc.uncertain_on
    if obj is not None:
        route_ = request.scope.get("route")
        session.add(
            UncertainOperation(
                limetype=obj.__limetype__,
                object_id=obj.id,
                operation=str(getattr(route_, "name", None) or request.url.path)[:255],
                request_hash=idem.request_hash,
                reference=reference,
                actor=request.headers.get("x-lime-user") or None,
                message=getattr(obj, "billecta_error_message", None),
                created_at=now,
            )
        )
        note_audit(request, obj.__limetype__, obj.id, uncertain_reference=reference)
    if exc.reached_billecta and (idem.explicit or obj is not None):
        await idempotency.store(
            session, idem, status_code=exc.status_code, body=exc.body(), now=now
        )


def _audit_object(request: Request) -> tuple[str, int | None]:
    current: dict[str, Any] = getattr(request.state, "audit", None) or {}
    return str(current.get("limetype") or ""), current.get("object_id")


def note_audit_replay(request: Request) -> None:
    """Mark the audit row of a replayed request."""
    current: dict[str, Any] = getattr(request.state, "audit", None) or {}
    detail = {**current.get("detail", {}), "idempotent_replay": True}
    request.state.audit = {**current, "detail": detail}


def add_route(
    router: APIRouter, method: str, path: str, endpoint: Callable[..., Any], **options: Any
) -> None:
    """Register ``endpoint`` under ``path`` and under the same path with the trailing slash
    toggled (DESIGN §3.1: both work); only the documented one is in the OpenAPI document."""
    alternative = path[:-1] if path.endswith("/") else f"{path}/"
    router.add_api_route(path, endpoint, methods=[method], **options)
    hidden = {**options, "include_in_schema": False}
    router.add_api_route(alternative, endpoint, methods=[method], **hidden)


def route(router: APIRouter, method: str, path: str, **options: Any) -> Callable[[F], F]:
    """Decorator form of :func:`add_route`."""

    def register(endpoint: F) -> F:
        add_route(router, method, path, endpoint, **options)
        return endpoint

    return register
