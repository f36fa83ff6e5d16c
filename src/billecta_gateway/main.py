"""The application factory: `create_app(settings)` builds everything in its lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from billecta_gateway import __version__, tracing
from billecta_gateway.auth import require_api_key
from billecta_gateway.billecta import BillectaClient, Priority
from billecta_gateway.binding.dependencies import require_billecta_binding
from billecta_gateway.binding.service import credentials_recorder
from billecta_gateway.config import Settings
from billecta_gateway.db import create_engine, create_sessionmaker
from billecta_gateway.errors import install_error_handlers
from billecta_gateway.health.router import router as health_router
from billecta_gateway.input_guard import refuse_unstorable_input
from billecta_gateway.lime.hooks import register_hooks
from billecta_gateway.lime.mappings import load_field_mappings
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.schemacheck import startup_check
from billecta_gateway.logs import configure_logging
from billecta_gateway.metrics import forget_dead_processes
from billecta_gateway.metrics.http import HttpMetricsMiddleware
from billecta_gateway.metrics.http import router as metrics_router
from billecta_gateway.middleware import PREFIX, RequestContextMiddleware
from billecta_gateway.openapi_docs import (
    ERROR_RESPONSES,
    OPENAPI_TAGS,
    install_openapi,
    operation_id,
)
from billecta_gateway.queue import close_queue, create_queue
from billecta_gateway.routers import LIME_ROUTERS, OPEN_ROUTERS
from billecta_gateway.webhooks.intake import Intake


def build_billecta_client(settings: Settings, *, priority: Priority) -> BillectaClient:
    """The one Billecta client of a process, configured from settings."""
    auth = settings.billecta_authentication
    return BillectaClient(
        base_url=settings.billecta_base_url or "",
        authentication=auth.get_secret_value() if auth else "",
        timeout_seconds=settings.billecta_timeout_seconds,
        max_concurrency=settings.billecta_max_concurrency,
        # The worker's client only makes bulk calls: reserving interactive slots there would
        # only idle them.
        interactive_reserved=(
            settings.billecta_interactive_reserved if priority is Priority.INTERACTIVE else 0
        ),
        rate_limit=settings.billecta_rate_limit,
        max_retries=settings.billecta_max_retries,
        # Only a user waits on the API's calls; a job's calls retry as long as they need.
        interactive_deadline=(
            settings.interactive_deadline if priority is Priority.INTERACTIVE else None
        ),
        default_priority=priority,
        routes=settings.billecta_routes,
    )


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> FastAPI:
    """Build the FastAPI application; nothing is connected until the lifespan starts."""
    settings = settings or Settings()
    if configure_logs:
        configure_logging(
            level=settings.log_level, fmt=settings.log_format, secrets=settings.secret_values()
        )
    lime_schema = LimeSchema.load(settings.lime_schema_file)
    # A mapping naming a field that does not exist stops start-up here.
    field_mappings = load_field_mappings(settings, lime_schema)
    register_hooks()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracing.configure_tracing("api")
        forget_dead_processes()
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.billecta = build_billecta_client(settings, priority=Priority.INTERACTIVE)
        # Read at call time: tests swap the sessionmaker after the lifespan started.
        app.state.billecta.credentials_observer = credentials_recorder(
            lambda: app.state.sessionmaker
        )
        app.state.billecta_bound = False
        app.state.binding_lock = asyncio.Lock()
        app.state.queue = create_queue(settings)
        app.state.intake = await Intake.open(engine, max_size=settings.database_pool_size)
        # A Lime schema mismatch refuses start-up; Lime unreachable re-checks in the background.
        schema_recheck = await startup_check(settings, engine, lime_schema)
        try:
            yield
        finally:
            if schema_recheck is not None:
                schema_recheck.cancel()
            await app.state.billecta.aclose()
            await close_queue(app.state.queue)
            await app.state.intake.close()
            await engine.dispose()
            tracing.flush()

    app = FastAPI(
        title="billecta-gateway",
        version=__version__,
        summary="The Lime CRM ⇄ Billecta integration as a standalone service",
        description=(
            "Endpoints called by the Lime frontend and server under "
            f"`{PREFIX}`, the webhook receiver for Billecta, and the object ingestion API. "
            "Lime-facing endpoints require the `x-api-key` header (Authorize in `/docs`). "
            "Every answer carries `x-request-id`; errors are JSON with `error_message`."
        ),
        openapi_tags=OPENAPI_TAGS,
        generate_unique_id_function=operation_id,
        swagger_ui_parameters={"persistAuthorization": True},
        lifespan=lifespan,
    )
    install_openapi(app, webhook_header=settings.webhook_header_name)
    app.state.settings = settings
    app.state.lime_schema = lime_schema
    app.state.field_mappings = field_mappings
    app.state.lime_api_keys = [k.get_secret_value() for k in settings.lime_api_keys]
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(metrics_router)
    for router in OPEN_ROUTERS:
        app.include_router(router, prefix=PREFIX)
    for router in LIME_ROUTERS:
        app.include_router(
            router,
            prefix=PREFIX,
            dependencies=[
                Depends(require_api_key),
                Depends(refuse_unstorable_input),
                Depends(require_billecta_binding),
            ],
            responses=ERROR_RESPONSES,
        )
    if settings.cors_allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allowed_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=[
                "x-api-key",
                "x-lime-user",
                "content-type",
                "idempotency-key",
                "x-request-id",
            ],
            expose_headers=["x-request-id"],
            allow_credentials=False,
        )
    app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app
