"""ASGI middleware: request id, access log and the audit record of state-changing calls."""

from __future__ import annotations

import json
import logging
import random
import re
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billecta_gateway.input_guard import CONTROL_CHARACTERS, INT64_MAX
from billecta_gateway.logs import request_id_var
from billecta_gateway.models import AuditRecord

logger = logging.getLogger("billecta_gateway.errors")
access_logger = logging.getLogger("billecta_gateway.access")
audit_logger = logging.getLogger("billecta_gateway.audit")

_ids = random.Random()  # noqa: S311 - request ids are not secrets
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PREFIX = "/limepkg-billecta-integration"
# The webhook inbox is the record of what Billecta sent; auditing it twice would only slow intake.
NOT_AUDITED = (f"{PREFIX}/billecta-webhook-receiver",)
_ID_PARAMS = ("id", "invoice_id", "debtcollection_id", "creditor_id", "batch_id", "event_id")


def _storable(text: Any, size: int) -> str | None:
    """`text` as PostgreSQL can store it in a column of `size` characters (None when empty)."""
    if not isinstance(text, str) or not text:
        return None
    return CONTROL_CHARACTERS.sub("\ufffd", text)[:size]


def _new_request_id() -> str:
    """32 hex digits, unique in practice; an identifier, not a secret (no system call)."""
    return f"{_ids.getrandbits(128):032x}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Give every request an id (echoed in `x-request-id`), log it, and audit state changes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else _new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send_wrapper(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            # Unforeseen errors are 500s with the request id, logged here with the request's
            # context still set; nothing above this middleware sees them.
            logger.exception("unexpected error")
            if response_started:
                raise
            body = json.dumps(
                {
                    "error_message": f"Internal server error (request id {request_id})",
                    "request_id": request_id,
                }
            ).encode()
            await send_wrapper(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_wrapper({"type": "http.response.body", "body": body})
        finally:
            elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            access_logger.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status_code,
                extra={"status_code": status_code, "elapsed_ms": elapsed_ms},
            )
            if self._audited(scope):
                await self._audit(scope, request_id, status_code)
            request_id_var.reset(token)

    @staticmethod
    def _audited(scope: Scope) -> bool:
        path: str = scope["path"]
        return (
            scope["method"] in STATE_CHANGING
            and path.startswith(PREFIX)
            and not path.startswith(NOT_AUDITED)
        )

    async def _audit(self, scope: Scope, request_id: str, status_code: int) -> None:
        app = scope.get("app")
        sessionmaker: async_sessionmaker[AsyncSession] | None = getattr(
            getattr(app, "state", None), "sessionmaker", None
        )
        if sessionmaker is None:
            return
        state: dict[str, Any] = scope.get("state") or {}
        audit: dict[str, Any] = state.get("audit") or {}
        path_params: dict[str, Any] = scope.get("path_params") or {}
        route = scope.get("route")
        limetype = audit.get("limetype") or path_params.get("limetype")
        object_id = audit.get("object_id")
        if object_id is None:
            for name in _ID_PARAMS:
                value = path_params.get(name)
                if isinstance(value, str) and value.isdigit() and len(value) <= 19:
                    value = int(value)
                if isinstance(value, int) and 0 <= value <= INT64_MAX:
                    object_id = value
                    break
        # A refused request is audited too: what it sent must fit the row (no NUL, lengths).
        record = AuditRecord(
            request_id=request_id,
            actor=_storable(_header(scope, b"x-lime-user"), 255),
            action=_storable(
                getattr(route, "name", None) or f"{scope['method']} {scope['path']}", 255
            )
            or "",
            method=scope["method"][:8],
            path=_storable(scope["path"], 1024) or "",
            limetype=_storable(limetype, 64),
            object_id=object_id,
            status_code=status_code,
            result="ok" if status_code < 400 else "error",
            detail=audit.get("detail"),
        )
        try:
            async with sessionmaker() as session:
                session.add(record)
                await session.commit()
        except Exception:
            audit_logger.exception("could not write the audit record")
