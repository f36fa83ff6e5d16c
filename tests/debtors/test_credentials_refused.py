"""Expired credentials: a 401/403 from Billecta fails the job at once, named on the monitor."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.debtors.tasks import UPSERT_DEBTOR
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import start_task
from tests.tasks.support import FakeBillecta, add_creditor, add_debtor, batch_and_logs, run_batch


async def test_refused_credentials_fail_the_job_once_and_say_so_on_the_monitor(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, name="Acme AB")
    await add_debtor(session, 1001)
    denied = httpx.Response(401, json={"Message": "Authorization has been denied."})
    fake.fail("get_debtor_by_external_id", denied, denied, denied)
    batch_id = await start_task(
        session,
        kind=UPSERT_DEBTOR,
        title="t",
        created_by=None,
        object_ids=[1001],
        jobs=AfterCommit(),
    )
    await session.commit()

    results = await run_batch(ctx, batch_id)

    assert results == {1001: "error"}
    lookups = [s for s in fake.sent if s.path.startswith("/v1/debtors/debtorbyexternalid/")]
    assert len(lookups) == 1  # neither the client nor the job tried again
    assert not [s for s in fake.sent if s.method == "POST"]
    _, logs = await batch_and_logs(session, batch_id)
    assert logs[1001].status == "error" and logs[1001].attempt == 1
    message = logs[1001].message or ""
    assert message.startswith("Creditor 1 (Acme AB): ")
    assert "Billecta refused the credentials (401 to GET /v1/debtors/debtorbyexternalid/" in message
    assert "Authorization has been denied" in message
