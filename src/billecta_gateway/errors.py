"""One error hierarchy, rendered by one set of handlers into the JSON shapes of DESIGN §3.3."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from billecta_gateway.billecta.errors import (
    BillectaApiBadRequestException,
    BillectaApiRequestException,
)

logger = logging.getLogger("billecta_gateway.errors")


class GatewayError(Exception):
    """Base of every foreseeable error; carries its status code and its JSON body."""

    status_code: int = 500
    default_message: str = "The request could not be completed"

    def __init__(
        self,
        message: str | None = None,
        *,
        body: dict[str, Any] | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        if status_code is not None:
            self.status_code = status_code
        self._body = body
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return self._body if self._body is not None else {"error_message": self.message}


class BadRequest(GatewayError):
    status_code = 400
    default_message = "The request is not valid"


class Unauthorized(GatewayError):
    status_code = 401
    default_message = "A valid API key is required"


class NotFound(GatewayError):
    status_code = 404
    default_message = "Object not found"


class Conflict(GatewayError):
    status_code = 409
    default_message = "The object is in a state that does not allow this change"


class InvalidInput(GatewayError):
    """422 with the field errors that caused it."""

    status_code = 422
    default_message = "The request is not valid"

    def __init__(
        self, message: str | None = None, *, errors: Sequence[dict[str, Any]] = ()
    ) -> None:
        super().__init__(message)
        self.errors = [field_error(e) for e in errors]

    def body(self) -> dict[str, Any]:
        return {"error_message": self.message, "errors": self.errors}


class BillectaRejected(GatewayError):
    status_code = 502
    default_message = "Billecta rejected the request"


class ServiceUnavailable(GatewayError):
    status_code = 503
    default_message = "A service the gateway depends on is unavailable"


class SpecError(GatewayError):
    """An endpoint answering the status code and body the spec documents for it."""

    def __init__(self, status_code: int, body: dict[str, Any], message: str | None = None) -> None:
        text = message or str(body.get("error_message") or body.get("message") or body)
        super().__init__(text, body=body, status_code=status_code)


# Endpoints whose spec answers a request-validation failure with its own code and body.
F = TypeVar("F", bound=Callable[..., Any])
ValidationShape = Callable[[str, list[dict[str, Any]]], tuple[int, dict[str, Any]]]


def spec_validation(shape: ValidationShape) -> Callable[[F], F]:
    """Mark an endpoint whose documented validation error differs from 422 (e.g. a 400)."""

    def mark(func: F) -> F:
        func.__spec_validation__ = shape  # type: ignore[attr-defined]
        return func

    return mark


def validation_400(message: str, errors: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    return 400, {"error_message": message, "errors": errors}


def field_error(error: dict[str, Any]) -> dict[str, Any]:
    """One item of a 422's `errors`, in the documented shape: string `loc`, `field`,
    `message` and `type` always present, whoever raised it."""
    loc = [str(part) for part in error.get("loc", ())]
    return {
        "loc": loc,
        "field": str(error.get("field") or ".".join(loc[1:]) or ".".join(loc)),
        "message": str(error.get("message") or error.get("msg") or "Invalid value"),
        "type": str(error.get("type") or "value_error"),
    }


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [field_error(err) for err in exc.errors()]


def _summary(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "The request is not valid"
    parts = [f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "Invalid request: " + "; ".join(parts) + more


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=jsonable_encoder(body), headers=headers)


BODY_PARSE_DETAIL = "There was an error parsing the body"
UNDECODABLE_BODY = {
    "loc": ["body"],
    "field": "body",
    "message": "The body is not valid UTF-8 JSON",
    "type": "json_invalid",
}


def _invalid_request(request: Request, errors: list[dict[str, Any]]) -> JSONResponse:
    """The route's validation error: 422, or the status and body its spec documents."""
    message = _summary(errors)
    route = request.scope.get("route")
    shape = getattr(getattr(route, "endpoint", None), "__spec_validation__", None)
    if shape is not None:
        status, body = shape(message, errors)
        return _json(status, body)
    return _json(422, {"error_message": message, "errors": errors})


def install_error_handlers(app: FastAPI) -> None:
    """Register the one set of handlers every error goes through."""

    @app.exception_handler(GatewayError)
    async def _gateway(request: Request, exc: GatewayError) -> JSONResponse:
        if exc.status_code >= 500:
            logger.warning(
                "request failed: %s", exc.message, extra={"status_code": exc.status_code}
            )
        return _json(exc.status_code, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _invalid_request(request, _field_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == BODY_PARSE_DETAIL:
            # FastAPI's answer to a body it cannot decode (not UTF-8): the same validation
            # error as a body that is not JSON, so a route has one documented answer for both.
            return _invalid_request(request, [UNDECODABLE_BODY])
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No endpoint {request.method} {request.url.path}"
        return _json(exc.status_code, {"error_message": detail}, getattr(exc, "headers", None))

    @app.exception_handler(BillectaApiBadRequestException)
    async def _billecta_400(request: Request, exc: BillectaApiBadRequestException) -> JSONResponse:
        return _json(502, {"error_message": f"Billecta rejected the request: {exc.message}"})

    @app.exception_handler(BillectaApiRequestException)
    async def _billecta(request: Request, exc: BillectaApiRequestException) -> JSONResponse:
        if exc.retryable:
            headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else None
            return _json(503, {"error_message": f"Billecta is unavailable: {exc.message}"}, headers)
        return _json(502, {"error_message": f"Billecta rejected the request: {exc.message}"})

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        logger.error("dependency unavailable: %s", type(exc).__name__)
        return _json(
            503, {"error_message": "The database or queue is unavailable, try again later"}
        )

    for exc_type in (
        OperationalError,
        InterfaceError,
        ConnectionRefusedError,
        RedisConnectionError,
    ):
        app.add_exception_handler(exc_type, _unavailable)
