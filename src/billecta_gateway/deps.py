"""Short `Annotated` dependency aliases for the routers.

The getters are `async def` although they only read app state: FastAPI runs a plain `def`
dependency in a worker thread, a thread hop per dependency per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.config import Settings
from billecta_gateway.lime.schema import LimeSchema


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request; the route commits once before it returns."""
    async with request.app.state.sessionmaker() as session:
        yield session


async def get_billecta(request: Request) -> BillectaClient:
    return request.app.state.billecta  # type: ignore[no-any-return]


async def get_queue(request: Request) -> ArqRedis:
    return request.app.state.queue  # type: ignore[no-any-return]


async def get_lime_schema(request: Request) -> LimeSchema:
    return request.app.state.lime_schema  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
BillectaDep = Annotated[BillectaClient, Depends(get_billecta)]
QueueDep = Annotated[ArqRedis, Depends(get_queue)]
LimeSchemaDep = Annotated[LimeSchema, Depends(get_lime_schema)]
