"""One traced run, in a process of its own (a tracer provider is installed once per process):
disputing an invoice whose read-back fails queues the invoice refresh, a burst worker runs it.
Prints the finished spans as JSON lines on stdout; the logs (JSON) go to stderr."""

from __future__ import annotations

import asyncio
import json
import sys

import httpx
import respx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from billecta_gateway.logs import configure_logging
from billecta_gateway.main import create_app
from billecta_gateway.tracing import configure_tracing
from tests.conftest import (
    BILLECTA_URL,
    LIME_KEY,
    TEST_DATABASE_URL,
    make_settings,
    run_worker_burst,
)
from tests.invoices.factories import invoice_action, seed_invoice


async def main() -> None:
    settings = make_settings(log_format="json")
    configure_logging(level="INFO", fmt="json", secrets=settings.secret_values())
    exporter = InMemorySpanExporter()
    engine = create_async_engine(TEST_DATABASE_URL)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        await seed_invoice(session)
    await engine.dispose()
    with respx.mock(base_url=BILLECTA_URL, assert_all_called=True) as billecta:
        # Instrumented after respx is in place, so the mocked transport is inside the spans.
        configure_tracing("test", exporter=exporter)
        billecta.put("/v1/invoice/dispute/inv-act-1001").respond(200)
        billecta.get("/v1/invoice/action/inv-act-1001").mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json=invoice_action())]
        )
        app = create_app(settings, configure_logs=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gateway.test", headers={"x-api-key": LIME_KEY}
            ) as client:
                response = await client.put(
                    "/limepkg-billecta-integration/billecta/dispute-invoice",
                    json={"invoice_id": 1001},
                    headers={"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"},
                )
                assert response.status_code == 200, response.text
        worker = await run_worker_burst(settings)
        assert worker.jobs_complete == 1, worker.jobs_complete
    for span in exporter.get_finished_spans():
        context = span.get_span_context()
        print(
            json.dumps(
                {
                    "name": span.name,
                    "kind": span.kind.name,
                    "trace_id": f"{context.trace_id:032x}",
                    "span_id": f"{context.span_id:016x}",
                    "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
                    "attributes": {k: str(v) for k, v in (span.attributes or {}).items()},
                }
            )
        )
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
