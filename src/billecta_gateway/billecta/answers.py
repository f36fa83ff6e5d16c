"""Reading Billecta's answers: one model, a list, a created id; shape errors name the route."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from billecta_gateway.billecta import schemas as s
from billecta_gateway.billecta.errors import BillectaApiRequestException
from billecta_gateway.billecta.routes import Route

M = TypeVar("M", bound=BaseModel)

logger = logging.getLogger("billecta_gateway.billecta")


def day(value: date) -> str:
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def shape_error(route: Route, exc: ValidationError | str) -> BillectaApiRequestException:
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors(include_input=False)[:5]
        )
    else:
        problems = exc
    return BillectaApiRequestException(
        f"unexpected answer from Billecta to {route.name}: {problems}",
        method=route.method,
        path=route.path,
    )


def one(route: Route, model: type[M], data: Any) -> M:
    if data is None:
        raise shape_error(route, "empty body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise shape_error(route, exc) from None


def many(route: Route, model: type[M], data: Any) -> list[M]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise shape_error(route, f"expected a list, got {type(data).__name__}")
    try:
        return [model.model_validate(item) for item in data]
    except ValidationError as exc:
        raise shape_error(route, exc) from None


def created_id(route: Route, data: Any) -> str:
    if isinstance(data, str) and data:
        return data
    public_id = one(route, s.BillectaCreated, data).public_id
    if not public_id:
        raise shape_error(route, "no PublicId in the answer")
    return public_id


def optional_created_id(route: Route, data: Any) -> str | None:
    """The id in a 2xx answer, or None: a 2xx is a success whatever its body holds."""
    if isinstance(data, str) and data:
        return data
    public_id = data.get("PublicId") if isinstance(data, dict) else None
    if isinstance(public_id, str) and public_id:
        return public_id
    logger.warning("billecta %s answered 2xx without a PublicId", route.name)
    return None


def days_until(route: Route, base: datetime | None, new_date: date) -> str:
    """The number of days from Billecta's next event to ``new_date``, for ``postpone_by=days``."""
    if base is None:
        raise shape_error(route, "postpone by days needs the next event date, Billecta sent none")
    days = (new_date - base.date()).days
    if days < 1:
        raise shape_error(route, f"{new_date} is not after the next event ({base.date()})")
    return str(days)
