"""The API's guard: no Lime-facing request runs against a Billecta the database does not
belong to."""

from __future__ import annotations

import asyncio

from fastapi import Request

from billecta_gateway.binding.service import check_binding


async def require_billecta_binding(request: Request) -> None:
    """Check the binding once per process (the first use records it); 503 on another Billecta."""
    state = request.app.state
    if state.billecta_bound:
        return
    lock: asyncio.Lock = state.binding_lock
    async with lock:
        if state.billecta_bound:
            return
        async with state.sessionmaker() as session:
            await check_binding(session, base_url=state.billecta.base_url)
            await session.commit()
        state.billecta_bound = True
