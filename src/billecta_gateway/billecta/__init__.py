"""Billecta REST API v1: client, route table, wire models and errors (no database, no web)."""

from billecta_gateway.billecta.client import BillectaClient, PriorityScope
from billecta_gateway.billecta.errors import (
    BillectaApiBadRequestException,
    BillectaApiNotFoundException,
    BillectaApiRequestException,
    BillectaCredentialsRefused,
    BillectaError,
    CredentialsRefusal,
    InvalidBillectaApiConfig,
)
from billecta_gateway.billecta.limiter import Priority
from billecta_gateway.billecta.routes import ROUTES, Route, RouteTable, find_route

__all__ = [
    "ROUTES",
    "BillectaApiBadRequestException",
    "BillectaApiNotFoundException",
    "BillectaApiRequestException",
    "BillectaClient",
    "BillectaCredentialsRefused",
    "BillectaError",
    "CredentialsRefusal",
    "InvalidBillectaApiConfig",
    "Priority",
    "PriorityScope",
    "Route",
    "RouteTable",
    "find_route",
]
