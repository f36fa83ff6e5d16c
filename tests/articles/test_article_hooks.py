"""Decorator behaviour of article and creditorarticle (SYNC_ON_CHANGE)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.models import IntegrationMonitorLog
from tests.conftest import make_settings
from tests.tasks.support import add_article, add_creditor

OBJECTS = "/limepkg-billecta-integration/limeobjects"


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    mapping = tmp_path / "mappings.toml"
    mapping.write_text('[article]\nDescription = "name"\nUnitPrice = "unitprice"\n')
    return make_settings(sync_on_change="article,creditorarticle", field_mappings_file=mapping)


async def _on_change_logs(session: AsyncSession) -> list[int]:
    return [
        int(i or 0) for i in (await session.scalars(select(IntegrationMonitorLog.object_id))).all()
    ]


async def test_a_mapped_article_change_queues_an_upsert(
    client: httpx.AsyncClient, session: AsyncSession, redis: ArqRedis
) -> None:
    await add_creditor(session)
    await add_article(session, 2001)
    assert (await client.put(f"{OBJECTS}/article/2001", json={"unit": "h"})).status_code == 200
    assert await _on_change_logs(session) == []
    assert (await client.put(f"{OBJECTS}/article/2001", json={"unitprice": 150})).status_code == 200
    assert await _on_change_logs(session) == [2001]


async def test_a_new_creditor_article_queues_the_article(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await add_creditor(session)
    await add_article(session, 2001, creditors=())
    response = await client.put(
        f"{OBJECTS}/creditorarticle/7001", json={"creditor": 1, "article": 2001}
    )
    assert response.status_code == 201
    assert await _on_change_logs(session) == [2001]
