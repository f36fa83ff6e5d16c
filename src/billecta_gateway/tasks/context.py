"""What every arq job receives: the worker builds it at start-up, jobs only read it."""

from __future__ import annotations

from typing import TypedDict

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.config import Settings
from billecta_gateway.lime.mappings import FieldMappings
from billecta_gateway.lime.schema import LimeSchema


class WorkerContext(TypedDict):
    """What every job receives: arq's own keys plus the resources built in on_startup."""

    redis: ArqRedis
    job_id: str
    job_try: int
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    billecta: BillectaClient
    lime_schema: LimeSchema
    field_mappings: FieldMappings
