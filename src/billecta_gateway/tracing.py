"""OpenTelemetry tracing: optional (the `otel` extra), switched on by the standard variables.

When OTEL_TRACES_EXPORTER (other than `none`) or an OTLP endpoint is set, and OTEL_SDK_DISABLED
is not `true`, each process installs a tracer provider at start-up. From then on:

- FastAPI traces every request itself (a span named by method and route template);
- httpx calls (Billecta, later Lime) and asyncpg statements (the ORM's and the receiver's) get
  spans of their own; URLs lose their query strings (a Swish request carries a phone number);
- every job queued while a span is current carries that span's context inside its arq
  message (:func:`serialize_job`), and runs inside a span of its own whose parent is it, so a
  request, the jobs it queued and their Billecta calls form one trace;
- log lines carry `trace_id` and `span_id` (:func:`current_ids`).

Without the variables (or the extra) nothing is installed and jobs carry nothing.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

logger = logging.getLogger("billecta_gateway.tracing")

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
except ImportError:  # pragma: no cover - opentelemetry-api comes with FastAPI
    trace = None  # type: ignore[assignment]

_TRACE_KEY = "tc"
# The trace context and function name of the job being deserialized in this task.
_incoming: ContextVar[tuple[dict[str, str], str] | None] = ContextVar("job_trace", default=None)
_configured = False


def tracing_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the standard OTEL_* variables ask for traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def enabled() -> bool:
    """Whether this process installed a tracer provider."""
    return _configured


def configure_tracing(service: str, *, exporter: Any = None) -> bool:
    """Install tracing for this process once: from the environment, or with ``exporter``
    (spans exported as they end; tests pass an in-memory one). Returns whether it is on."""
    global _configured
    if _configured:
        return True
    if exporter is None and not tracing_requested():
        return False
    try:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        logger.warning("OTEL_* variables ask for traces, but the `otel` extra is not installed")
        return False
    name = os.environ.get("OTEL_SERVICE_NAME") or f"billecta-gateway-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_exporter_from_environment()))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(async_request_hook=_without_query)
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    _configured = True
    logger.info("tracing on (service %s)", name)
    return True


def _exporter_from_environment() -> Any:
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    # OTLP over HTTP/protobuf; its endpoint, headers and timeout come from OTEL_EXPORTER_OTLP_*.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


async def _without_query(span: Any, request: Any) -> None:
    url = request[1]
    if span.is_recording() and hasattr(url, "copy_with"):
        plain = str(url.copy_with(query=None))
        span.set_attribute("url.full", plain)
        span.set_attribute("http.url", plain)


def flush() -> None:
    """Export what is buffered (an app or a worker stopping; the provider itself shuts down
    when the process exits)."""
    if _configured:
        provider = trace.get_tracer_provider()
        if hasattr(provider, "force_flush"):
            provider.force_flush()


def current_ids() -> tuple[str | None, str | None]:
    """The current span's trace id and span id (hex), or None when no span is recording."""
    if not _configured:
        return None, None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def serialize_job(job: dict[str, Any]) -> bytes:
    """arq's message (pickle, as arq's default), with the current trace context when one is
    recording; workers without it ignore the extra key."""
    if _configured:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if carrier:
            job = {**job, _TRACE_KEY: carrier}
    return pickle.dumps(job)


def deserialize_job(data: bytes) -> dict[str, Any]:
    """arq's message; a trace context it carries is kept for :func:`job_started`."""
    job: dict[str, Any] = pickle.loads(data)  # noqa: S301 - our own queue's messages
    carrier = job.pop(_TRACE_KEY, None)
    _incoming.set((carrier if isinstance(carrier, dict) else {}, str(job.get("f"))))
    return job


_SPAN_KEY = "_trace_span"


def job_started(ctx: dict[str, Any]) -> None:
    """Open the job's span, a child of the context that queued it, and make it current."""
    if not _configured:
        return
    incoming = _incoming.get()
    carrier, function = incoming if incoming else ({}, "job")
    parent = propagate.extract(carrier)
    span = trace.get_tracer("billecta_gateway.jobs").start_span(
        f"job {function}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "arq",
            "messaging.message.id": str(ctx.get("job_id")),
            "arq.job_try": int(ctx.get("job_try") or 0),
        },
    )
    token = otel_context.attach(trace.set_span_in_context(span))
    ctx[_SPAN_KEY] = (span, token)


def job_finished(ctx: dict[str, Any]) -> None:
    """Close the job's span (arq calls this in the task that started it)."""
    opened = ctx.pop(_SPAN_KEY, None)
    if opened is None:
        return
    span, token = opened
    span.end()
    otel_context.detach(token)
