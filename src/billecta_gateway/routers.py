"""Every Lime-facing router, mounted under the `/limepkg-billecta-integration` prefix."""

from __future__ import annotations

from fastapi import APIRouter

from billecta_gateway.articles.router import router as articles_router
from billecta_gateway.creditors.router import router as creditors_router
from billecta_gateway.debtcollections.router import router as debtcollections_router
from billecta_gateway.debtors.router import router as debtors_router
from billecta_gateway.documents.router import router as documents_router
from billecta_gateway.eventlog.router import router as eventlog_router
from billecta_gateway.invoices.credit_router import router as credit_router
from billecta_gateway.invoices.router import router as invoices_router
from billecta_gateway.invoices.state_router import router as invoice_states_router
from billecta_gateway.lime.router import router as lime_router
from billecta_gateway.limecrm.receiver import router as lime_receiver_router
from billecta_gateway.monitor.router import router as monitor_router
from billecta_gateway.orders.router import router as orders_router
from billecta_gateway.payments.router import router as payments_router
from billecta_gateway.reports.router import router as reports_router
from billecta_gateway.swish.router import router as swish_router
from billecta_gateway.webhooks.router import receiver_router
from billecta_gateway.webhooks.router import router as webhooks_router

# Behind the Lime API key.
LIME_ROUTERS: list[APIRouter] = [
    lime_router,
    monitor_router,
    articles_router,
    creditors_router,
    debtors_router,
    orders_router,
    credit_router,
    invoices_router,
    invoice_states_router,
    payments_router,
    debtcollections_router,
    swish_router,
    eventlog_router,
    documents_router,
    reports_router,
    webhooks_router,
]

# Authenticated by the webhook header itself (Billecta) or by its signature (Lime).
OPEN_ROUTERS: list[APIRouter] = [receiver_router, lime_receiver_router]
