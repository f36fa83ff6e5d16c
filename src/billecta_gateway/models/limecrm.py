"""Tables of the Lime connector: the deployment's shared Lime rate limit and its processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Double, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from billecta_gateway.models.base import Base


class LimeRateBucket(Base):
    """The next moment (database clock, epoch seconds) a Lime request may start.

    ``next_at`` binds every caller; ``bulk_next_at`` binds background work only, so the share
    reserved for interactive calls stays free however many jobs wait.
    """

    __tablename__ = "lime_rate_bucket"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[float] = mapped_column(Double, server_default="0")
    bulk_next_at: Mapped[float] = mapped_column(Double, server_default="0")


class LimeRateProcess(Base):
    """A gateway process calling Lime; a stale heartbeat means it is gone."""

    __tablename__ = "lime_rate_process"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    heartbeat_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
